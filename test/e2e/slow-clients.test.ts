/**
 * Slow and idle connections cannot lock everyone out (issue 9, point 9; SPEC §10),
 * against a real broker process with small limits, over raw sockets: a connection that
 * sends nothing is closed, so are headers or a body that trickle in, and an idle
 * keep-alive connection; past the connection cap new connections are refused, and the
 * broker serves again once the held ones are gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeBroker, type NodeBroker } from './node-broker.js';

const MAX_CONNECTIONS = 6;
let dir: string;
let broker: NodeBroker;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-slow-'));
  broker = await startNodeBroker({
    BATON_DB: path.join(dir, 'baton.db'),
    BATON_HEADERS_TIMEOUT_MS: '1500',
    BATON_REQUEST_TIMEOUT_MS: '2500',
    BATON_IDLE_TIMEOUT_MS: '500',
    BATON_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
  });
});
afterAll(async () => {
  await broker.kill();
  rmSync(dir, { recursive: true, force: true });
});

interface Conn {
  socket: net.Socket;
  /** Everything the broker sent on this connection. */
  received(): string;
  closed: Promise<void>;
}

async function connect(): Promise<Conn> {
  const socket = net.connect(broker.port, '127.0.0.1');
  let data = '';
  socket.on('data', (b: Buffer) => (data += b.toString()));
  socket.on('error', () => {
    /* a reset is one way of being closed */
  });
  // Not events.once: that rejects on 'error', and a reset is one way of being closed.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // Past the cap the broker may reset the connection before 'connect' is seen here: a
  // connection that closed is as settled as one that connected.
  await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed]);
  return { socket, received: () => data, closed };
}

/** A request on a fresh connection that asks to close it after the answer. */
async function get(p: string): Promise<string> {
  const c = await connect();
  c.socket.write(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  await c.closed;
  return c.received();
}

/** Writes one byte of `text` each `everyMs` until the socket closes; resolves how many went out. */
function trickle(c: Conn, text: string, everyMs: number): Promise<number> {
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < text.length && !c.socket.destroyed) c.socket.write(text[sent++]!);
  }, everyMs);
  return c.closed.then(() => {
    clearInterval(timer);
    return sent;
  });
}

describe('slow and idle connections', () => {
  it('closes a connection that sends nothing', async () => {
    const c = await connect();
    await c.closed;
    // Closed by Baton's first-byte timer (no answer), or by Node's header timer when it
    // wins the race (a 408): either way the connection is gone.
    expect(c.received()).toMatch(/^(HTTP\/1\.1 408 Request Timeout\r\n[^]*)?$/);
  });

  it('answers 408 and closes when the headers trickle in', async () => {
    const c = await connect();
    const headers =
      'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ' + 'x'.repeat(200) + '\r\n\r\n';
    const sent = await trickle(c, headers, 100);
    expect(sent).toBeLessThan(headers.length);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('answers 408 and closes when the body trickles in', async () => {
    const c = await connect();
    const body = 'grant_type=client_credentials&scope=' + 'a'.repeat(200);
    c.socket.write(
      `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const sent = await trickle(c, body, 100);
    expect(sent).toBeLessThan(body.length);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('closes an idle keep-alive connection after its answer', async () => {
    const c = await connect();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(c.received()).toContain('{"status":"ok"}');
  });

  it('refuses connections past the cap, and serves again once the held ones are gone', async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, connect));
    // The cap is reached: one more connection is closed without an answer.
    const refused = await connect();
    refused.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await refused.closed;
    expect(refused.received()).toBe('');
    // The held connections are silent: the broker closes them itself, then serves again.
    await Promise.all(held.map((c) => c.closed));
    expect(await get('/healthz')).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });
});
