/**
 * `/metrics` (SPEC §10) in the Prometheus text format, through prom-client with a
 * Registry of its own per broker (never the global one), so several brokers in one
 * process (the tests) keep separate counts.
 *
 * The hot path pays one counter increment and one histogram observation per request, on
 * label children looked up once per endpoint and status and then reused: no label object
 * is built per request. Ledger size and pending approvals cost a query only when scraped.
 *
 * Labels hold only bounded values: the route pattern that matched (`/audit/tokens/:jti`,
 * never the raw path), the HTTP status, a registered grant type (else `other`), an OAuth
 * error code and a typed refusal reason. Never a client id, a token or any caller text.
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/store.js';

/** Seconds: the token endpoint answers in about a millisecond; a slow database shows up. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

interface EndpointChildren {
  duration: { observe(seconds: number): void };
  statuses: Map<number, { inc(): void }>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: 'baton_http_requests_total',
    help: 'HTTP requests answered, by route and status.',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: 'baton_http_request_duration_seconds',
    help: 'Time from receiving a request to its response, by route.',
    labelNames: ['endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly #refusals = new Counter({
    name: 'baton_refusals_total',
    help: 'Requests refused with an OAuth error, by route, grant, error code and reason (CIBA "not yet" answers excluded).',
    labelNames: ['endpoint', 'grant', 'error', 'reason'] as const,
    registers: [this.registry],
  });
  readonly #tokens = new Gauge({
    name: 'baton_ledger_tokens',
    help: 'Tokens in the ledger.',
    registers: [this.registry],
  });
  readonly #refusalRows = new Gauge({
    name: 'baton_ledger_refusals',
    help: 'Refused exchanges in the ledger.',
    registers: [this.registry],
  });
  readonly #pending = new Gauge({
    name: 'baton_pending_approvals',
    help: 'CIBA approval requests waiting for a person, not yet expired.',
    registers: [this.registry],
  });
  readonly #endpoints = new Map<string, EndpointChildren>();
  readonly #refusalChildren = new Map<string, { inc(): void }>();

  constructor(
    readonly store: Store,
    readonly now: () => number,
  ) {}

  /** Adds Node's process metrics (CPU, memory, event-loop lag): for a real broker only. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry, prefix: 'baton_' });
  }

  /** One answered request. */
  observe(endpoint: string, status: number, seconds: number): void {
    let children = this.#endpoints.get(endpoint);
    if (children === undefined) {
      children = { duration: this.#duration.labels(endpoint), statuses: new Map() };
      this.#endpoints.set(endpoint, children);
    }
    let counter = children.statuses.get(status);
    if (counter === undefined) {
      counter = this.#requests.labels(endpoint, String(status));
      children.statuses.set(status, counter);
    }
    counter.inc();
    children.duration.observe(seconds);
  }

  /** One refusal: an OAuth error answer. */
  refused(endpoint: string, grant: string, error: string, reason: string): void {
    const key = `${endpoint}\n${grant}\n${error}\n${reason}`;
    let counter = this.#refusalChildren.get(key);
    if (counter === undefined) {
      counter = this.#refusals.labels(endpoint, grant, error, reason);
      this.#refusalChildren.set(key, counter);
    }
    counter.inc();
  }

  /** The exposition text, with the ledger gauges read now. */
  async text(): Promise<string> {
    const stats = await this.store.stats(this.now());
    this.#tokens.set(stats.tokens);
    this.#refusalRows.set(stats.refusals);
    this.#pending.set(stats.pendingApprovals);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
