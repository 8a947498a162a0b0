/**
 * Client ID Metadata Documents fetched from a real local HTTP server: what is accepted,
 * what is refused (private addresses without the development switch, a redirect, an
 * oversized or slow answer, a mismatched client_id, a secret or private_key_jwt), and
 * that the cache keeps a document (and a failure) so a second call does not refetch.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CimdError,
  clearClientMetadataCache,
  clientIdUrlProblem,
  fetchClientMetadataDocument,
  MAX_CACHE_ENTRIES,
  MAX_CIMD_BYTES,
} from '../../broker/mcp-auth/cimd.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: string) => void;

let server: http.Server;
let base: string;
const hits = new Map<string, number>();
const routes = new Map<string, Handler>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler === undefined) {
      res.writeHead(404).end();
      return;
    }
    handler(req, res, `${base}${path}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  clearClientMetadataCache();
  hits.clear();
  routes.clear();
});

function serveJson(
  path: string,
  body: (url: string) => unknown,
  headers: Record<string, string> = {},
) {
  routes.set(path, (_req, res, url) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body(url)));
  });
  return `${base}${path}`;
}

const dev = { allowInsecure: true };

/** The CimdError's reason, or a string saying what else happened. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CimdError) return error.reason;
    return `not a CimdError: ${String(error)}`;
  }
  return 'accepted';
}

describe('fetchClientMetadataDocument', () => {
  it('returns the document when its client_id is its URL and it has redirect_uris', async () => {
    const url = serveJson('/clients/inspector.json', (u) => ({
      client_id: u,
      client_name: 'MCP Inspector',
      redirect_uris: ['http://127.0.0.1:6274/oauth/callback'],
      client_uri: 'https://inspector.example',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
    }));
    expect(await fetchClientMetadataDocument(url, dev)).toEqual({
      client_id: url,
      client_name: 'MCP Inspector',
      redirect_uris: ['http://127.0.0.1:6274/oauth/callback'],
      client_uri: 'https://inspector.example',
      token_endpoint_auth_method: 'none',
    });
  });

  it('refuses a loopback or private address without the development switch, before connecting', async () => {
    const url = serveJson('/c.json', (u) => ({
      client_id: u,
      redirect_uris: ['https://a.example/cb'],
    }));
    const httpsLoopback = url.replace('http://', 'https://');
    expect(
      await refusal(fetchClientMetadataDocument(httpsLoopback, { allowInsecure: false })),
    ).toBe('the client metadata document URL is not on a public address');
    expect(
      await refusal(
        fetchClientMetadataDocument('https://10.1.2.3/client.json', { allowInsecure: false }),
      ),
    ).toBe('the client metadata document URL is not on a public address');
    // A name that resolves to loopback is refused in the DNS lookup itself.
    expect(
      await refusal(
        fetchClientMetadataDocument('https://localhost/client.json', { allowInsecure: false }),
      ),
    ).toBe('the client metadata document URL is not on a public address');
    // And http is refused outright.
    expect(await refusal(fetchClientMetadataDocument(url, { allowInsecure: false }))).toBe(
      'the client_id is not an acceptable client metadata document URL',
    );
    expect(hits.get('/c.json')).toBeUndefined();
  });

  it('refuses a redirect and does not follow it', async () => {
    const target = serveJson('/real.json', (u) => ({
      client_id: u,
      redirect_uris: ['https://a.example/cb'],
    }));
    routes.set('/moved.json', (_req, res) => res.writeHead(302, { location: target }).end());
    expect(await refusal(fetchClientMetadataDocument(`${base}/moved.json`, dev))).toBe(
      'the client metadata document URL answered with a redirect, which is not followed',
    );
    expect(hits.get('/real.json')).toBeUndefined();
  });

  it('refuses an answer over the size cap, declared or streamed', async () => {
    routes.set('/big.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pad: 'x'.repeat(MAX_CIMD_BYTES) }));
    });
    routes.set('/streamed.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      const chunk = 'x'.repeat(4096);
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed || sent > 10 * MAX_CIMD_BYTES) {
          clearInterval(timer);
          res.destroy();
          return;
        }
        res.write(chunk);
        sent += chunk.length;
      }, 1);
    });
    const tooLarge = 'the client metadata document is larger than 16 KB';
    expect(await refusal(fetchClientMetadataDocument(`${base}/big.json`, dev))).toBe(tooLarge);
    expect(await refusal(fetchClientMetadataDocument(`${base}/streamed.json`, dev))).toBe(tooLarge);
  });

  it('gives up on an answer that does not come; a caller that gives up leaves the fetch to the others', async () => {
    routes.set('/slow.json', () => {
      /* never answers */
    });
    const started = Date.now();
    expect(await refusal(fetchClientMetadataDocument(`${base}/slow.json`, dev))).toBe(
      'the client metadata document did not arrive in time',
    );
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(4_500);
    expect(waited).toBeLessThan(8_000);
    // A caller that gives up gets its own refusal; one waiting on the same fetch still
    // gets the document, and nothing is cached as failed.
    const late = '/late.json';
    routes.set(late, (_req, res, url) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ client_id: url, redirect_uris: ['https://a.example/cb'] }));
      }, 300);
    });
    const abandoned = fetchClientMetadataDocument(`${base}${late}`, {
      ...dev,
      signal: AbortSignal.timeout(50),
    });
    const patient = fetchClientMetadataDocument(`${base}${late}`, dev);
    expect(await refusal(abandoned)).toBe(
      'the request for the client metadata document was abandoned',
    );
    expect((await patient).client_id).toBe(`${base}${late}`);
    expect((await fetchClientMetadataDocument(`${base}${late}`, dev)).client_id).toBe(
      `${base}${late}`,
    );
    expect(hits.get(late)).toBe(1);
  }, 15_000);

  it('refuses a document that names another client_id, lacks redirect_uris, or is not JSON', async () => {
    const other = serveJson('/other.json', () => ({
      client_id: 'https://evil.example/client.json',
      redirect_uris: ['https://evil.example/cb'],
    }));
    expect(await refusal(fetchClientMetadataDocument(other, dev))).toBe(
      'the client metadata document names a different client_id than its URL',
    );
    const noRedirects = serveJson('/none.json', (u) => ({ client_id: u }));
    expect(await refusal(fetchClientMetadataDocument(noRedirects, dev))).toBe(
      'the client metadata document lacks valid redirect_uris or has a malformed field',
    );
    const fragment = serveJson('/frag.json', (u) => ({
      client_id: u,
      redirect_uris: ['https://a.example/cb#x'],
    }));
    expect(await refusal(fetchClientMetadataDocument(fragment, dev))).toBe(
      'the client metadata document lacks valid redirect_uris or has a malformed field',
    );
    routes.set('/html.json', (_req, res) => res.writeHead(200).end('<html>"client_id"</html>'));
    const notJson = await refusal(fetchClientMetadataDocument(`${base}/html.json`, dev));
    expect(notJson).toBe('the client metadata document is not a JSON object');
    expect(notJson).not.toContain('<html>');
    expect(await refusal(fetchClientMetadataDocument(`${base}/missing.json`, dev))).toBe(
      'the client metadata document URL did not answer 200',
    );
  });

  it('refuses confidential clients: a client secret, or private_key_jwt', async () => {
    const secret = serveJson('/secret.json', (u) => ({
      client_id: u,
      client_secret: 'shh',
      redirect_uris: ['https://a.example/cb'],
    }));
    expect(await refusal(fetchClientMetadataDocument(secret, dev))).toBe(
      'a client metadata document must not carry a client secret',
    );
    const jwt = serveJson('/jwt.json', (u) => ({
      client_id: u,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'https://a.example/jwks',
      redirect_uris: ['https://a.example/cb'],
    }));
    expect(await refusal(fetchClientMetadataDocument(jwt, dev))).toBe(
      'only public clients (token_endpoint_auth_method none) are supported for client metadata documents',
    );
  });

  it('caches a document for its max-age (at least a minute) and a failure briefly', async () => {
    let clock = 1_000_000;
    const now = () => clock;
    const url = serveJson(
      '/cached.json',
      (u) => ({ client_id: u, redirect_uris: ['https://a.example/cb'] }),
      { 'cache-control': 'public, max-age=5' },
    );
    const first = await fetchClientMetadataDocument(url, { ...dev, now });
    const second = await fetchClientMetadataDocument(url, { ...dev, now });
    expect(second).toEqual(first);
    expect(hits.get('/cached.json')).toBe(1);
    clock += 30_000; // past max-age=5, within the 60 s floor
    await fetchClientMetadataDocument(url, { ...dev, now });
    expect(hits.get('/cached.json')).toBe(1);
    clock += 31_000;
    await fetchClientMetadataDocument(url, { ...dev, now });
    expect(hits.get('/cached.json')).toBe(2);

    // Concurrent first calls share one fetch.
    const shared = serveJson('/shared.json', (u) => ({
      client_id: u,
      redirect_uris: ['https://a.example/cb'],
    }));
    await Promise.all([1, 2, 3].map(() => fetchClientMetadataDocument(shared, { ...dev, now })));
    expect(hits.get('/shared.json')).toBe(1);

    // A failing URL is not fetched again for a while.
    const bad = `${base}/gone.json`;
    expect(await refusal(fetchClientMetadataDocument(bad, { ...dev, now }))).toBe(
      'the client metadata document URL did not answer 200',
    );
    expect(await refusal(fetchClientMetadataDocument(bad, { ...dev, now }))).toBe(
      'the client metadata document URL did not answer 200',
    );
    expect(hits.get('/gone.json')).toBe(1);
    clock += 31_000;
    await refusal(fetchClientMetadataDocument(bad, { ...dev, now }));
    expect(hits.get('/gone.json')).toBe(2);
  });
  it('remembers at most MAX_CACHE_ENTRIES URLs, the oldest forgotten first', async () => {
    const url = serveJson('/kept.json', (u) => ({
      client_id: u,
      redirect_uris: ['https://a.example/cb'],
    }));
    await fetchClientMetadataDocument(url, dev);
    // Refused URLs are remembered too (no network: each has a fragment).
    const flood = (from: number, count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          refusal(fetchClientMetadataDocument(`https://flood.example/${from + i}#x`, dev)),
        ),
      );
    await flood(0, MAX_CACHE_ENTRIES - 1);
    await fetchClientMetadataDocument(url, dev);
    expect(hits.get('/kept.json')).toBe(1);
    await flood(MAX_CACHE_ENTRIES, MAX_CACHE_ENTRIES);
    await fetchClientMetadataDocument(url, dev);
    expect(hits.get('/kept.json')).toBe(2);
  });
});

