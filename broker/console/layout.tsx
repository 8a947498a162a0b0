/** @jsxImportSource hono/jsx */
/**
 * The frame of every console page: one `<h1>`, the console's own stylesheet (no inline
 * style or script, so the CSP needs no `unsafe-inline`), a viewport for phones, and, when
 * signed in, the navigation and a `Sign out` button (a POST form with its CSRF token).
 * `render` answers with the page as HTML; text an agent wrote is passed through
 * `text/show.ts` `forPage` by the pages before it gets here, and JSX escapes the markup.
 * @module
 */
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { ConsoleSession } from '../store/store.js';
import { forPage } from '../text/show.js';
import { CSRF_FIELD, csrfToken } from './session.js';

export interface LayoutProps {
  title: string;
  session?: ConsoleSession | undefined;
  /** Loads `/console/refresh.js` (the approvals page). */
  refresh?: boolean;
  /** What `refresh.js` compares with `/console/approvals/stamp`. */
  stamp?: string | undefined;
  children?: Child;
}

/** The hidden CSRF field every form carries. */
export function Csrf(props: { secret: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={csrfToken(props.secret)} />;
}

function Nav(props: { session: ConsoleSession }) {
  const s = props.session;
  return (
    <header>
      <nav aria-label="Console">
        <span class="brand">Baton</span>
        {s.role === 'user' ? (
          <>
            <a href="/console/approvals">Approvals</a>
            <a href="/console/chains">What acts for me</a>
          </>
        ) : (
          <a href="/console/audit">Audit</a>
        )}
        <form method="post" action="/console/sign-out" class="inline">
          <Csrf secret={s.csrfSecret} />
          <span class="who">{s.role === 'user' ? s.username : 'operator'}</span>
          <button type="submit">Sign out</button>
        </form>
      </nav>
    </header>
  );
}

export function Layout(props: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Baton`}</title>
        <link rel="stylesheet" href="/console/style.css" />
        {props.refresh ? <script src="/console/refresh.js" defer></script> : null}
      </head>
      <body data-stamp={props.stamp}>
        {props.session ? <Nav session={props.session} /> : null}
        <main>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** Answers with a whole page. */
export function render(c: Context, page: unknown, status = 200): Response | Promise<Response> {
  return c.html(html`<!DOCTYPE html>${page}`, status as 200);
}

/** A notice above a page's content: `role="status"` for news, `role="alert"` for problems. */
export function Notice(props: { kind: 'ok' | 'problem'; children?: Child }) {
  return (
    <p class={`notice ${props.kind}`} role={props.kind === 'ok' ? 'status' : 'alert'}>
      {props.children}
    </p>
  );
}

/** Unix seconds as a UTC time a person reads. */
export function when(seconds: number): string {
  return new Date(seconds * 1000)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace('T', ' ');
}

/** How long until `at`, in words ("4 min 30 s"); "expired" once past. */
export function timeLeft(at: number, now: number): string {
  const s = at - now;
  if (s <= 0) return 'expired';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${sec} s`;
  return `${sec} s`;
}

/**
 * A person's choice of scopes (SPEC §3a, §8): one checkbox per scope, labelled with it and
 * checked; unticking one grants less. The scope is an agent's text, shown inert.
 */
export function ScopeChoice(props: {
  legend: string;
  /** The form field each ticked scope is sent as. */
  name: string;
  /** Prefix of the checkbox ids, unique on the page. */
  idPrefix: string;
  scopes: readonly string[];
}) {
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {props.scopes.map((scope, j) => (
        <div class="check">
          <input
            type="checkbox"
            id={`${props.idPrefix}s${j}`}
            name={props.name}
            value={scope}
            checked
          />
          <label for={`${props.idPrefix}s${j}`}>{forPage(scope, 200)}</label>
        </div>
      ))}
    </fieldset>
  );
}
