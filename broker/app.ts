/**
 * `createApp(deps)`: every route and the one error handler. Never listens; `main.ts`
 * serves it and tests call `app.request`.
 *
 * The single `onError` writes RFC 6749 §5.2 JSON with `no-store` for every failure:
 * typed OAuth errors as they are (a 401 from Basic auth with `WWW-Authenticate`), bearer
 * errors per RFC 6750, an oversized body as 413, and anything unexpected as a bare
 * `server_error` with no stack trace (its kind and place go to the log).
 *
 * Operations (SPEC §10): one middleware before everything gives each request an id and,
 * once answered, its log line and metrics (`ops/observe.ts`); `/healthz` and `/metrics`
 * are mounted with the other routes (`ops/health.ts`).
 * @module
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { mountConsole } from './console/index.js';
import type { BrokerDeps } from './deps.js';
import { mountAudit } from './endpoints/audit.js';
import { mountBackchannel } from './endpoints/backchannel.js';
import { mountDiscovery } from './endpoints/discovery.js';
import { mountIntrospect } from './endpoints/introspect.js';
import { mountRevoke } from './endpoints/revoke.js';
import { mountToken } from './endpoints/token.js';
import { NO_STORE, PATHS } from './endpoints/urls.js';
import { mountAuthorize } from './mcp-auth/authorize.js';
import { mountRegister } from './mcp-auth/register.js';
import { limitBody } from './oauth/body-limit.js';
import { BearerError, OAuthError } from './oauth/errors.js';
import { publicCors, publicCorsRoutes } from './ops/cors.js';
import { mountOps } from './ops/health.js';
import { logServerError, observeRequests } from './ops/observe.js';
import { wireText } from './text/show.js';

export const MAX_BODY_BYTES = 64 * 1024;

function errorBody(code: string, description: string) {
  return { error: code, error_description: description };
}

/** Extra routes a later module (the MCP endpoint) mounts on the same app. */
export type Mount = (app: Hono, deps: BrokerDeps) => void;

export function createApp(deps: BrokerDeps, extraMounts: Mount[] = []): Hono {
  const app = new Hono();

  // First, so every answer (a 413, a 404, an error) gets a request id, a log line and a count.
  app.use('*', observeRequests(deps));
  app.use(
    '*',
    limitBody(MAX_BODY_BYTES, (c) =>
      c.json(errorBody('invalid_request', 'the request body is larger than 64 KB'), 413, NO_STORE),
    ),
  );

  app.get('/', (c) =>
    c.json({
      name: 'Baton',
      description: 'Delegation broker for AI agents (OAuth 2.0 Token Exchange, RFC 8693)',
      issuer: deps.issuer,
      metadata: `${deps.issuer}${PATHS.metadata}`,
    }),
  );
  // CORS for browser-based MCP clients, before the routes it covers (ops/cors.ts).
  for (const [path, methods] of publicCorsRoutes(deps.issuer)) app.use(path, publicCors(methods));
  mountDiscovery(app, deps);
  mountToken(app, deps);
  mountIntrospect(app, deps);
  mountRevoke(app, deps);
  mountBackchannel(app, deps);
  mountAudit(app, deps);
  mountOps(app, deps);
  mountConsole(app, deps);
  // SPEC §8: Baton as the authorization server of /mcp.
  mountAuthorize(app, deps);
  mountRegister(app, deps);
  for (const mount of extraMounts) mount(app, deps);

  // POST-only endpoints answer other methods with 405, not "not found".
  for (const path of [
    PATHS.token,
    PATHS.introspection,
    PATHS.revocation,
    PATHS.backchannel,
    PATHS.registration,
  ]) {
    app.all(path, (c) =>
      c.json(errorBody('invalid_request', 'use POST'), 405, { ...NO_STORE, Allow: 'POST' }),
    );
  }

  app.notFound((c) => c.json(errorBody('invalid_request', 'no such endpoint'), 404, NO_STORE));

  app.onError((error, c) => {
    if (error instanceof OAuthError) {
      const headers: Record<string, string> = { ...NO_STORE };
      if (error.status === 401 && error.basicChallenge)
        headers['WWW-Authenticate'] = 'Basic realm="baton", charset="UTF-8"';
      // wireText again as the last guard: whatever built the error, the wire gets §5.2 text.
      return c.json(
        errorBody(error.code, wireText(error.description)),
        error.status as 400,
        headers,
      );
    }
    if (error instanceof BearerError) {
      /** A `WWW-Authenticate` parameter (a URL, a scope list) is kept whole up to this length. */
      const CHALLENGE_PARAM_CHARS = 2048;
      const description = wireText(error.description);
      const params = error.credentialsMissing
        ? error.challengeParams
        : { ...error.challengeParams, error: error.code, error_description: description };
      // A quoted-string (RFC 9110 §11.2) of §5.2 characters holds no `"` or `\` to escape.
      const challenge = Object.entries(params)
        .map(([k, v]) => `${k}="${wireText(v, CHALLENGE_PARAM_CHARS)}"`)
        .join(', ');
      return c.json(errorBody(error.code, description), error.status, {
        ...NO_STORE,
        'WWW-Authenticate': `Bearer ${challenge}`,
      });
    }
    if (error instanceof HTTPException && error.status < 500) {
      return c.json(
        errorBody('invalid_request', wireText(error.message || 'bad request')),
        error.status,
        NO_STORE,
      );
    }
    // Unexpected: log the kind and message (never the request, which may hold tokens).
    logServerError(deps.log, c, error);
    return c.json(
      errorBody('server_error', 'the server could not complete the request'),
      500,
      NO_STORE,
    );
  });

  return app;
}
