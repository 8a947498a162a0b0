/**
 * SPEC §8: the policy's `mcp_clients` section. Absent, every MCP client is accepted with
 * the scopes and audiences of the policy's own clients; present, it is strict, and a
 * mistake stops start-up with a line naming the field.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../broker/config/format-issues.js';
import { parsePolicy } from '../../broker/config/policy.js';
import {
  acceptsDynamicRegistration,
  acceptsMetadataDocument,
  mcpClientsPolicy,
} from '../../broker/mcp-auth/mcp-clients-policy.js';

const ISSUER = 'http://127.0.0.1:8787';
const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SHA = createHash('sha256').update('planner-secret-0123456789abcdef0123456789').digest('hex');
const CIMD = 'https://client.example/mcp/client.json';

function file(mcpClients?: unknown, development?: unknown) {
  return {
    ...(development === undefined ? {} : { development }),
    clients: [
      {
        client_id: 'planner',
        client_secret_sha256: SHA,
        grant_types: [TE],
        scopes: ['trips:read', 'trips:book'],
        audiences: ['https://api.example', `${ISSUER}/mcp`],
      },
      {
        client_id: 'booker',
        client_secret_sha256: SHA,
        grant_types: [TE],
        scopes: ['flights:book', 'trips:read'],
        audiences: ['https://api.example', 'agent:planner'],
      },
    ],
    ...(mcpClients === undefined ? {} : { mcp_clients: mcpClients }),
  };
}

function problem(input: unknown): string {
  try {
    parsePolicy(input, ISSUER);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return 'accepted';
}

describe('mcp_clients policy', () => {
  it('absent: accepts every client, registration on, the policy clients’ scopes and audiences, 30 days', () => {
    const p = mcpClientsPolicy(parsePolicy(file(), ISSUER));
    expect(p).toEqual({
      accept: 'all',
      dynamicRegistration: true,
      scopes: ['flights:book', 'trips:book', 'trips:read'],
      audiences: ['agent:planner', `${ISSUER}/mcp`, 'https://api.example'],
      consentTtlSeconds: 2_592_000,
    });
    expect(acceptsMetadataDocument(p, CIMD)).toBe(true);
    expect(acceptsDynamicRegistration(p)).toBe(true);
  });

  it('a list accepts exactly its URLs, and closes registration unless the file opens it', () => {
    const listed = mcpClientsPolicy(parsePolicy(file({ accept: [CIMD] }), ISSUER));
    expect(acceptsMetadataDocument(listed, CIMD)).toBe(true);
    expect(acceptsMetadataDocument(listed, `${CIMD}?x=1`)).toBe(false);
    expect(acceptsMetadataDocument(listed, 'https://other.example/client.json')).toBe(false);
    expect(acceptsDynamicRegistration(listed)).toBe(false);
    const opened = mcpClientsPolicy(
      parsePolicy(file({ accept: [CIMD], dynamic_registration: true }), ISSUER),
    );
    expect(acceptsDynamicRegistration(opened)).toBe(true);
  });

  it('none accepts no metadata document; all with registration off keeps documents only', () => {
    const none = mcpClientsPolicy(parsePolicy(file({ accept: 'none' }), ISSUER));
    expect(acceptsMetadataDocument(none, CIMD)).toBe(false);
    expect(acceptsDynamicRegistration(none)).toBe(false);
    const docsOnly = mcpClientsPolicy(
      parsePolicy(file({ accept: 'all', dynamic_registration: false }), ISSUER),
    );
    expect(acceptsMetadataDocument(docsOnly, CIMD)).toBe(true);
    expect(acceptsDynamicRegistration(docsOnly)).toBe(false);
  });

  it('explicit scopes, audiences and consent lifetime replace the defaults', () => {
    const p = mcpClientsPolicy(
      parsePolicy(
        file({
          $comment: 'MCP clients read trips only',
          scopes: ['trips:read'],
          audiences: ['https://api.example'],
          consent_ttl_seconds: 86_400,
        }),
        ISSUER,
      ),
    );
    expect(p.scopes).toEqual(['trips:read']);
    expect(p.audiences).toEqual(['https://api.example']);
    expect(p.consentTtlSeconds).toBe(86_400);
  });

  it('refuses mistakes at start-up, naming the field', () => {
    expect(problem(file({ accept: 'some' }))).toContain(
      'mcp_clients.accept: must be "all", "none" or a list of client metadata document URLs',
    );
    expect(problem(file({ accept: ['http://client.example/c.json'] }))).toContain(
      'mcp_clients.accept.0: must be an https URL',
    );
    expect(problem(file({ accept: ['https://client.example'] }))).toContain(
      'mcp_clients.accept.0: must have a path',
    );
    expect(problem(file({ accept: ['https://client.example/c.json#x'] }))).toContain(
      'mcp_clients.accept.0: must not have a fragment',
    );
    expect(problem(file({ accept: ['https://u:p@client.example/c.json'] }))).toContain(
      'mcp_clients.accept.0: must not contain a user name or password',
    );
    expect(problem(file({ accept: ['https://client.example/a/../c.json'] }))).toContain(
      'mcp_clients.accept.0: must not contain . or .. path segments',
    );
    expect(problem(file({ audiences: ['agent:nobody'] }))).toContain(
      'mcp_clients.audiences.0: "agent:nobody" names no client in this file',
    );
    expect(problem(file({ scopes: ['has space'] }))).toContain(
      'mcp_clients.scopes.0: is not a valid scope token',
    );
    expect(problem(file({ consent_ttl_seconds: 40_000_000 }))).toContain(
      'mcp_clients.consent_ttl_seconds:',
    );
    expect(problem(file({ dynamic_registration: 'yes' }))).toContain(
      'mcp_clients.dynamic_registration:',
    );
    expect(problem(file({ acept: 'all' }))).toContain('mcp_clients');
  });

  it('development.allow_insecure_key_urls also allows an http CIMD URL in the list', () => {
    const input = file(
      { accept: ['http://127.0.0.1:3000/client.json'] },
      {
        allow_insecure_key_urls: true,
      },
    );
    expect(problem(input)).toBe('accepted');
    expect(mcpClientsPolicy(parsePolicy(input, ISSUER)).accept).toEqual([
      'http://127.0.0.1:3000/client.json',
    ]);
  });
});
