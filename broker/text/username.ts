/**
 * The one rule for what a username looks like, wherever Baton takes one: a policy
 * file's `users[].username`, a CIBA `login_hint`, the MCP `request_approval` user. A
 * name that passes it is plain ASCII that cannot drive a terminal, reorder what a
 * person reads, hide characters or break out of a quoted string, so it is safe to show
 * and to compare. A leaf module (no imports), so config, endpoints and MCP can share it.
 * @module
 */

/** The longest username Baton accepts. */
export const MAX_USERNAME_CHARS = 128;

/**
 * ASCII letters, digits and `. _ @ + -`, 1-128 characters, starting with a letter or
 * digit (so an e-mail address works, and nothing reads as a command-line option).
 */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;

/** The rule in words, for error messages (never with the rejected value in it). */
export const USERNAME_RULE =
  'must be 1-128 characters of ASCII letters, digits and . _ @ + -, starting with a letter or digit';

export function isUsername(value: string): boolean {
  return USERNAME_PATTERN.test(value);
}
