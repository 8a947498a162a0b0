/**
 * Connection limits for the Node HTTP server (SPEC §10): slow or idle connections are cut,
 * and there are at most so many, so a few thousand silent sockets cannot use up the file
 * descriptors and lock everyone out.
 *
 * - `headersTimeout`: a request's headers must arrive within this time (Node answers 408).
 * - `requestTimeout`: the whole request, body included, within this time; a body that
 *   trickles in a byte at a time is cut (Node's default was 300 s).
 * - `keepAliveTimeout`: an idle keep-alive connection is closed after this time.
 * - A new connection that sends nothing at all is closed after `headersTimeout`: Node's
 *   own header timer starts only with the first byte, so without this a silent socket
 *   would stay open for ever. Once a request arrives the socket timer is cleared, so a
 *   long answer (an MCP tool waiting for a person's approval) is never cut for silence.
 * - `maxConnections`: past this, new connections are closed at once; the broker serves
 *   again as soon as some close.
 *
 * Node checks the header and request timers every `connectionsCheckingInterval` (30 s by
 * default); it is set from the timeouts so a small test value is honoured promptly.
 * @module
 */
import type { IncomingMessage, Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';

export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
}

/** Options for `http.createServer` (they can only be given at creation). */
export function serverOptions(limits: ServerLimits): ServerOptions {
  const requestTimeout = limits.requestTimeoutMs;
  // Node refuses a header timeout longer than the request timeout.
  const headersTimeout = Math.min(limits.headersTimeoutMs, requestTimeout);
  return {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: limits.idleTimeoutMs,
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeout / 4))),
  };
}

/** Stops a limited server gracefully (see `limitServer`). */
export interface GracefulClose {
  (timeoutMs: number): Promise<void>;
}

/**
 * Applies what `serverOptions` cannot (the connection cap and the silent-socket timer)
 * and returns the graceful close for SIGTERM: stop accepting, let requests in flight
 * finish, close each keep-alive connection as soon as it is idle and every connection
 * that never sent a request, and after `timeoutMs` close whatever is left.
 */
export function limitServer(server: Server, limits: ServerLimits): GracefulClose {
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  /** Sockets that have not yet sent a whole request's headers. */
  const silent = new Set<Socket>();
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = limits.idleTimeoutMs;
  server.on('connection', (socket: Socket) => {
    // Node destroys a socket whose timer fires when nothing else listens for 'timeout'.
    socket.setTimeout(headersTimeout);
    silent.add(socket);
    socket.once('close', () => silent.delete(socket));
  });
  server.on('request', (req: IncomingMessage) => {
    if (silent.delete(req.socket)) req.socket.setTimeout(0);
  });
  return (timeoutMs) =>
    new Promise<void>((resolve) => {
      // Keep-alive connections turn idle as their last answer goes out; close them then.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
      server.close(() => {
        clearInterval(sweep);
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
      for (const socket of silent) socket.destroy();
    });
}
