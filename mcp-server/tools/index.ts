/**
 * The six MCP tools of SPEC §7, one module each, registered in one place.
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolDeps } from '../tool-deps.js';
import { registerAuditChainTool } from './audit-chain.js';
import { registerDelegateToAgentTool } from './delegate-to-agent.js';
import { registerGetTaskTokenTool } from './get-task-token.js';
import { registerInspectTokenTool } from './inspect-token.js';
import { registerRequestApprovalTool } from './request-approval.js';
import { registerRevokeTokenTool } from './revoke-token.js';

export function registerTools(server: McpServer, deps: ToolDeps): void {
  registerRequestApprovalTool(server, deps);
  registerGetTaskTokenTool(server, deps);
  registerDelegateToAgentTool(server, deps);
  registerInspectTokenTool(server, deps);
  registerRevokeTokenTool(server, deps);
  registerAuditChainTool(server, deps);
}
