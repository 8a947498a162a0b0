/**
 * The grant registry: the token endpoint looks a grant up here and dispatches to it.
 * CIBA (`urn:openid:params:grant-type:ciba`) joins when approvals are built.
 * @module
 */
import { clientCredentialsGrant } from './client-credentials.js';
import type { Grant } from './grant.js';
import { tokenExchangeGrant } from './token-exchange.js';

export const grants: ReadonlyMap<string, Grant> = new Map(
  [tokenExchangeGrant, clientCredentialsGrant].map((g) => [g.grantType, g]),
);
