/**
 * The 64 KB cap on request bodies (SPEC §3: larger is 413).
 *
 * A body with a `Content-Length` is judged by that header alone, before a byte is read.
 * Only a body without one (chunked) goes through Hono's streaming `bodyLimit`, which
 * counts bytes as they arrive. The split matters on the hot path: touching
 * `c.req.raw.body`, as Hono's middleware does for every request, makes
 * @hono/node-server build a full WHATWG Request (undici, an AbortController, a web
 * stream) that the token endpoint never needs, since it reads the body with `text()`.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

export function limitBody(maxSize: number, tooLarge: (c: Context) => Response): MiddlewareHandler {
  const streaming = bodyLimit({ maxSize, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    // No length (chunked, or a Request built in-process): count the bytes as they come.
    if (length === undefined || c.req.header('transfer-encoding') !== undefined)
      return streaming(c, next);
    // Node's HTTP parser has already refused a malformed Content-Length.
    if (Number(length) > maxSize) return tooLarge(c);
    return next();
  };
}
