/**
 * The grant registry: the token endpoint looks a grant up here and dispatches to it.
 * `grant_types_supported` in the metadata is read from it too.
 * @module
 */
import { authorizationCodeGrant } from './authorization-code.js';
import { cibaGrant } from './ciba.js';
import { clientCredentialsGrant } from './client-credentials.js';
import type { Grant } from './grant.js';
import { refreshTokenGrant } from './refresh-token.js';
import { tokenExchangeGrant } from './token-exchange.js';

export const grants: ReadonlyMap<string, Grant> = new Map(
  [
    tokenExchangeGrant,
    cibaGrant,
    clientCredentialsGrant,
    authorizationCodeGrant,
    refreshTokenGrant,
  ].map((g) => [g.grantType, g]),
);
