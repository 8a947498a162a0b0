/**
 * The PostgreSQL twin of `schema.ts` (SPEC §9): the same tables, columns, names and
 * indexes (partial ones included), so both stores answer the same queries and an export
 * from one reads like an export from the other. drizzle-kit turns it into the SQL
 * migrations in `migrations-pg/` (`drizzle-pg.config.ts`); `openPgStore` applies them.
 *
 * drizzle has no table definition shared by both dialects, hence two files; a change to
 * `schema.ts` needs the same change here and a `drizzle-kit generate --config
 * drizzle-pg.config.ts`.
 *
 * Types: Unix seconds are `bigint` read as JavaScript numbers (they fit a double for
 * millions of years); JSON columns stay `text`, so the store writes the exact JSON the
 * SQLite store writes and the field caps (`limits.ts`) count the same characters.
 * @module
 */
import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

/** Unix seconds. */
const seconds = (name: string) => bigint(name, { mode: 'number' });

export const tokens = pgTable(
  'tokens',
  {
    jti: text('jti').primaryKey(),
    parentJti: text('parent_jti'),
    sub: text('sub').notNull(),
    act: text('act'),
    clientId: text('client_id').notNull(),
    grantType: text('grant_type').notNull(),
    scope: text('scope').notNull(),
    aud: text('aud').notNull(),
    iat: seconds('iat').notNull(),
    exp: seconds('exp').notNull(),
    revokedAt: seconds('revoked_at'),
    revokedVia: text('revoked_via'),
    rootJti: text('root_jti'),
    hop: integer('hop').notNull().default(0),
  },
  (t) => [
    index('tokens_parent_jti').on(t.parentJti),
    index('tokens_sub_iat').on(t.sub, t.iat),
    index('tokens_client_iat').on(t.clientId, t.iat),
    index('tokens_iat').on(t.iat),
    index('tokens_root_exp').on(t.rootJti, t.exp),
    index('tokens_roots_exp')
      .on(t.exp)
      .where(sql`${t.rootJti} = ${t.jti}`),
  ],
);

export const refusals = pgTable(
  'refusals',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: seconds('at').notNull(),
    clientId: text('client_id').notNull(),
    grantType: text('grant_type').notNull(),
    subjectJti: text('subject_jti'),
    error: text('error').notNull(),
    reason: text('reason'),
    errorDescription: text('error_description').notNull(),
    requested: text('requested').notNull(),
  },
  (t) => [index('refusals_subject_jti').on(t.subjectJti), index('refusals_at').on(t.at)],
);

export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  privateJwk: text('private_jwk').notNull(),
  publicJwk: text('public_jwk').notNull(),
  createdAt: seconds('created_at').notNull(),
  retiredAt: seconds('retired_at'),
});

export const clientAssertionJtis = pgTable(
  'client_assertion_jtis',
  {
    clientId: text('client_id').notNull(),
    jti: text('jti').notNull(),
    exp: seconds('exp').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.clientId, t.jti] }),
    index('client_assertion_jtis_exp').on(t.exp),
  ],
);

export const approvalRequests = pgTable(
  'approval_requests',
  {
    authReqId: text('auth_req_id').primaryKey(),
    clientId: text('client_id').notNull(),
    username: text('username').notNull(),
    scope: text('scope').notNull(),
    aud: text('aud').notNull(),
    bindingMessage: text('binding_message'),
    createdAt: seconds('created_at').notNull(),
    expiresAt: seconds('expires_at').notNull(),
    interval: integer('interval').notNull(),
    nextPollAt: seconds('next_poll_at').notNull(),
    /** `ApprovalStatus`: plain text, as in SQLite (no CHECK), so `cancelled` fits. */
    status: text('status').notNull(),
    approvedScope: text('approved_scope'),
    decidedAt: seconds('decided_at'),
    decidedBy: text('decided_by'),
    issuedJti: text('issued_jti'),
  },
  (t) => [
    index('approval_requests_status_created').on(t.status, t.createdAt),
    index('approval_requests_username').on(t.username),
    index('approval_requests_issued_jti').on(t.issuedJti),
    index('approval_requests_client_pending').on(t.clientId, t.status, t.expiresAt),
    index('approval_requests_client_user_pending').on(
      t.clientId,
      t.username,
      t.status,
      t.expiresAt,
    ),
    index('approval_requests_expires').on(t.expiresAt),
  ],
);

export const consoleSessions = pgTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    username: text('username').notNull(),
    role: text('role').notNull(),
    csrfSecret: text('csrf_secret').notNull(),
    createdAt: seconds('created_at').notNull(),
    expiresAt: seconds('expires_at').notNull(),
  },
  (t) => [index('console_sessions_expires').on(t.expiresAt)],
);

/** SPEC §8, MCP authorization: as `schema.ts` says; secrets only as their SHA-256. */
export const mcpRegisteredClients = pgTable(
  'mcp_registered_clients',
  {
    clientId: text('client_id').primaryKey(),
    clientName: text('client_name'),
    redirectUris: text('redirect_uris').notNull(),
    createdAt: seconds('created_at').notNull(),
    lastUsedAt: seconds('last_used_at').notNull(),
    /** `none` (public), `client_secret_basic`, `client_secret_post` or `private_key_jwt`. */
    authMethod: text('auth_method').notNull().default('none'),
    /** Hex SHA-256 of the client's secret; the secret itself is shown once and never kept. */
    secretSha256: text('secret_sha256'),
    /** Public JWK Set (JSON) for `private_key_jwt`. */
    jwks: text('jwks'),
  },
  (t) => [index('mcp_registered_clients_last_used').on(t.lastUsedAt)],
);

export const mcpAuthCodes = pgTable(
  'mcp_auth_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    clientId: text('client_id').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    codeChallenge: text('code_challenge').notNull(),
    resource: text('resource').notNull(),
    scope: text('scope').notNull(),
    username: text('username').notNull(),
    createdAt: seconds('created_at').notNull(),
    expiresAt: seconds('expires_at').notNull(),
    usedAt: seconds('used_at'),
    replayedAt: seconds('replayed_at'),
    familyId: text('family_id'),
  },
  (t) => [
    index('mcp_auth_codes_expires').on(t.expiresAt),
    index('mcp_auth_codes_client').on(t.clientId, t.expiresAt),
  ],
);

export const mcpRefreshFamilies = pgTable(
  'mcp_refresh_families',
  {
    familyId: text('family_id').primaryKey(),
    clientId: text('client_id').notNull(),
    username: text('username').notNull(),
    resource: text('resource').notNull(),
    scope: text('scope').notNull(),
    createdAt: seconds('created_at').notNull(),
    consentExpiresAt: seconds('consent_expires_at').notNull(),
    revokedAt: seconds('revoked_at'),
  },
  (t) => [
    index('mcp_refresh_families_consent').on(t.consentExpiresAt),
    index('mcp_refresh_families_client').on(t.clientId, t.consentExpiresAt),
  ],
);

export const mcpRefreshTokens = pgTable(
  'mcp_refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    familyId: text('family_id').notNull(),
    createdAt: seconds('created_at').notNull(),
    spentAt: seconds('spent_at'),
  },
  (t) => [index('mcp_refresh_tokens_family').on(t.familyId)],
);

export const mcpFamilyTokens = pgTable(
  'mcp_family_tokens',
  {
    jti: text('jti').primaryKey(),
    familyId: text('family_id').notNull(),
  },
  (t) => [index('mcp_family_tokens_family').on(t.familyId)],
);
