/**
 * Ledger and MCP authorization rows as raw SQL returns them (snake_case columns, JSON as text), and what the
 * stores make of them: one mapping for SQLite and PostgreSQL, so both read the ledger the
 * same way.
 * @module
 */
import type {
  McpAuthCode,
  McpClientAuthMethod,
  McpRefreshFamily,
  McpRegisteredClient,
} from './mcp-auth-store.js';
import type { LedgerRefusal, LedgerToken } from './store.js';

/** A `tokens` row as raw SQL returns it (snake_case columns). */
export interface RawTokenRow {
  jti: string;
  parent_jti: string | null;
  sub: string;
  act: string | null;
  client_id: string;
  grant_type: string;
  scope: string;
  aud: string;
  iat: number;
  exp: number;
  revoked_at: number | null;
  revoked_via: string | null;
  root_jti: string | null;
  hop: number;
}

export function tokenFromRow(r: RawTokenRow): LedgerToken {
  return {
    jti: r.jti,
    parentJti: r.parent_jti,
    sub: r.sub,
    act: r.act === null ? null : (JSON.parse(r.act) as LedgerToken['act']),
    clientId: r.client_id,
    grantType: r.grant_type,
    scope: r.scope,
    aud: JSON.parse(r.aud) as string[],
    iat: r.iat,
    exp: r.exp,
    revokedAt: r.revoked_at,
    revokedVia: r.revoked_via,
    rootJti: r.root_jti ?? r.jti,
    hop: r.hop,
  };
}

export interface RawRefusalRow {
  id: number;
  at: number;
  client_id: string;
  grant_type: string;
  subject_jti: string | null;
  error: string;
  reason: string | null;
  error_description: string;
  requested: string;
}

export function refusalFromRow(r: RawRefusalRow): LedgerRefusal {
  return {
    id: r.id,
    at: r.at,
    clientId: r.client_id,
    grantType: r.grant_type,
    subjectJti: r.subject_jti,
    error: r.error,
    reason: r.reason,
    errorDescription: r.error_description,
    requested: JSON.parse(r.requested) as Record<string, unknown>,
  };
}

/** An `mcp_auth_codes` row as raw SQL returns it. */
export interface RawAuthCodeRow {
  code_hash: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  resource: string;
  scope: string;
  username: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  family_id: string | null;
}

export function authCodeFromRow(r: RawAuthCodeRow): McpAuthCode {
  return {
    codeHash: r.code_hash,
    clientId: r.client_id,
    redirectUri: r.redirect_uri,
    codeChallenge: r.code_challenge,
    resource: r.resource,
    scope: r.scope,
    username: r.username,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}

/** An `mcp_refresh_families` row as raw SQL returns it. */
export interface RawRefreshFamilyRow {
  family_id: string;
  client_id: string;
  username: string;
  resource: string;
  scope: string;
  created_at: number;
  consent_expires_at: number;
  revoked_at: number | null;
}

export function refreshFamilyFromRow(r: RawRefreshFamilyRow): McpRefreshFamily {
  return {
    familyId: r.family_id,
    clientId: r.client_id,
    username: r.username,
    resource: r.resource,
    scope: r.scope,
    createdAt: r.created_at,
    consentExpiresAt: r.consent_expires_at,
  };
}

/** An `mcp_registered_clients` row as raw SQL returns it. */
export interface RawRegisteredClientRow {
  client_id: string;
  client_name: string | null;
  redirect_uris: string;
  created_at: number;
  last_used_at: number;
  auth_method: string;
  secret_sha256: string | null;
  jwks: string | null;
}

export function registeredClientFromRow(r: RawRegisteredClientRow): McpRegisteredClient {
  return {
    clientId: r.client_id,
    clientName: r.client_name,
    redirectUris: JSON.parse(r.redirect_uris) as string[],
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    authMethod: r.auth_method as McpClientAuthMethod,
    secretSha256: r.secret_sha256,
    jwks: r.jwks,
  };
}
