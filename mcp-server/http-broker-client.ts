/**
 * `BrokerClient` over HTTP, for `baton-mcp` on stdio: a plain OAuth client of the broker.
 * It reads only the RFC 8414 metadata document to find the endpoints (SPEC §3: a client
 * that reads only that document can use Baton), authenticates as its client on every
 * call, and turns a network failure into `BrokerUnreachable` and an RFC 6749 §5.2 error
 * body into `BrokerRefused`.
 * @module
 */
import { z } from 'zod';
import {
  GRANT_TOKEN_EXCHANGE,
  GRANT_CIBA,
  TOKEN_TYPE_ACCESS_TOKEN as ACCESS_TOKEN_TYPE,
} from '../broker/tokens/claims.js';
import {
  BrokerRefused,
  BrokerUnreachable,
  type ApprovalClient,
  type ApprovalPoll,
  type AuditReport,
  type BrokerClient,
  type BrokerMetadata,
  type ClientCredentialsParams,
  type ExchangeParams,
  type Introspection,
  type TokenResponse,
} from './broker-client.js';
import { clientAuth, type ClientCredentials } from './client-credentials.js';

const METADATA_PATH = '/.well-known/oauth-authorization-server';

const Metadata = z.looseObject({
  issuer: z.string(),
  token_endpoint: z.string(),
  introspection_endpoint: z.string().optional(),
  revocation_endpoint: z.string().optional(),
  backchannel_authentication_endpoint: z.string().optional(),
  baton_audit_endpoint: z.string().optional(),
});

const Token = z.object({
  access_token: z.string(),
  issued_token_type: z.string().optional(),
  token_type: z.string(),
  expires_in: z.number(),
  scope: z.string().default(''),
});

const ErrorBody = z.object({ error: z.string(), error_description: z.string().optional() });

type FormValues = Record<string, string | readonly string[] | undefined>;

export interface HttpBrokerClientOptions {
  /** The broker's base URL (`BATON_URL`). */
  url: string;
  credentials: ClientCredentials;
  /** Per-request timeout; a broker that does not answer in time is unreachable. */
  timeoutMs?: number;
  now?: () => number;
}

function unreachableReason(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'no answer in time';
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string')
    return cause.code === 'ECONNREFUSED' ? 'connection refused' : cause.code;
  return error instanceof Error ? error.message : String(error);
}

export class HttpBrokerClient implements BrokerClient {
  readonly clientId: string;
  readonly brokerUrl: string;
  readonly #credentials: ClientCredentials;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #metadata: Promise<BrokerMetadata> | undefined;

