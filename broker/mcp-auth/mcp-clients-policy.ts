/**
 * The policy's `mcp_clients` section (SPEC §8), read: which standard MCP clients may ask
 * a person for consent, which scopes they may ask for, which audiences their tokens may
 * be exchanged for at the `/mcp` tools, and how long a consent lasts. The section is
 * validated and its defaults filled in with the rest of the file (`config/policy.ts`);
 * these are the pure questions asked of it.
 * @module
 */
import type { McpClientsPolicy, Policy } from '../config/policy.js';

export type { McpClientsPolicy };

/** The `mcp_clients` section with its defaults (absent: accept all). */
export function mcpClientsPolicy(policy: Pick<Policy, 'mcpClients'>): McpClientsPolicy {
  return policy.mcpClients;
}

/** Whether a client identifying by the metadata document at `url` is accepted. */
export function acceptsMetadataDocument(p: McpClientsPolicy, url: string): boolean {
  if (p.accept === 'all') return true;
  if (p.accept === 'none') return false;
  return p.accept.includes(url);
}

/**
 * Whether a client may register itself (RFC 7591). `accept` governs metadata documents
 * only; registration is its own switch, on by default only when `accept` is `all`, so a
 * list of URLs is not opened again by registration unless the file says so.
 */
export function acceptsDynamicRegistration(p: McpClientsPolicy): boolean {
  return p.dynamicRegistration;
}
