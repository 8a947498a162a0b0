/**
 * CORS for browser-based MCP clients (SPEC §8), through the real app: the discovery
 * documents, the key set, /token, /revoke and /register answer any origin with `*` and no
 * credentials, preflights get 204 with the MCP headers, and `WWW-Authenticate` is
 * readable; nothing is added without an `Origin`; the console, the audit API and
 * /authorize never get CORS; /mcp refuses a foreign origin (preflight included) and
 * answers an origin the operator allowed by name, its 401 challenge readable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, basic, toBody } from '../helpers.js';
import {
  clientToken,
  closeBroker,
  listTools,
  openBroker,
  policyFile,
  toolNames,
  type ResourceBroker,
} from './resource-broker.js';

const PAGE = 'https://inspector.example';
const MCP_HEADERS =
  'Authorization, Content-Type, mcp-protocol-version, mcp-session-id, last-event-id';

let opened: ResourceBroker[] = [];
async function open(allowedOrigins: string[] = []) {
  const b = await openBroker(await policyFile(), { allowedOrigins });
  opened.push(b);
  return b;
}
afterEach(async () => {
  for (const b of opened) await closeBroker(b);
  opened = [];
});

/** The CORS headers of an answer, so a test compares them all at once. */
function cors(res: Response) {
  return {
    status: res.status,
    allowOrigin: res.headers.get('access-control-allow-origin'),
    allowCredentials: res.headers.get('access-control-allow-credentials'),
    expose: res.headers.get('access-control-expose-headers'),
  };
}

function preflight(b: ResourceBroker, path: string, origin = PAGE, method = 'POST') {
  return b.app.request(path, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type, mcp-protocol-version',
    },
  });
}

const PUBLIC = {
  status: 200,
  allowOrigin: '*',
  allowCredentials: null,
  expose: 'WWW-Authenticate, mcp-session-id',
};
const NONE = { allowOrigin: null, allowCredentials: null, expose: null };

describe('CORS on the public documents', () => {
  it('any origin reads the discovery documents and the key set, with no credentials', async () => {
    const b = await open();
    for (const path of [
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
      '/jwks',
    ]) {
      const res = await b.app.request(path, { headers: { origin: PAGE } });
      expect({ path, ...cors(res) }).toEqual({ path, ...PUBLIC });
    }
  });

  it('adds nothing when the request carries no Origin', async () => {
    const b = await open();
    const res = await b.app.request('/.well-known/oauth-protected-resource/mcp');
    expect(cors(res)).toEqual({ status: 200, ...NONE });
    const token = await b.app.request('/token', {
      method: 'POST',
      headers: {
        authorization: basic('planner'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: toBody({ grant_type: 'client_credentials' }),
    });
    expect(cors(token)).toEqual({ status: 200, ...NONE });
  });

  it('answers a preflight with 204, the methods served and the MCP request headers', async () => {
    const b = await open();
    for (const [path, methods] of [
      ['/token', 'POST, OPTIONS'],
      ['/revoke', 'POST, OPTIONS'],
      ['/register', 'POST, OPTIONS'],
      ['/.well-known/oauth-protected-resource/mcp', 'GET, OPTIONS'],
      ['/.well-known/oauth-authorization-server', 'GET, OPTIONS'],
    ] as const) {
      const res = await preflight(b, path);
      expect({
        path,
        status: res.status,
        origin: res.headers.get('access-control-allow-origin'),
        methods: res.headers.get('access-control-allow-methods'),
        headers: res.headers.get('access-control-allow-headers'),
        credentials: res.headers.get('access-control-allow-credentials'),
        body: await res.text(),
      }).toEqual({
        path,
        status: 204,
        origin: '*',
        methods,
        headers: MCP_HEADERS,
        credentials: null,
        body: '',
      });
    }
  });

  it('a browser reads /token answers, errors and the Basic challenge included', async () => {
    const b = await open();
    const ok = await b.app.request('/token', {
      method: 'POST',
      headers: {
        origin: PAGE,
        authorization: basic('planner'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: toBody({ grant_type: 'client_credentials' }),
    });
    expect(cors(ok)).toEqual(PUBLIC);
    const refused = await b.app.request('/token', {
      method: 'POST',
      headers: {
        origin: PAGE,
        authorization: basic('planner', 'wrong-secret-0123456789abcdef0123456789'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: toBody({ grant_type: 'client_credentials' }),
    });
    expect(cors(refused)).toEqual({ ...PUBLIC, status: 401 });
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_client');
  });
});

describe('no CORS where a cookie or an operator token acts', () => {
  it('the console, the audit API and /authorize answer no origin, preflight or not', async () => {
    const b = await open();
    for (const path of ['/console', '/console/approvals', '/audit/tokens', '/authorize']) {
      const get = await b.app.request(path, {
        headers: { origin: PAGE, authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect({ path, ...cors(get), status: 0 }).toEqual({ path, ...NONE, status: 0 });
      const pre = await preflight(b, path);
      expect(pre.status).not.toBe(204);
      expect({ path, ...cors(pre), status: 0 }).toEqual({ path, ...NONE, status: 0 });
    }
  });
});

describe('/mcp and browser origins', () => {
  it('refuses a foreign origin, its preflight included, with no CORS headers', async () => {
    const b = await open();
    const pre = await preflight(b, '/mcp');
    expect(cors(pre)).toEqual({ status: 403, ...NONE });
    const token = await clientToken(b, 'planner');
    const post = await listTools(b, token, { origin: PAGE });
    expect(cors(post)).toEqual({ status: 403, ...NONE });
  });

  it('answers an allowed origin by name: preflight, the 401 challenge, and the tools', async () => {
    const b = await open([PAGE]);
    const pre = await preflight(b, '/mcp');
    expect({
      status: pre.status,
      origin: pre.headers.get('access-control-allow-origin'),
      methods: pre.headers.get('access-control-allow-methods'),
      headers: pre.headers.get('access-control-allow-headers'),
      vary: pre.headers.get('vary'),
    }).toEqual({
      status: 204,
      origin: PAGE,
      methods: 'POST, OPTIONS',
      headers: MCP_HEADERS,
      vary: 'Origin',
    });
    const challenge = await listTools(b, undefined, { origin: PAGE });
    expect(cors(challenge)).toEqual({ ...PUBLIC, status: 401, allowOrigin: PAGE });
    expect(challenge.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="/);
    expect(challenge.headers.get('vary')).toContain('Origin');
    const token = await clientToken(b, 'planner');
    const tools = await listTools(b, token, { origin: PAGE });
    expect(cors(tools)).toEqual({ ...PUBLIC, allowOrigin: PAGE });
    expect(await toolNames(tools)).toHaveLength(6);
  });
});
