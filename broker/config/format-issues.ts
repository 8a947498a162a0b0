/**
 * Turns zod issues into the one-line-per-problem form start-up prints:
 * `clients.0.client_secret_sha256: must be 64 lowercase hex characters`.
 * @module
 */
import type { z } from 'zod';

export function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const at = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${at || '(root)'}: ${issue.message}`;
    })
    .join('\n');
}

/** A configuration problem found at start: printed as is, exit code 1, no stack. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
