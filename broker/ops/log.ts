/**
 * Structured logs (SPEC §10): pino JSON lines on stderr, one per request, with a request
 * id. What a line may hold is fixed here, field by field: method, path (never the query
 * string), status, duration, request id, client id, error code and refusal reason, and for
 * a failed client authentication the fixed, log-only `detail` of `InvalidClient`. Never a
 * body, a header value other than the request id, a token, a secret, an assertion or a
 * password: nothing is logged that this module does not name.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';
export type LogLevel = 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug';

/** Lines are written in batches of about this many bytes, and at least every second. */
const BATCH_BYTES = 4096;
const FLUSH_EVERY_MS = 1000;

/**
 * A logger writing JSON lines to `destination`; by default stderr, asynchronously and in
 * batches (one write per ~4 KB or per second, not one per request), so a request never
 * waits for a write and the hot path pays no system call. Call `flushLogs` before the
 * process exits; a `kill -9` loses at most the last second of lines.
 */
export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  let stream = destination;
  if (stream === undefined) {
    const stderr = pino.destination({ dest: 2, sync: false, minLength: BATCH_BYTES });
    setInterval(() => stderr.flush(), FLUSH_EVERY_MS).unref();
    stream = stderr;
  }
  return pino(
    {
      level,
      base: { service: 'baton' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

/** For in-process use (tests, the CLI): logs nothing, costs nothing. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Writes out, synchronously, what an asynchronous destination still holds (before exit). */
export function flushLogs(log: Logger): void {
  const stream = (log as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[
    pino.symbols.streamSym
  ];
  try {
    stream?.flushSync?.();
  } catch {
    /* nothing pending, or a destination that cannot flush: either way nothing to wait for */
  }
}

/** A caller's request id is kept when it is short and plain; anything else is replaced. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request id for a request: the caller's `X-Request-Id` when sane, else a new one. */
export function requestId(header: string | undefined): string {
  return header !== undefined && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** What the handlers learn about a request, for its log line and metrics. */
export interface RequestInfo {
  readonly id: string;
  /** The authenticated client, once known. */
  clientId: string | undefined;
  /** The grant asked for at the token endpoint (a registered grant type or `other`). */
  grant: string | undefined;
  /** Set when a request is answered without an error object (a rate limit). */
  refusal: { error: string; reason: string } | undefined;
}

declare module 'hono' {
  interface ContextVariableMap {
    requestInfo: RequestInfo;
  }
}

/** Paths go to the log capped: a path is the caller's text. */
export const MAX_LOGGED_PATH = 200;
