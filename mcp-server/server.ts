/**
 * `buildServer(deps)`: Baton's MCP server with the six tools of SPEC §7, the same for
 * stdio (`stdio.ts`) and Streamable HTTP (`http.ts`); only the broker client and the
 * agent's own token differ.
 * @module
 */
import { readFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolDeps } from './tool-deps.js';
import { registerTools } from './tools/index.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.1.0';
  } catch {
    return '0.1.0';
  }
}

export const SERVER_VERSION = packageVersion();

const INSTRUCTIONS =
  'Baton trades tokens so you act for a person with only what a task needs (OAuth 2.0 Token Exchange). ' +
  'Before calling an API, get_task_token for that API with the fewest scopes; to pass work to another agent, delegate_to_agent. ' +
  'A refusal tells you what you may ask for instead. Never send a token to anyone but its audience.';

export function buildServer(deps: ToolDeps): McpServer {
  const server = new McpServer(
    { name: 'baton', version: SERVER_VERSION },
    { instructions: INSTRUCTIONS },
  );
  registerTools(server, deps);
  return server;
}
