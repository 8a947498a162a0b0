/**
 * OpenID CIBA §7.1 `binding_message`: a short reason the person reads before deciding.
 * It is optional; when sent it must be plain, printable text of at most 100 characters,
 * without control, format (bidi overrides, zero-width) or line-separator characters, so
 * an agent cannot disguise or reorder what a person is shown. Otherwise the answer is
 * `invalid_binding_message` (CIBA §13).
 * @module
 */
import { refuse, type Checked } from './refusal.js';

export const MAX_BINDING_MESSAGE_CHARS = 100;

/** Control (Cc), format (Cf), surrogate, private-use, unassigned, line/paragraph separators. */
const UNPRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/u;

/** Returns the message unchanged (or undefined when none was sent). */
export function checkBindingMessage(message: string | undefined): Checked<string | undefined> {
  if (message === undefined) return { ok: undefined };
  if ([...message].length > MAX_BINDING_MESSAGE_CHARS) {
    return refuse(
      'binding_message_invalid',
      `binding_message must be at most ${MAX_BINDING_MESSAGE_CHARS} characters`,
    );
  }
  if (UNPRINTABLE.test(message)) {
    return refuse(
      'binding_message_invalid',
      'binding_message must be printable text without control characters',
    );
  }
  if (message.trim() === '')
    return refuse('binding_message_invalid', 'binding_message must not be blank');
  return { ok: message };
}