describe('clientIdUrlProblem', () => {
  it('takes an https URL with a path, and names what is wrong with others', () => {
    expect(clientIdUrlProblem('https://client.example/oauth/client.json', false)).toBeUndefined();
    expect(clientIdUrlProblem('https://client.example/c?v=1', false)).toBeUndefined();
    expect(clientIdUrlProblem('https://client.example', false)).toBe('must have a path');
    expect(clientIdUrlProblem('https://client.example/', false)).toBe('must have a path');
    expect(clientIdUrlProblem('https://client.example/c#f', false)).toBe(
      'must not have a fragment',
    );
    expect(clientIdUrlProblem('https://a:b@client.example/c', false)).toBe(
      'must not contain a user name or password',
    );
    expect(clientIdUrlProblem('https://client.example/a/./c', false)).toBe(
      'must not contain . or .. path segments',
    );
    expect(clientIdUrlProblem('https://client.example/a/%2E%2E/c', false)).toBe(
      'must not contain . or .. path segments',
    );
    expect(clientIdUrlProblem('https://CLIENT.example/c', false)).toBe('is not in canonical form');
    expect(clientIdUrlProblem('http://client.example/c', false)).toMatch(/^must be an https URL/);
    expect(clientIdUrlProblem('http://127.0.0.1:3000/c.json', true)).toBeUndefined();
    expect(clientIdUrlProblem('my-client', false)).toBe('is not a URL');
  });
});
