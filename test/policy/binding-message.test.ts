/** OpenID CIBA §7.1/§13: a binding message is short, printable text, or absent. */
import { describe, expect, it } from 'vitest';
import { checkBindingMessage } from '../../broker/policy/binding-message.js';

const TOO_LONG = {
  refused: 'binding_message_invalid',
  message: 'binding_message must be at most 100 characters',
};
const UNPRINTABLE = {
  refused: 'binding_message_invalid',
  message: 'binding_message must be printable text without control characters',
};

describe('checkBindingMessage', () => {
  it('accepts no message at all', () => {
    expect(checkBindingMessage(undefined)).toEqual({ ok: undefined });
  });

  it('accepts plain text up to 100 characters, counting characters rather than UTF-16 units', () => {
    expect(checkBindingMessage('Book the Lisbon flight, €240 max — ok?')).toEqual({
      ok: 'Book the Lisbon flight, €240 max — ok?',
    });
    expect(checkBindingMessage('✈'.repeat(100))).toEqual({ ok: '✈'.repeat(100) });
    expect(checkBindingMessage('😀'.repeat(100))).toEqual({ ok: '😀'.repeat(100) });
  });

  it('refuses more than 100 characters', () => {
    expect(checkBindingMessage('a'.repeat(101))).toEqual(TOO_LONG);
  });

  it.each([
    ['a newline', 'one\ntwo'],
    ['a tab', 'one\ttwo'],
    ['a NUL', 'one\u0000'],
    ['an ANSI escape', '\u001b[31mred'],
    ['DEL', 'one\u007f'],
    ['a C1 control', 'one\u0085two'],
    ['a right-to-left override', 'pay \u202e001$'],
    ['a zero-width space', 'ap\u200bprove'],
    ['a line separator', 'one\u2028two'],
    ['a lone surrogate', 'one\ud800'],
  ])('refuses %s', (_name, message) => {
    expect(checkBindingMessage(message)).toEqual(UNPRINTABLE);
  });

  it('refuses a message of spaces only', () => {
    expect(checkBindingMessage('   ')).toEqual({
      refused: 'binding_message_invalid',
      message: 'binding_message must not be blank',
    });
  });
});
