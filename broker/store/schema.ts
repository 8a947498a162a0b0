/**
 * The one storage schema (SPEC §5). drizzle-kit turns it into the SQL migrations in
 * `migrations/`; `migrate()` applies them at start.
 *
 * - `tokens`: the ledger of every token Baton issued, with its parent link, so a
 *   revocation can walk the descendants through `tokens_parent_jti` (no scan). Each row
 *   also keeps its chain's root (`root_jti`) and how many exchanges separate it from that
 *   root (`hop`), both copied from the parent in the same read that checks the parent is
 *   not revoked: the audit finds a chain's root and length without walking it, the
 *   exchange bounds a chain's length (`policy/chain-length.ts`), and retention prunes
 *   whole chains by root through an index.
 * - `refusals`: every refused exchange, with the reason and, when the subject token's
 *   signature checked out, the jti it was refused against (for the audit tree).
 * - `signing_keys`: Baton's own keys; a restart reuses them, retired keys stay
 *   published in the JWKS while tokens they signed can live.
 * - `client_assertion_jtis`: RFC 7523 §3 — a private_key_jwt assertion's `jti` is
 *   accepted once; rows are dropped after the assertion expires.
 * - `approval_requests`: OpenID CIBA (poll mode) requests, pending until a person
 *   decides; in the database so a restart loses none. `issued_jti` links an approval to
 *   the root token of the chain it started.
 * @module
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const tokens = sqliteTable(
  'tokens',
  {
    jti: text('jti').primaryKey(),
    parentJti: text('parent_jti'),
    sub: text('sub').notNull(),
    /** The full RFC 8693 `act` claim as JSON, or null when nobody acts for `sub`. */
    act: text('act'),
    clientId: text('client_id').notNull(),
    grantType: text('grant_type').notNull(),
    scope: text('scope').notNull(),
    /** JSON array of the audience values. */
    aud: text('aud').notNull(),
    iat: integer('iat').notNull(),
    exp: integer('exp').notNull(),
    /** Unix seconds of the revocation (own or cascaded), null while the token stands. */
    revokedAt: integer('revoked_at'),
    /** The jti whose revocation reached this token (itself when revoked directly). */
    revokedVia: text('revoked_via'),
    /**
     * The first token of this chain (the row itself for a root). Null only for rows from
     * before migration 0004, which fills it in; the store always sets it.
     */
    rootJti: text('root_jti'),
    /** Exchanges between the root and this token: 0 for a root, the parent's hop + 1 otherwise. */
    hop: integer('hop').notNull().default(0),
  },
  (t) => [
    index('tokens_parent_jti').on(t.parentJti),
    index('tokens_sub_iat').on(t.sub, t.iat),
    index('tokens_client_iat').on(t.clientId, t.iat),
    index('tokens_iat').on(t.iat),
    // Retention: a chain's tokens by root, and whether any outlives a cutoff, by seek.
    index('tokens_root_exp').on(t.rootJti, t.exp),
    // Retention: the roots whose chains may have expired, oldest first (roots only).
    index('tokens_roots_exp')
      .on(t.exp)
      .where(sql`${t.rootJti} = ${t.jti}`),
  ],
);

export const refusals = sqliteTable(
  'refusals',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    clientId: text('client_id').notNull(),
    grantType: text('grant_type').notNull(),
    /** jti of the (signature-checked) subject token, when there was one. */
    subjectJti: text('subject_jti'),
    error: text('error').notNull(),
    /** The typed reason (a `RefusalReason`, or the OAuth error code when no rule named one). */
    reason: text('reason'),
    errorDescription: text('error_description').notNull(),
    /** JSON of what was asked: scope, audience, resource, token types. */
    requested: text('requested').notNull(),
  },
  (t) => [index('refusals_subject_jti').on(t.subjectJti), index('refusals_at').on(t.at)],
);

export const signingKeys = sqliteTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  privateJwk: text('private_jwk').notNull(),
  publicJwk: text('public_jwk').notNull(),
  createdAt: integer('created_at').notNull(),
  /** Unix seconds after which this key signs nothing new; null for the active key. */
  retiredAt: integer('retired_at'),
});

export const clientAssertionJtis = sqliteTable(
  'client_assertion_jtis',
  {
    clientId: text('client_id').notNull(),
    jti: text('jti').notNull(),
    exp: integer('exp').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.clientId, t.jti] }),
    index('client_assertion_jtis_exp').on(t.exp),
  ],
);

/** CIBA request states: pending → approved | denied; approved → issued (exactly once). */
export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'issued'] as const;