  constructor(options: HttpBrokerClientOptions) {
    this.brokerUrl = options.url.replace(/\/+$/, '');
    this.clientId = options.credentials.clientId;
    this.#credentials = options.credentials;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** RFC 8414 metadata, fetched once; a failed fetch is retried on the next call. */
  metadata(): Promise<BrokerMetadata> {
    this.#metadata ??= this.#fetchMetadata().catch((error: unknown) => {
      this.#metadata = undefined;
      throw error;
    });
    return this.#metadata;
  }

  async exchange(p: ExchangeParams): Promise<TokenResponse> {
    const form: FormValues = {
      grant_type: GRANT_TOKEN_EXCHANGE,
      subject_token: p.subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: p.audience,
      scope: p.scope,
      expires_in: p.expiresIn === undefined ? undefined : String(p.expiresIn),
    };
    return Token.parse(await this.#post('token_endpoint', form));
  }

  async clientCredentials(p: ClientCredentialsParams = {}): Promise<TokenResponse> {
    const form: FormValues = {
      grant_type: 'client_credentials',
      audience: p.audience,
      scope: p.scope,
      expires_in: p.expiresIn === undefined ? undefined : String(p.expiresIn),
    };
    return Token.parse(await this.#post('token_endpoint', form));
  }

  async introspect(token: string): Promise<Introspection> {
    return (await this.#post('introspection_endpoint', { token })) as Introspection;
  }

  async revoke(token: string): Promise<void> {
    await this.#post('revocation_endpoint', { token });
  }

  async audit(jti: string): Promise<AuditReport | undefined> {
    if (this.#credentials.method !== 'client_secret_basic') {
      throw new BrokerRefused(
        'unsupported_client_auth',
        "the broker's audit API takes a client's HTTP Basic credentials only, and this client uses private_key_jwt",
        400,
      );
    }
    const md = await this.metadata();
    const base = md.baton_audit_endpoint ?? `${md.issuer}/audit/tokens`;
    const auth = await clientAuth(this.#credentials, md.token_endpoint, this.#now());
    const res = await this.#fetch(`${base}/${encodeURIComponent(jti)}`, { headers: auth.headers });
    if (res.status === 404) return undefined;
    return (await this.#json(res)) as AuditReport;
  }

  allowances(): undefined {
    return undefined;
  }

  async approvals(): Promise<ApprovalClient | undefined> {
    const md = await this.metadata();
    if (md.backchannel_authentication_endpoint === undefined) return undefined;
    return {
      start: async (r) => {
        const body = await this.#post('backchannel_authentication_endpoint', {
          login_hint: r.user,
          scope: r.scope,
          audience: r.audience,
          binding_message: r.reason,
        });
        return z
          .object({
            auth_req_id: z.string(),
            expires_in: z.number(),
            interval: z.number().optional(),
          })
          .parse(body);
      },
      poll: async (authReqId): Promise<ApprovalPoll> => {
        try {
          return {
            status: 'approved',
            token: Token.parse(
              await this.#post('token_endpoint', {
                grant_type: GRANT_CIBA,
                auth_req_id: authReqId,
              }),
            ),
          };
        } catch (error) {
          if (error instanceof BrokerRefused && error.error === 'authorization_pending')
            return { status: 'pending' };
          if (error instanceof BrokerRefused && error.error === 'slow_down')
            return { status: 'slow_down' };
          throw error;
        }
      },
    };
  }

  async #fetchMetadata(): Promise<BrokerMetadata> {
    const res = await this.#fetch(`${this.brokerUrl}${METADATA_PATH}`, {});
    const parsed = Metadata.safeParse(await this.#json(res));
    if (!parsed.success) {
      throw new BrokerUnreachable(
        this.brokerUrl,
        `${METADATA_PATH} is not an OAuth authorization server metadata document`,
      );
    }
    return parsed.data as BrokerMetadata;
  }

  /** POSTs an authenticated form to an endpoint named in the metadata. */
  async #post(endpoint: keyof BrokerMetadata & string, values: FormValues): Promise<unknown> {
    const md = await this.metadata();
    const url = md[endpoint];
    if (typeof url !== 'string')
      throw new BrokerRefused('unsupported', `the broker has no ${endpoint}`, 400);
    const auth = await clientAuth(this.#credentials, md.token_endpoint, this.#now());
    const form = new URLSearchParams(auth.form);
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) continue;
      for (const one of typeof value === 'string' ? [value] : value) form.append(key, one);
    }
    const res = await this.#fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        ...auth.headers,
      },
      body: form.toString(),
    });
    return this.#json(res);
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      throw new BrokerUnreachable(this.brokerUrl, unreachableReason(error));
    }
  }

  /** The JSON body of a success, or `BrokerRefused` from an RFC 6749 §5.2 error body. */
  async #json(res: Response): Promise<unknown> {
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.ok && body !== undefined) return body;
    const error = ErrorBody.safeParse(body);
    if (error.success)
      throw new BrokerRefused(error.data.error, error.data.error_description, res.status);
    throw new BrokerRefused(
      'unexpected_response',
      `the broker answered HTTP ${res.status} without an OAuth error body`,
      res.status,
    );
  }
}
