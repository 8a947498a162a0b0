/**
 * Fetching a document from a URL that policy names but someone else serves (a trusted
 * issuer's or a client's `jwks_uri`), so that the answer cannot hurt the broker:
 *
 * - https only, unless the operator's development switch allows http;
 * - never a private, loopback, link-local, unique-local or otherwise non-public
 *   address (a literal IP, or any address the name resolves to), unless that same
 *   switch allows it: a key URL must not become a way into the broker's own network;
 *   the address that was checked is the one connected to (the check runs inside the
 *   connection's DNS lookup), so a second, different DNS answer cannot slip past it;
 * - no redirects (any answer but the one asked for is just a status);
 * - the body is counted while it streams and the connection cut past `maxBytes`, so a
 *   400 MB answer costs at most `maxBytes` of memory; a timeout comes from `signal`.
 *
 * Returns a web `Response`, so it can stand in for `fetch` (jose's `customFetch`).
 * @module
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';

/** Addresses that are not on the public internet (IANA special-purpose registries). */
const NOT_PUBLIC = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and broadcast
] as const) {
  NOT_PUBLIC.addSubnet(prefix, bits, 'ipv4');
}
for (const [prefix, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64: reaches IPv4 addresses, private ones included
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  NOT_PUBLIC.addSubnet(prefix, bits, 'ipv6');
}

/** Whether an IP address is private, loopback, link-local or otherwise not public. IPv4-mapped IPv6 counts as its IPv4. */
export function isNonPublicAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return true;
  return NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Why a URL was not fetched; the message names no secret and is for the log. */
export class UnsafeFetch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeFetch';
  }
}

export interface SafeFetchOptions {
  /** Largest body taken, in bytes; the connection is cut past it. */
  maxBytes: number;
  /** Development only: allow http, and private and loopback addresses. */
  allowInsecure: boolean;
  signal?: AbortSignal | undefined;
  headers?: HeadersInit | undefined;
}

/** A DNS lookup that refuses a name when any of its addresses is not public. */
function publicOnlyLookup(allowInsecure: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const refused = allowInsecure
        ? undefined
        : addresses.find((a) => isNonPublicAddress(a.address));
      if (refused !== undefined || addresses.length === 0) {
        return callback(
          new UnsafeFetch(`${hostname} resolves to a non-public address`) as NodeJS.ErrnoException,
          '',
          0,
        );
      }
      // Node's connect asks for every address when it races families (`all: true`).
      if (options.all)
        return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/** GET `url` under the rules above. Rejects with `UnsafeFetch` for a refused URL, address or size. */
export function safeFetch(url: string | URL, options: SafeFetchOptions): Promise<Response> {
  const target = new URL(url);
  if (target.protocol !== 'https:' && !(options.allowInsecure && target.protocol === 'http:')) {
    return Promise.reject(new UnsafeFetch(`${target.protocol} URLs are not fetched; use https`));
  }
  const literal = target.hostname.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(literal) !== 0 && !options.allowInsecure && isNonPublicAddress(literal)) {
    return Promise.reject(new UnsafeFetch(`${literal} is not a public address`));
  }
  const headers: Record<string, string> = {};
  new Headers(options.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<Response>((resolve, reject) => {
    const request = client.get(
      target,
      { headers, lookup: publicOnlyLookup(options.allowInsecure), signal: options.signal },
      (res) => {
        const status = res.statusCode ?? 0;
        const declared = Number(res.headers['content-length']);
        // Settled first, then the connection cut without an error: a cut connection whose
        // last bytes had already arrived would otherwise still end, or raise its error
        // where nobody listens.
        let refused = false;
        const refuse = (message: string) => {
          refused = true;
          reject(new UnsafeFetch(message));
          res.destroy();
          request.destroy();
        };
        if (Number.isFinite(declared) && declared > options.maxBytes) {
          refuse(`the answer declares ${declared} bytes, more than ${options.maxBytes}`);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (refused) return;
          size += chunk.length;
          if (size > options.maxBytes) {
            refuse(`the answer is larger than ${options.maxBytes} bytes`);
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          if (refused) return;
          if (!res.complete) return reject(new UnsafeFetch('the answer was cut short'));
          // Only the content type and caching are passed on; a redirect's Location is never followed.
          const passed: Record<string, string> = {};
          for (const name of ['content-type', 'cache-control'] as const) {
            const value = res.headers[name];
            if (value) passed[name] = value;
          }
          resolve(
            new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), {
              status,
              headers: passed,
            }),
          );
        });
      },
    );
    request.on('error', reject);
  });
}
