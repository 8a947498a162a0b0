/** @jsxImportSource hono/jsx */
/**
 * The console's own error pages: a person gets a readable page with a way back, never the
 * OAuth JSON the API answers with. `consoleErrors` replaces whatever the app's `onError`
 * wrote (it has already logged the failure) for any request under `/console`.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import { Layout, Notice, render } from './layout.js';

export function errorPage(c: Context, status: number, title: string, message: string) {
  return render(
    c,
    <Layout title={title}>
      <Notice kind="problem">{message}</Notice>
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </Layout>,
    status,
  );
}

export const consoleErrors: MiddlewareHandler = async (c, next) => {
  await next();
  if (c.error === undefined) return;
  const status = c.res.status >= 400 && c.res.status < 500 ? c.res.status : 500;
  c.res = undefined;
  c.res = await errorPage(
    c,
    status,
    status === 500 ? 'Something went wrong' : 'That did not work',
    'The console could not complete that request. Try again; if it keeps failing, the broker log says why.',
  );
};
