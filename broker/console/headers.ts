/**
 * Security headers on every answer under `/console` (SPEC §3a): a Content-Security-Policy
 * with no `unsafe-inline` (pages load only the console's own stylesheet and its one small
 * script), no framing, no caching, no MIME sniffing, no referrer (a console URL may name
 * a token's jti).
 * @module
 */
import type { MiddlewareHandler } from 'hono';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "script-src 'self'",
  // refresh.js asks whether the pending list changed.
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

export const consoleHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(CONSOLE_HEADERS)) {
    // The consent page (consent.tsx) sets its own CSP: this one plus its redirect target.
    if (name === 'Content-Security-Policy' && c.res.headers.has(name)) continue;
    c.res.headers.set(name, value);
  }
};
