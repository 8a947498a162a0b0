/**
 * What one request may leave in the refusal ledger (SPEC §5, issue 9 points 2 and 8):
 * at most one row, of at most `MAX_REFUSAL_ROW_CHARS` characters in all, every one of
 * them printable ASCII, whatever was sent. The row keeps the typed reason and a capped,
 * sanitised record of what was asked, so neither a flood of large requests nor planted
 * escape codes reach the database, and from there a terminal or a model.
 */
import type { TestBroker } from '../helpers.js';
import { PropertyBroken, type Answer } from './oracle.js';

/** A refusal row, all its text columns together, stays under this many characters. */
export const MAX_REFUSAL_ROW_CHARS = 4096;

const PRINTABLE_ASCII = /^[\x20-\x7E]*$/;

/** The id of the newest refusal row (0 when there is none). */
export function refusalMark(b: TestBroker): number {
  return (
    b.store.sqlite.prepare('SELECT coalesce(max(id), 0) AS id FROM refusals').get() as {
      id: number;
    }
  ).id;
}

/** Checks the refusal rows written since `mark` for the request that got `answer`. */
export function checkRefusalsSince(b: TestBroker, mark: number, answer: Answer): void {
  const rows = b.store.sqlite
    .prepare(
      `SELECT client_id, grant_type, coalesce(subject_jti, '') AS subject_jti, error,
              coalesce(reason, '') AS reason, error_description, requested
       FROM refusals WHERE id > ?`,
    )
    .all(mark) as Record<string, string>[];
  if (rows.length > 1)
    throw new PropertyBroken(
      `one request files at most one refusal (filed ${rows.length})`,
      answer,
    );
  for (const row of rows) {
    const text = Object.values(row).join('');
    if (text.length > MAX_REFUSAL_ROW_CHARS) {
      throw new PropertyBroken(
        `a refusal row is under ${MAX_REFUSAL_ROW_CHARS} characters (got ${text.length})`,
        answer,
      );
    }
    const dirty = Object.entries(row).find(([, v]) => !PRINTABLE_ASCII.test(v));
    if (dirty !== undefined) {
      throw new PropertyBroken(
        `a refusal row is printable ASCII (${dirty[0]}: ${JSON.stringify(dirty[1].slice(0, 200))})`,
        answer,
      );
    }
  }
}
