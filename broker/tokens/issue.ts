/**
 * Signs a Baton access token (RFC 9068: `typ: at+jwt`, `iss`, `sub`, `aud`, `exp`,
 * `iat`, `jti`, `client_id`, `scope`, plus RFC 8693 `act`) and records it in the ledger
 * before handing it back: a caller only ever sends a token that is already durable.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Store, TokenRecord } from '../store/store.js';
import type { ActClaim } from './claims.js';
import { signCompactJws } from './sign-jws.js';
import { SIGNING_ALG, type KeyRing } from './signing-keys.js';

export interface IssueRequest {
  sub: string;
  act: ActClaim | undefined;
  clientId: string;
  scope: string;
  aud: string[];
  iat: number;
  exp: number;
  grantType: string;
  /** The jti of the Baton token this one was exchanged from, if any. */
  parentJti: string | null;
  /** A jti chosen beforehand; a fresh UUID otherwise. */
  jti?: string | undefined;
}

export interface IssuedToken {
  jti: string;
  accessToken: string;
  expiresIn: number;
  scope: string;
}

export class TokenIssuer {
  constructor(
    readonly issuer: string,
    readonly keyRing: KeyRing,
    readonly store: Store,
  ) {}

  async issue(req: IssueRequest): Promise<IssuedToken> {
    const { issued, record } = await this.#sign(req);
    await this.store.recordIssued(record);
    return issued;
  }

  /**
   * A CIBA approval's token: signed, then recorded in the same transaction that moves the
   * approval to `issued` (`Store.issueForApproval`). `undefined` when the approval was no
   * longer `approved` (another poll won): the signed token is dropped, never sent.
   */
  async issueForApproval(authReqId: string, req: IssueRequest): Promise<IssuedToken | undefined> {
    const { issued, record } = await this.#sign(req);
    return (await this.store.issueForApproval(authReqId, record)) ? issued : undefined;
  }

  async #sign(req: IssueRequest): Promise<{ issued: IssuedToken; record: TokenRecord }> {
    const jti = req.jti ?? randomUUID();
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      sub: req.sub,
      aud: req.aud.length === 1 ? req.aud[0] : req.aud,
      exp: req.exp,
      iat: req.iat,
      jti,
      client_id: req.clientId,
      scope: req.scope,
    };
    if (req.act !== undefined) claims.act = req.act;
    // Read once: the signing key changes when a rotated key comes into use.
    const { kid, signingKey } = this.keyRing.signer;
    const accessToken = await signCompactJws(
      { alg: SIGNING_ALG, typ: 'at+jwt', kid },
      claims,
      signingKey,
    );
    return {
      issued: { jti, accessToken, expiresIn: req.exp - req.iat, scope: req.scope },
      record: {
        jti,
        parentJti: req.parentJti,
        sub: req.sub,
        act: req.act ?? null,
        clientId: req.clientId,
        grantType: req.grantType,
        scope: req.scope,
        aud: req.aud,
        iat: req.iat,
        exp: req.exp,
      },
    };
  }
}
