/**
 * Console forms are `application/x-www-form-urlencoded` POSTs (what a browser sends). A
 * body of another type is refused before anything reads it; repeated fields (a
 * checkbox per scope) keep every value.
 * @module
 */
import type { Context } from 'hono';

export type ConsoleForm = ReadonlyMap<string, readonly string[]>;

/** The fields of a form post, or undefined when the body is not a urlencoded form. */
export async function readForm(c: Context): Promise<ConsoleForm | undefined> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  const params = new URLSearchParams(await c.req.text());
  const fields = new Map<string, string[]>();
  for (const [k, v] of params) {
    const list = fields.get(k);
    if (list === undefined) fields.set(k, [v]);
    else list.push(v);
  }
  return fields;
}

/** The one value of a field (the first when repeated), or '' when absent. */
export function field(form: ConsoleForm, name: string): string {
  return form.get(name)?.[0] ?? '';
}
