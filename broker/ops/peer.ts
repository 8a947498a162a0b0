/**
 * The remote address of the connection a request came on, read from the Node socket that
 * @hono/node-server passes as `c.env.incoming`. `undefined` for a request made in-process
 * (`app.request` in tests, the MCP stdio server), which has no socket. `X-Forwarded-For`
 * is never read: it is the caller's to write.
 * @module
 */
import type { Context } from 'hono';

interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: string } };
}

export function peerAddress(c: Context): string | undefined {
  return (c.env as NodeBindings | undefined)?.incoming?.socket?.remoteAddress;
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (`::ffff:127.0.0.1`). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}
