/**
 * The storage half of MCP authorization (SPEC §8), apart from the ledger: `Store`
 * extends it. Codes and refresh tokens arrive here already hashed (base64url SHA-256).
 * Every change that must not happen twice is one conditional statement or one
 * transaction, so two racing redemptions or refreshes can never both win.
 * @module
 */

/** How a registered client authenticates at the token endpoint (RFC 7591 §2). */
export type McpClientAuthMethod =
  'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface McpRegisteredClient {
  clientId: string;
  clientName: string | null;
  redirectUris: string[];
  createdAt: number;
  lastUsedAt: number;
  /** `none` for a public client (SPEC §8: public unless it registers keys). */
  authMethod: McpClientAuthMethod;
  /** Hex SHA-256 of the secret given once at registration (`client_secret_*` only). */
  secretSha256: string | null;
  /** The public JWK Set registered for `private_key_jwt`, as JSON text. */
  jwks: string | null;
}

export interface McpAuthCode {
  codeHash: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  resource: string;
  scope: string;
  username: string;
  createdAt: number;
  expiresAt: number;
}

export interface McpRefreshFamily {
  /** The jti of the family's first access token: the chain root refreshed tokens hang under. */
  familyId: string;
  clientId: string;
  username: string;
  resource: string;
  scope: string;
  createdAt: number;
  consentExpiresAt: number;
}

/** What redeeming a code found. */
export type CodeClaim =
  { kind: 'claimed'; code: McpAuthCode } | { kind: 'replayed' } | { kind: 'unknown' };

/** What presenting a refresh token found. */
export type RefreshRotation =
  | { kind: 'rotated'; family: McpRefreshFamily }
  /** A spent token came back: the family and every token it issued are now revoked. */
  | { kind: 'replayed' }
  /** The family was revoked, one of its tokens was, or the consent ran out. */
  | { kind: 'ended' }
  | { kind: 'unknown' };

export interface McpAuthStore {
  /**
   * Registers a client unless `cap` live registrations (used since `liveSince`) exist;
   * the count and the insert are one statement. Resolves whether it was registered.
   */
  registerMcpClient(client: McpRegisteredClient, cap: number, liveSince: number): Promise<boolean>;
  /** A live registration (used since `liveSince`), or undefined. */
  getMcpClient(clientId: string, liveSince: number): Promise<McpRegisteredClient | undefined>;
  /** Marks a registration used (at each consent), so it stays live. */
  touchMcpClient(clientId: string, at: number): Promise<void>;

  /**
   * Whether `clientId` holds a consent at `now`: an unexpired code, or a refresh family
   * neither revoked nor past its consent. A metadata-document client (never registered)
   * is known at the token endpoint only through this.
   */
  mcpClientHasConsent(clientId: string, now: number): Promise<boolean>;
  /** Stores a new one-time code; also drops codes that expired before `code.createdAt`. */
  createAuthCode(code: McpAuthCode): Promise<void>;
  /**
   * Marks the code used, once. A second redemption is `replayed`: the family the first
   * one started (if any) is revoked with every access token it issued, at `now`.
   */
  claimAuthCode(codeHash: string, now: number): Promise<CodeClaim>;
  /**
   * Starts the refresh family of a redeemed code with its first refresh token and access
   * token jti, unless the code was replayed meanwhile (then resolves false).
   */
  startRefreshFamily(
    codeHash: string,
    family: McpRefreshFamily,
    refreshHash: string,
    jti: string,
  ): Promise<boolean>;
  /**
   * In one transaction: checks the token's family stands (not revoked, none of its
   * access tokens revoked, consent not over at `now`, the same client), spends the token,
   * and files `newRefreshHash` and the new access token's `jti` under the family.
   * A spent token revokes the family and its access tokens (`replayed`).
   */
  rotateRefreshToken(
    refreshHash: string,
    clientId: string,
    newRefreshHash: string,
    jti: string,
    now: number,
  ): Promise<RefreshRotation>;
  /** Revokes the family of this refresh token (if it is `clientId`'s) and its access tokens. */
  revokeRefreshFamily(refreshHash: string, clientId: string, now: number): Promise<boolean>;

  /**
   * Retention, one bounded step (`ledger/retention.ts`): consents that ended before
   * `cutoff` (revoked, or past their consent lifetime) with their refresh tokens and
   * issued-token links, codes that expired before `cutoff`, and registrations last used
   * before `idleBefore`; at most `batch.limit` of each. Resolves the rows deleted.
   */
  pruneMcpAuth(cutoff: number, idleBefore: number, batch: { limit: number }): Promise<number>;
}