export const approvalRequests = sqliteTable(
  'approval_requests',
  {
    /** CIBA §7.3: 32 random bytes, base64url. */
    authReqId: text('auth_req_id').primaryKey(),
    clientId: text('client_id').notNull(),
    /** The `login_hint` as sent; it may name nobody (such a request is never approved). */
    username: text('username').notNull(),
    /** The requested scope, space-separated. */
    scope: text('scope').notNull(),
    /** JSON array of the requested audience values. */
    aud: text('aud').notNull(),
    bindingMessage: text('binding_message'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    /** Seconds the client must wait between polls; raised by `slow_down` (CIBA §11). */
    interval: integer('interval').notNull(),
    /** Unix seconds before which a poll is too early (`slow_down`). */
    nextPollAt: integer('next_poll_at').notNull(),
    status: text('status', { enum: APPROVAL_STATUSES }).notNull(),
    /** What the person approved: the requested scope or a subset of it. */
    approvedScope: text('approved_scope'),
    decidedAt: integer('decided_at'),
    decidedBy: text('decided_by'),
    /** The jti of the token issued on approval. */
    issuedJti: text('issued_jti'),
  },
  (t) => [
    index('approval_requests_status_created').on(t.status, t.createdAt),
    index('approval_requests_username').on(t.username),
    index('approval_requests_issued_jti').on(t.issuedJti),
    // The caps on pending requests (per client, per client and person) count by seek.
    index('approval_requests_client_pending').on(t.clientId, t.status, t.expiresAt),
    index('approval_requests_client_user_pending').on(
      t.clientId,
      t.username,
      t.status,
      t.expiresAt,
    ),
    // Retention: requests that expired before a cutoff.
    index('approval_requests_expires').on(t.expiresAt),
  ],
);

/**
 * Console sessions (SPEC §3a): in the database, so a sign-out or a restart is honoured
 * and several brokers share them. The cookie holds a random id; only its SHA-256 is kept
 * here, so a copy of the database signs nobody in. `csrf_secret` keys the CSRF token of
 * every form of the session. `role` is `user` (a person of the policy) or `operator`
 * (signed in with `BATON_ADMIN_TOKEN`, for the audit pages).
 */
export const consoleSessions = sqliteTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    username: text('username').notNull(),
    role: text('role', { enum: ['user', 'operator'] }).notNull(),
    csrfSecret: text('csrf_secret').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('console_sessions_expires').on(t.expiresAt)],
);

/**
 * SPEC §8, MCP authorization (`mcp-auth/`). Secrets (codes, refresh tokens) are kept only
 * as their base64url SHA-256, so a copy of the database redeems nothing.
 *
 * - `mcp_registered_clients`: RFC 7591 dynamic registrations (public clients only).
 *   `last_used_at` moves at each authorization; a registration unused for 90 days is
 *   no longer live (it stops counting toward the cap and is refused as unknown).
 * - `mcp_auth_codes`: one-time authorization codes (60 s), bound to the client, the
 *   redirect, the PKCE challenge, the resource, the approved scope and the person.
 *   `family_id` names what a redemption issued, so a replayed code revokes it.
 * - `mcp_refresh_families`: one per consent: who, which client, which resource and the
 *   scope consented to; `consent_expires_at` caps every refresh token of the family.
 * - `mcp_refresh_tokens`: each refresh token of a family; rotated on use (`spent_at`).
 * - `mcp_family_tokens`: every access token a family issued, so reuse of a spent refresh
 *   token revokes them all, and a revoked one ends the family.
 */
export const mcpRegisteredClients = sqliteTable(
  'mcp_registered_clients',
  {
    clientId: text('client_id').primaryKey(),
    clientName: text('client_name'),
    /** JSON array of the registered redirect URIs. */
    redirectUris: text('redirect_uris').notNull(),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at').notNull(),
    /** `none` (public), `client_secret_basic`, `client_secret_post` or `private_key_jwt`. */
    authMethod: text('auth_method').notNull().default('none'),
    /** Hex SHA-256 of the client's secret; the secret itself is shown once and never kept. */
    secretSha256: text('secret_sha256'),
    /** Public JWK Set (JSON) for `private_key_jwt`. */
    jwks: text('jwks'),
  },
  (t) => [index('mcp_registered_clients_last_used').on(t.lastUsedAt)],
);

export const mcpAuthCodes = sqliteTable(
  'mcp_auth_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    clientId: text('client_id').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    codeChallenge: text('code_challenge').notNull(),
    resource: text('resource').notNull(),
    scope: text('scope').notNull(),
    username: text('username').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    /** Set when a second redemption was tried: the family it issued is revoked. */
    replayedAt: integer('replayed_at'),
    familyId: text('family_id'),
  },
  (t) => [
    index('mcp_auth_codes_expires').on(t.expiresAt),
    // Whether a metadata-document client has a consent under way (`mcpClientHasConsent`).
    index('mcp_auth_codes_client').on(t.clientId, t.expiresAt),
  ],
);

export const mcpRefreshFamilies = sqliteTable(
  'mcp_refresh_families',
  {
    familyId: text('family_id').primaryKey(),
    clientId: text('client_id').notNull(),
    username: text('username').notNull(),
    resource: text('resource').notNull(),
    scope: text('scope').notNull(),
    createdAt: integer('created_at').notNull(),
    consentExpiresAt: integer('consent_expires_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [
    index('mcp_refresh_families_consent').on(t.consentExpiresAt),
    index('mcp_refresh_families_client').on(t.clientId, t.consentExpiresAt),
  ],
);

export const mcpRefreshTokens = sqliteTable(
  'mcp_refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    familyId: text('family_id').notNull(),
    createdAt: integer('created_at').notNull(),
    spentAt: integer('spent_at'),
  },
  (t) => [index('mcp_refresh_tokens_family').on(t.familyId)],
);

export const mcpFamilyTokens = sqliteTable(
  'mcp_family_tokens',
  {
    jti: text('jti').primaryKey(),
    familyId: text('family_id').notNull(),
  },
  (t) => [index('mcp_family_tokens_family').on(t.familyId)],
);
