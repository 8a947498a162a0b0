/**
 * Turns zod issues into the one-line-per-problem form start-up prints:
 * `clients.0.client_secret_sha256: must be 64 lowercase hex characters`.
 * @module
 */
import type { z } from 'zod';

export function formatIssues(error: z.ZodError, prefix = ''): string {
  const at = (path: PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join('.') || '(root)';
  return error.issues
    .flatMap((issue) =>
      // A typo'd key is named where it stands: `clients.1.scope: unknown key`.
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => `${at([...issue.path, key])}: unknown key`)
        : [`${at(issue.path)}: ${issue.message}`],
    )
    .join('\n');
}

/** A configuration problem found at start: printed as is, exit code 1, no stack. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
