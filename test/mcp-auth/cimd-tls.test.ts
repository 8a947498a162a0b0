/**
 * The development switch relaxes where a Client ID Metadata Document may live (http,
 * loopback), never TLS: an https document whose certificate the machine does not trust
 * is refused, and the server behind it never receives the request. The certificate is
 * made at test time with openssl.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../support/self-signed.js';
import {
  CimdError,
  clearClientMetadataCache,
  fetchClientMetadataDocument,
} from '../../broker/mcp-auth/cimd.js';

let dir: string;
let server: https.Server;
let url: string;
let requests = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-cimd-tls-'));
  const { key, cert } = selfSignedCertificate(dir);
  server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
    requests += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ client_id: url, redirect_uris: ['https://a.example/cb'] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/client.json`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('CIMD over https with the development switch', () => {
  it('still refuses a certificate the machine does not trust', async () => {
    clearClientMetadataCache();
    const outcome = await fetchClientMetadataDocument(url, { allowInsecure: true }).then(
      () => 'accepted',
      (error: unknown) => (error instanceof CimdError ? error.reason : String(error)),
    );
    expect(outcome).toBe('the client metadata document could not be fetched');
    expect(requests).toBe(0);
  });

  it('without the switch, refuses the loopback address before any connection', async () => {
    clearClientMetadataCache();
    const outcome = await fetchClientMetadataDocument(url, { allowInsecure: false }).then(
      () => 'accepted',
      (error: unknown) => (error instanceof CimdError ? error.reason : String(error)),
    );
    expect(outcome).toBe('the client metadata document URL is not on a public address');
    expect(requests).toBe(0);
  });
});
