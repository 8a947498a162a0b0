/**
 * RFC 8693 token exchange, by the rules of SPEC §4. This module only loads the inputs
 * (verifies tokens, reads the ledger) and runs the pure rules from `policy/` in order;
 * each rule decides one thing and returns a typed refusal when it says no.
 * @module
 */
import { z } from 'zod';
import type { BrokerDeps } from '../deps.js';
import { parseParams, repeated, scope as scopeParam, seconds, text } from '../oauth/params.js';
import { clampLifetime } from '../policy/clamp-lifetime.js';
import { mayExchange } from '../policy/may-exchange.js';
import { narrowAudience } from '../policy/narrow-audience.js';
import { narrowScope } from '../policy/narrow-scope.js';
import { nestAct } from '../policy/nest-act.js';
import { must, refuse, refusalToError, type Refusal } from '../policy/refusal.js';
import { checkChainLength } from '../policy/chain-length.js';
import { checkTokenTypes } from '../policy/token-types.js';
import { LedgerFieldTooLargeError, ParentRevokedError } from '../store/store.js';
import { GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN } from '../tokens/claims.js';
import { TokenRejected, type VerifiedToken } from '../tokens/verify.js';
import type { Grant, GrantContext, TokenResponse } from './grant.js';

const Params = z.object({
  subject_token: text(),
  subject_token_type: text().optional(),
  actor_token: text().optional(),
  actor_token_type: text().optional(),
  requested_token_type: text().optional(),
  scope: scopeParam().optional(),
  audience: repeated(),
  resource: repeated(),
  /** Baton extension: ask for a shorter lifetime than the default (seconds). */
  expires_in: seconds().optional(),
});

function refused(reason: Refusal): never {
  throw refusalToError(reason);
}

/**
 * The subject was revoked after it was checked but before the child committed, so the
 * ledger refused the child (`ParentRevokedError`): that is a revoked subject token
 * (rule 9, `invalid_request`), not a server error.
 */
function revokedMeanwhile(error: unknown): never {
  if (error instanceof ParentRevokedError)
    refused(refuse('subject_token_revoked', 'the subject token has been revoked'));
  // The ledger's last guard on row size (store/limits.ts): only a trusted issuer's claims
  // (a huge `sub` or `act`) can reach it, so it is the subject token that is unacceptable.
  if (error instanceof LedgerFieldTooLargeError)
    refused(refuse('subject_token_invalid', 'the subject token has a claim too large to record'));
  throw error;
}

/** Verifies a Baton or trusted token, and for Baton's own checks the ledger: known and not revoked. */
async function loadToken(
  deps: BrokerDeps,
  token: string,
  now: number,
  what: 'the subject token' | 'the actor token',
  ownOnly: boolean,
  /** Told the jti of any token Baton signed, even an expired one, for the refusal ledger. */
  onOwnJti: (jti: string) => void = () => {},
): Promise<VerifiedToken> {
  const reason = what === 'the subject token' ? 'subject_token_invalid' : 'actor_token_invalid';
  let verified: VerifiedToken;
  try {
    verified = ownOnly
      ? await deps.verifier.verifyOwn(token, now, what)
      : await deps.verifier.verifySubject(token, now, what);
  } catch (error) {
    if (!(error instanceof TokenRejected)) throw error;
    if (error.jti !== undefined) onOwnJti(error.jti);
    refused(refuse(reason, error.message));
  }
  if (verified.source === 'baton') {
    onOwnJti(verified.jti!);
    // Fails fast with a clear reason; the ledger re-checks the parent inside the commit
    // (`ParentRevokedError`), which is what closes the race with a concurrent revocation.
    // Still one indexed read: it also gives the hop, for the chain-length bound.
    const state = await deps.store.ledgerState(verified.jti!);
    if (state === undefined) refused(refuse(reason, `${what} is not in Baton's ledger`));
    if (state.revokedAt !== null) {
      refused(
        refuse(
          what === 'the subject token' ? 'subject_token_revoked' : reason,
          `${what} has been revoked`,
        ),
      );
    }
    if (what === 'the subject token') must(checkChainLength(state.hop));
  }
  return verified;
}

async function handle(ctx: GrantContext, deps: BrokerDeps): Promise<TokenResponse> {
  const { client, now } = ctx;
  const params = parseParams(Params, ctx.form);
  must(
    checkTokenTypes({
      subjectTokenType: params.subject_token_type,
      actorToken: params.actor_token,
      actorTokenType: params.actor_token_type,
      requestedTokenType: params.requested_token_type,
    }),
  );

  const subject = await loadToken(
    deps,
    params.subject_token,
    now,
    'the subject token',
    false,
    (jti) => {
      ctx.subjectJti = jti;
    },
  );

  // Rule 1: an actor token is one of Baton's own, unrevoked, about this very client.
  let actorTokenExp: number | undefined;
  if (params.actor_token !== undefined) {
    const actorToken = await loadToken(deps, params.actor_token, now, 'the actor token', true);
    if (actorToken.sub !== client.clientId) {
      refused(refuse('actor_token_invalid', `the actor token's subject is not ${client.clientId}`));
    }
    actorTokenExp = actorToken.exp;
  }

  // Rule 2: who may exchange this subject token.
  const currentActor =
    subject.act?.sub ?? (subject.source === 'baton' ? subject.clientId : undefined);
  must(
    mayExchange({
      actor: client.clientId,
      source: subject.source,
      aud: subject.aud,
      currentActor,
      mayAct: subject.mayAct,
      batonIssuer: deps.issuer,
    }),
  );

  // Rules 3 and 7: nest act, bounded and loop-free.
  const act = must(
    nestAct({
      subjectAct: subject.act,
      currentActor,
      actor: client.clientId,
      maxDepth: deps.policy.maxDelegationDepth,
    }),
  );
  // Rule 4: scopes only narrow.
  const scope = must(
    narrowScope({
      requested: params.scope,
      subjectScopes: subject.scopes,
      actorScopes: client.scopes,
    }),
  );
  // Rule 5: audience only narrows to the actor's allow-list.
  const aud = must(
    narrowAudience({
      audience: params.audience,
      resource: params.resource,
      allowed: client.audiences,
    }),
  );
  // Rule 6: lifetime never grows.
  const exp = must(
    clampLifetime({
      now,
      defaultTtl: deps.policy.defaultTtlSeconds,
      maxTtl: client.maxTtlSeconds,
      requestedTtl: params.expires_in,
      subjectExp: subject.exp,
      actorTokenExp,
    }),
  );

  const issued = await deps.tokens
    .issue({
      sub: subject.sub,
      act,
      clientId: client.clientId,
      scope,
      aud,
      iat: now,
      exp,
      grantType: GRANT_TOKEN_EXCHANGE,
      parentJti: subject.source === 'baton' ? subject.jti! : null,
    })
    .catch(revokedMeanwhile);
  return {
    access_token: issued.accessToken,
    issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    scope: issued.scope,
  };
}

export const tokenExchangeGrant: Grant = { grantType: GRANT_TOKEN_EXCHANGE, handle };
