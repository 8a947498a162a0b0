/**
 * SPEC §4 rule 5 — the audience only narrows to what policy allows. `audience` and/or
 * `resource` (RFC 8693 §2.1, RFC 8707) is required; each value must be on the actor's
 * allow-list; the issued `aud` is exactly the requested values, nothing added.
 * A refusal quotes the refused values through `inputText`/`inputList`: wire-safe, bounded.
 * @module
 */
import { inputList, inputText } from '../text/show.js';
import { refuse, type Checked } from './refusal.js';

export interface NarrowAudienceInput {
  audience: readonly string[];
  resource: readonly string[];
  allowed: ReadonlySet<string>;
}

/** RFC 8707 §2: a resource is an absolute URI without a fragment. */
function isResourceUri(value: string): boolean {
  if (!URL.canParse(value)) return false;
  return !value.includes('#');
}

export function narrowAudience({
  audience,
  resource,
  allowed,
}: NarrowAudienceInput): Checked<string[]> {
  if (audience.length === 0 && resource.length === 0) {
    return refuse('audience_missing', 'audience or resource is required');
  }
  const badResource = resource.find((r) => !isResourceUri(r));
  if (badResource !== undefined) {
    return refuse(
      'resource_invalid',
      `resource must be an absolute URI without a fragment: ${inputText(badResource)}`,
    );
  }
  const requested = [...new Set([...audience, ...resource])];
  const outside = requested.filter((a) => !allowed.has(a));
  if (outside.length > 0) {
    return refuse(
      'audience_not_allowed',
      `audience not allowed: ${inputList(outside)} (may ask for: ${[...allowed].join(' ') || 'nothing'})`,
    );
  }
  return { ok: requested };
}
