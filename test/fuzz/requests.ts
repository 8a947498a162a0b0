/**
 * The request a fuzz case sends, as plain data (so fast-check can print and shrink it),
 * and how it goes on the wire: the form's pairs in order (duplicates kept), one of
 * several equivalent `application/x-www-form-urlencoded` spellings (WHATWG URL §5), an
 * optional non-equivalent garbling of the raw bytes, the content type, the
 * Authorization header and any other headers. Sent in-process with `app.request`.
 */
import fc from 'fast-check';
import type { Hono } from 'hono';

export type Endpoint = '/token' | '/introspect' | '/revoke' | '/bc-authorize';
export type Pair = readonly [string, string];

/**
 * Spellings that every conforming form parser reads as the same pairs: the WHATWG
 * serializer (`+` for space), every byte percent-encoded (upper or lower hex), and
 * RFC 3986 style (`%20` for space). Empty `&` sequences are skipped by the parser.
 */
export interface Encoding {
  style: 'whatwg' | 'percent-upper' | 'percent-lower' | 'rfc3986';
  separators: 'single' | 'doubled' | 'leading' | 'trailing';
}

/** Changes to the raw bytes that do change what the form says. */
export interface Garble {
  /** A UTF-8 byte order mark before the first name. */
  bom: boolean;
  /** Raw bytes appended after a `&` (invalid UTF-8 included). */
  tail: number[];
  /** `;` instead of `&` between pairs (not a separator for this media type). */
  semicolons: boolean;
}

export interface FuzzRequest {
  path: Endpoint;
  params: Pair[];
  /** `null` sends no Content-Type at all. */
  contentType: string | null;
  /** `null` sends no Authorization header. */
  authorization: string | null;
  headers: Pair[];
  encoding: Encoding;
  garble?: Garble;
  /** POST unless said otherwise; GET and DELETE go without a body. */
  method?: 'POST' | 'GET' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
}

export const FORM = 'application/x-www-form-urlencoded';

const utf8 = new TextEncoder();
const hex = (byte: number) => byte.toString(16).padStart(2, '0');

/** application/x-www-form-urlencoded byte serializer unreserved set: `*-._` and alphanumerics. */
const WHATWG_SAFE = /[*._0-9A-Za-z-]/;
/** RFC 3986 §2.3 unreserved characters. */
const RFC3986_SAFE = /[-._~0-9A-Za-z]/;

function encodeComponent(value: string, style: Encoding['style']): string {
  let out = '';
  for (const byte of utf8.encode(value)) {
    const ch = String.fromCharCode(byte);
    if (style === 'percent-upper') out += `%${hex(byte).toUpperCase()}`;
    else if (style === 'percent-lower') out += `%${hex(byte)}`;
    else if (style === 'whatwg')
      out += byte === 0x20 ? '+' : WHATWG_SAFE.test(ch) ? ch : `%${hex(byte).toUpperCase()}`;
    else out += RFC3986_SAFE.test(ch) ? ch : `%${hex(byte).toUpperCase()}`;
  }
  return out;
}

/** The body bytes for a request. */
export function bodyOf(req: FuzzRequest): Uint8Array<ArrayBuffer> {
  const { style, separators } = req.encoding;
  const pairs = req.params.map(
    ([k, v]) => `${encodeComponent(k, style)}=${encodeComponent(v, style)}`,
  );
  const sep = req.garble?.semicolons ? ';' : separators === 'doubled' ? '&&' : '&';
  let text = pairs.join(sep);
  if (separators === 'leading') text = `&${text}`;
  if (separators === 'trailing') text = `${text}&`;
  const head = req.garble?.bom ? [0xef, 0xbb, 0xbf] : [];
  const tail = req.garble && req.garble.tail.length > 0 ? [0x26, ...req.garble.tail] : [];
  return Uint8Array.from([...head, ...utf8.encode(text), ...tail]);
}

/**
 * Sends the request in-process. The body always goes as bytes, so no Content-Type is
 * added behind the test's back (a string body would get `text/plain`).
 */
export function send(app: Hono, req: FuzzRequest): Promise<Response> {
  const headers = new Headers();
  for (const [k, v] of req.headers) headers.append(k, v);
  if (req.contentType !== null) headers.set('content-type', req.contentType);
  if (req.authorization !== null) headers.set('authorization', req.authorization);
  const method = req.method ?? 'POST';
  const body = method === 'GET' || method === 'DELETE' ? null : bodyOf(req);
  return Promise.resolve(app.request(req.path, { method, headers, body }));
}

/** Basic credentials as RFC 6749 §2.3.1 spells them (form-encoded, then base64). */
export function basicHeader(id: string, secret: string, scheme = 'Basic'): string {
  return `${scheme} ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

// ---------------------------------------------------------------------------------------
// Arbitraries for the wire-level parts.

export const encodingArb: fc.Arbitrary<Encoding> = fc.record({
  style: fc.constantFrom('whatwg', 'percent-upper', 'percent-lower', 'rfc3986'),
  separators: fc.constantFrom('single', 'doubled', 'leading', 'trailing'),
});

export const garbleArb: fc.Arbitrary<Garble> = fc.record({
  bom: fc.boolean(),
  tail: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }),
  semicolons: fc.boolean(),
});

/** Header values a real HTTP/1.1 client can send: tab and Latin-1 without CR, LF or NUL. */
export const headerValueArb: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
      { weight: 1, arbitrary: fc.constantFrom(0x09, 0x7f) },
      { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
    ),
    { maxLength: 80 },
  )
  .map((codes) => String.fromCharCode(...codes));

/** Latin-1 text without CR, LF, NUL or DEL: any header value a client could send. */
export const headerText = fc
  .array(
    fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f),
    { maxLength: 60 },
  )
  .map((codes) => String.fromCharCode(...codes));

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Headers besides Content-Type and Authorization. Content-Length and Transfer-Encoding
 * are left out: in-process they would describe a body that is not there, which Node's
 * HTTP parser never lets reach the app.
 */
export const otherHeadersArb: fc.Arbitrary<Pair[]> = fc.array(
  fc.tuple(
    fc.oneof(
      fc.constantFrom(
        'accept',
        'accept-charset',
        'accept-encoding',
        'content-encoding',
        'content-language',
        'cookie',
        'dpop',
        'expect',
        'forwarded',
        'origin',
        'referer',
        'user-agent',
        'x-forwarded-for',
        'x-forwarded-host',
        'x-request-id',
      ),
      fc
        .string({ minLength: 1, maxLength: 20 })
        .filter(
          (s) =>
            TCHAR.test(s) &&
            !/^(content-length|transfer-encoding|content-type|authorization|host)$/i.test(s),
        ),
    ),
    headerValueArb,
  ),
  { maxLength: 4 },
);

/** Headers no authorization server should care about. */
export const harmlessHeadersArb: fc.Arbitrary<Pair[]> = fc.array(
  fc.tuple(
    fc.constantFrom('accept', 'user-agent', 'x-request-id', 'x-trace', 'accept-language'),
    fc.stringMatching(/^[A-Za-z0-9 ./;=*,-]{0,40}$/),
  ),
  { maxLength: 3 },
);
