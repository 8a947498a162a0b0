/**
 * What one request may leave in the refusal ledger (SPEC §5, issue 9 points 2 and 8):
 * at most one row, of at most `MAX_REFUSAL_ROW_CHARS` characters in all, every one of
 * them printable ASCII, whatever was sent. The row keeps the typed reason and a capped,
 * sanitised record of what was asked, so neither a flood of large requests nor planted
 * escape codes reach the database, and from there a terminal or a model.
 */
import { ledgerRefusals, type TestBroker } from '../helpers.js';
import { PropertyBroken, type Answer } from './oracle.js';

/** A refusal row, all its text columns together, stays under this many characters. */
export const MAX_REFUSAL_ROW_CHARS = 4096;

const PRINTABLE_ASCII = /^[\x20-\x7E]*$/;

/** How many refusal rows the ledger holds (a mark to find the ones a request adds). */
export async function refusalMark(b: TestBroker): Promise<number> {
  return (await b.store.stats(b.clock.now)).refusals;
}

/**
 * Checks the refusal rows written since `mark` for the request that got `answer`, read
 * through the Store (oldest first; fuzzing only adds rows), each text column as stored.
 */
export async function checkRefusalsSince(
  b: TestBroker,
  mark: number,
  answer: Answer,
): Promise<void> {
  const rows = (await ledgerRefusals(b.store)).slice(mark).map((r) => ({
    client_id: r.clientId,
    grant_type: r.grantType,
    subject_jti: r.subjectJti ?? '',
    error: r.error,
    reason: r.reason ?? '',
    error_description: r.errorDescription,
    requested: JSON.stringify(r.requested),
  }));
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
