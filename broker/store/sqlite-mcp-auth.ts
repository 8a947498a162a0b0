/**
 * The MCP authorization half of the SQLite store (`McpAuthStore`, SPEC §8). Plain SQL on
 * the one connection: each rule that must hold under races (one redemption per code, one
 * rotation per refresh token, the cap on registrations) is one conditional statement or
 * one transaction, and better-sqlite3 runs a transaction without yielding.
 *
 * A family's access tokens are revoked through the ledger's own cascade (every token
 * exchanged from them goes too), in the same transaction that marks the family revoked.
 * @module
 */
import type Database from 'better-sqlite3';
import type {
  CodeClaim,
  McpAuthCode,
  McpAuthStore,
  McpRefreshFamily,
  McpRegisteredClient,
  RefreshRotation,
} from './mcp-auth-store.js';
import {
  authCodeFromRow,
  refreshFamilyFromRow,
  registeredClientFromRow,
  type RawAuthCodeRow,
  type RawRegisteredClientRow,
  type RawRefreshFamilyRow,
} from './rows.js';

export class SqliteMcpAuth implements McpAuthStore {
  readonly #revokeFamily: (familyId: string, at: number) => void;
  readonly #claimCode: (codeHash: string, now: number) => CodeClaim;
  readonly #startFamily: (
    codeHash: string,
    family: McpRefreshFamily,
    refreshHash: string,
    jti: string,
  ) => boolean;
  readonly #prune: (cutoff: number, idleBefore: number, limit: number) => number;
  readonly #rotate: (
    refreshHash: string,
    clientId: string,
    newRefreshHash: string,
    jti: string,
    now: number,
  ) => RefreshRotation;

  constructor(readonly sqlite: Database.Database) {
    const markFamily = sqlite.prepare(
      'UPDATE mcp_refresh_families SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL',
    );
    const cascade = sqlite.prepare(
      `WITH RECURSIVE d(jti, via) AS (
         SELECT jti, jti FROM mcp_family_tokens WHERE family_id = ?
         UNION SELECT t.jti, d.via FROM tokens t JOIN d ON t.parent_jti = d.jti
       )
       UPDATE tokens SET revoked_at = ?, revoked_via = (SELECT via FROM d WHERE d.jti = tokens.jti)
       WHERE jti IN (SELECT jti FROM d) AND revoked_at IS NULL`,
    );
    // Inside a caller's transaction, or as its own (better-sqlite3 nests as savepoints).
    this.#revokeFamily = sqlite.transaction((familyId: string, at: number) => {
      markFamily.run(at, familyId);
      cascade.run(familyId, at);
    });

    const getCode = sqlite.prepare('SELECT * FROM mcp_auth_codes WHERE code_hash = ?');
    const useCode = sqlite.prepare(
      'UPDATE mcp_auth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL',
    );
    const replayCode = sqlite.prepare(
      'UPDATE mcp_auth_codes SET replayed_at = ? WHERE code_hash = ?',
    );
    this.#claimCode = sqlite.transaction((codeHash: string, now: number): CodeClaim => {
      const row = getCode.get(codeHash) as RawAuthCodeRow | undefined;
      if (row === undefined) return { kind: 'unknown' };
      if (useCode.run(now, codeHash).changes === 1) {
        return {
          kind: 'claimed',
          code: authCodeFromRow(row),
        };
      }
      // RFC 6749 §4.1.2: a code used twice revokes what it issued.
      replayCode.run(now, codeHash);
      if (row.family_id !== null) this.#revokeFamily(row.family_id, now);
      return { kind: 'replayed' };
    });

    const bindCode = sqlite.prepare(
      'UPDATE mcp_auth_codes SET family_id = ? WHERE code_hash = ? AND replayed_at IS NULL',
    );
    const insertFamily = sqlite.prepare(
      `INSERT INTO mcp_refresh_families
         (family_id, client_id, username, resource, scope, created_at, consent_expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertRefresh = sqlite.prepare(
      'INSERT INTO mcp_refresh_tokens (token_hash, family_id, created_at) VALUES (?, ?, ?)',
    );
    const insertJti = sqlite.prepare(
      'INSERT INTO mcp_family_tokens (jti, family_id) VALUES (?, ?)',
    );
    this.#startFamily = sqlite.transaction(
      (codeHash: string, f: McpRefreshFamily, refreshHash: string, jti: string): boolean => {
        if (bindCode.run(f.familyId, codeHash).changes !== 1) return false;
        insertFamily.run(
          f.familyId,
          f.clientId,
          f.username,
          f.resource,
          f.scope,
          f.createdAt,
          f.consentExpiresAt,
        );
        insertRefresh.run(refreshHash, f.familyId, f.createdAt);
        insertJti.run(jti, f.familyId);
        return true;
      },
    );

    const getRefresh = sqlite.prepare(
      `SELECT r.spent_at, f.* FROM mcp_refresh_tokens r
       JOIN mcp_refresh_families f ON f.family_id = r.family_id WHERE r.token_hash = ?`,
    );
    const anyRevoked = sqlite.prepare(
      `SELECT 1 FROM mcp_family_tokens m JOIN tokens t ON t.jti = m.jti
       WHERE m.family_id = ? AND t.revoked_at IS NOT NULL LIMIT 1`,
    );
    const spend = sqlite.prepare(
      'UPDATE mcp_refresh_tokens SET spent_at = ? WHERE token_hash = ? AND spent_at IS NULL',
    );
    this.#rotate = sqlite.transaction(
      (
        refreshHash: string,
        clientId: string,
        newRefreshHash: string,
        jti: string,
        now: number,
      ): RefreshRotation => {
        const row = getRefresh.get(refreshHash) as
          (RawRefreshFamilyRow & { spent_at: number | null }) | undefined;
        // Another client's token reads as unknown: it learns nothing, and revokes nothing.
        if (row === undefined || row.client_id !== clientId) return { kind: 'unknown' };
        if (row.spent_at !== null) {
          this.#revokeFamily(row.family_id, now);
          return { kind: 'replayed' };
        }
        if (row.revoked_at !== null) return { kind: 'ended' };
        if (now >= row.consent_expires_at || anyRevoked.get(row.family_id) !== undefined) {
          // A revoked access token ends the family and everything it issued.
          this.#revokeFamily(row.family_id, now);
          return { kind: 'ended' };
        }
        if (spend.run(now, refreshHash).changes !== 1) return { kind: 'unknown' };
        insertRefresh.run(newRefreshHash, row.family_id, now);
        insertJti.run(jti, row.family_id);
        return { kind: 'rotated', family: refreshFamilyFromRow(row) };
      },
    );

    this.#registerUnderCap = sqlite.prepare(
      `INSERT INTO mcp_registered_clients
         (client_id, client_name, redirect_uris, created_at, last_used_at,
          auth_method, secret_sha256, jwks)
       SELECT :clientId, :clientName, :redirectUris, :createdAt, :createdAt,
              :authMethod, :secretSha256, :jwks
       WHERE (SELECT count(*) FROM (
                SELECT 1 FROM mcp_registered_clients WHERE last_used_at >= :liveSince
                LIMIT :cap)) < :cap`,
    );
    this.#getClient = sqlite.prepare(
      'SELECT * FROM mcp_registered_clients WHERE client_id = ? AND last_used_at >= ?',
    );
    this.#touchClient = sqlite.prepare(
      'UPDATE mcp_registered_clients SET last_used_at = max(last_used_at, ?) WHERE client_id = ?',
    );
    this.#insertCode = sqlite.prepare(
      `INSERT INTO mcp_auth_codes
         (code_hash, client_id, redirect_uri, code_challenge, resource, scope, username,
          created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Codes that expired unused, and used ones that started no family; a used code that
    // started one is kept a day, so a late replay still revokes what it issued.
    this.#sweepCodes = sqlite.prepare(
      `DELETE FROM mcp_auth_codes WHERE code_hash IN (
         SELECT code_hash FROM mcp_auth_codes WHERE expires_at < ? LIMIT 100)
       AND (family_id IS NULL OR expires_at < ? - 86400)`,
    );
    this.#hasConsent = sqlite.prepare(
      `SELECT 1 FROM mcp_refresh_families
         WHERE client_id = :clientId AND consent_expires_at > :now AND revoked_at IS NULL
       UNION ALL
       SELECT 1 FROM mcp_auth_codes
         WHERE client_id = :clientId AND expires_at > :now AND used_at IS NULL
       LIMIT 1`,
    );
    this.#familyOf = sqlite.prepare(
      `SELECT f.family_id FROM mcp_refresh_tokens r
       JOIN mcp_refresh_families f ON f.family_id = r.family_id
       WHERE r.token_hash = ? AND f.client_id = ?`,
    );

    // Retention: the same ended families, in the same order, for each of the first three
    // deletes; registrations take their own (idle) cutoff.
    const ended = `SELECT family_id FROM mcp_refresh_families
                   WHERE consent_expires_at < :before OR revoked_at < :before
                   ORDER BY family_id LIMIT :limit`;
    const pruneSteps = (
      [
        ['cutoff', `DELETE FROM mcp_refresh_tokens WHERE family_id IN (${ended})`],
        ['cutoff', `DELETE FROM mcp_family_tokens WHERE family_id IN (${ended})`],
        ['cutoff', `DELETE FROM mcp_refresh_families WHERE family_id IN (${ended})`],
        [
          'cutoff',
          `DELETE FROM mcp_auth_codes WHERE code_hash IN (
             SELECT code_hash FROM mcp_auth_codes WHERE expires_at < :before
             ORDER BY expires_at LIMIT :limit)`,
        ],
        [
          'idle',
          `DELETE FROM mcp_registered_clients WHERE client_id IN (
             SELECT client_id FROM mcp_registered_clients WHERE last_used_at < :before
             ORDER BY last_used_at LIMIT :limit)`,
        ],
      ] as const
    ).map(([which, sql]) => [which, sqlite.prepare(sql)] as const);
    this.#prune = sqlite.transaction((cutoff: number, idleBefore: number, limit: number) => {
      let deleted = 0;
      for (const [which, statement] of pruneSteps)
        deleted += statement.run({ before: which === 'idle' ? idleBefore : cutoff, limit }).changes;
      return deleted;
    });
  }

  readonly #registerUnderCap;
  readonly #getClient;
  readonly #touchClient;
  readonly #insertCode;
  readonly #sweepCodes;
  readonly #familyOf;
  readonly #hasConsent;

  async registerMcpClient(
    client: McpRegisteredClient,
    cap: number,
    liveSince: number,
  ): Promise<boolean> {
    const result = this.#registerUnderCap.run({
      clientId: client.clientId,
      clientName: client.clientName,
      redirectUris: JSON.stringify(client.redirectUris),
      createdAt: client.createdAt,
      authMethod: client.authMethod,
      secretSha256: client.secretSha256,
      jwks: client.jwks,
      liveSince,
      cap,
    });
    return result.changes === 1;
  }

  async getMcpClient(
    clientId: string,
    liveSince: number,
  ): Promise<McpRegisteredClient | undefined> {
    const row = this.#getClient.get(clientId, liveSince) as RawRegisteredClientRow | undefined;
    return row === undefined ? undefined : registeredClientFromRow(row);
  }

  async touchMcpClient(clientId: string, at: number): Promise<void> {
    this.#touchClient.run(at, clientId);
  }

  async mcpClientHasConsent(clientId: string, now: number): Promise<boolean> {
    return this.#hasConsent.get({ clientId, now }) !== undefined;
  }

  async createAuthCode(code: McpAuthCode): Promise<void> {
    this.#sweepCodes.run(code.createdAt, code.createdAt);
    this.#insertCode.run(
      code.codeHash,
      code.clientId,
      code.redirectUri,
      code.codeChallenge,
      code.resource,
      code.scope,
      code.username,
      code.createdAt,
      code.expiresAt,
    );
  }

  async claimAuthCode(codeHash: string, now: number): Promise<CodeClaim> {
    return this.#claimCode(codeHash, now);
  }

  async startRefreshFamily(
    codeHash: string,
    family: McpRefreshFamily,
    refreshHash: string,
    jti: string,
  ): Promise<boolean> {
    return this.#startFamily(codeHash, family, refreshHash, jti);
  }

  async rotateRefreshToken(
    refreshHash: string,
    clientId: string,
    newRefreshHash: string,
    jti: string,
    now: number,
  ): Promise<RefreshRotation> {
    return this.#rotate(refreshHash, clientId, newRefreshHash, jti, now);
  }

  async revokeRefreshFamily(refreshHash: string, clientId: string, now: number): Promise<boolean> {
    const row = this.#familyOf.get(refreshHash, clientId) as { family_id: string } | undefined;
    if (row === undefined) return false;
    this.#revokeFamily(row.family_id, now);
    return true;
  }

  async pruneMcpAuth(cutoff: number, idleBefore: number, batch: { limit: number }) {
    return this.#prune(cutoff, idleBefore, batch.limit);
  }
}
