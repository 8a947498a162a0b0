/**
 * The one middleware that watches every request (SPEC §10): gives it a request id (echoed
 * in `X-Request-Id`), then, once answered, counts it in the metrics and writes its one log
 * line. Refusals are read from what the request ended with (the error `onError` turned
 * into the response, or a rate-limit answer), so the grant code needs no hooks.
 *
 * Per request: two clock reads, one small object, one counter and one histogram update,
 * one log call. Nothing here reads the body.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { BrokerDeps } from '../deps.js';
import { BearerError, InvalidClient, isRefusalCode, OAuthError } from '../oauth/errors.js';
import { MAX_LOGGED_PATH, requestId, type Logger, type RequestInfo } from './log.js';

/** The route that answered, as registered (bounded: a pattern, never the raw path). */
function endpointOf(c: Context): string {
  const pattern = routePath(c, -1);
  return pattern === '*' || pattern === '/*' || pattern === '' ? 'unmatched' : pattern;
}

interface Outcome {
  error?: string;
  reason?: string;
  detail?: string;
}

function outcomeOf(c: Context, info: RequestInfo): Outcome | undefined {
  const error = c.error;
  if (error instanceof InvalidClient)
    return { error: error.code, reason: error.reason ?? error.code, detail: error.detail };
  if (error instanceof OAuthError) return { error: error.code, reason: error.reason ?? error.code };
  if (error instanceof BearerError) return { error: error.code, reason: error.code };
  if (info.refusal !== undefined) return info.refusal;
  if (error !== undefined)
    return { error: c.res.status >= 500 ? 'server_error' : 'invalid_request' };
  return undefined;
}

export function observeRequests(deps: BrokerDeps): MiddlewareHandler {
  const { metrics, log } = deps;
  return async (c, next) => {
    const start = performance.now();
    const info: RequestInfo = {
      id: requestId(c.req.header('x-request-id')),
      clientId: undefined,
      grant: undefined,
      refusal: undefined,
    };
    c.set('requestInfo', info);
    await next();
    const ms = performance.now() - start;
    const status = c.res.status;
    try {
      c.res.headers.set('X-Request-Id', info.id);
    } catch {
      /* an immutable Response (none of Baton's own): it goes out without the header */
    }
    const endpoint = endpointOf(c);
    metrics.observe(endpoint, status, ms / 1000);
    const outcome = outcomeOf(c, info);
    if (outcome?.error !== undefined && status < 500 && isRefusalCode(outcome.error)) {
      metrics.refused(endpoint, info.grant ?? '', outcome.error, outcome.reason ?? outcome.error);
    }
    if (!log.isLevelEnabled('info') && status < 500) return;
    const line = {
      req_id: info.id,
      method: c.req.method,
      path: c.req.path.slice(0, MAX_LOGGED_PATH),
      status,
      ms: Math.round(ms * 100) / 100,
      client_id: info.clientId,
      grant: info.grant,
      error: outcome?.error,
      reason: outcome?.reason,
      detail: outcome?.detail,
    };
    if (status >= 500) log.error(line, 'request');
    else log.info(line, 'request');
  };
}

/** A run of letters and digits this long may be (part of) a token: the log never has one. */
const TOKEN_LIKE = /[A-Za-z0-9_\-+/=.]{16,}/g;

/**
 * Logs an unexpected error (the `server_error` answer): its kind, its message with
 * anything token-like blanked (a parser's message can quote its input), and where it was
 * thrown. Never the request.
 */
export function logServerError(log: Logger, c: Context, error: Error): void {
  const at = error.stack
    ?.split('\n')
    .find((l) => l.trimStart().startsWith('at '))
    ?.trim()
    .slice(0, 300);
  log.error(
    {
      req_id: c.get('requestInfo')?.id,
      method: c.req.method,
      path: c.req.path.slice(0, MAX_LOGGED_PATH),
      err: error.name,
      message: error.message.slice(0, 500).replace(TOKEN_LIKE, '[redacted]'),
      at,
    },
    'server_error',
  );
}
