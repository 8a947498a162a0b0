/**
 * Usernames match case-insensitively (issue 10 point 7): an agent that asks for `Alice`
 * means the policy's `alice`, and a request that named her in another case used to wait
 * forever while the CLI said "Approved" and the agent was then refused. The policy
 * refuses usernames that differ only in case (config/policy.ts), so at most one user
 * matches and this lookup is unambiguous. Pure: no I/O.
 * @module
 */

/** The policy's own spelling of `name`, matched case-insensitively, or undefined. */
export function policyUsername(
  users: ReadonlyMap<string, unknown>,
  name: string,
): string | undefined {
  // The exact spelling is the common case and costs one hash lookup.
  if (users.has(name)) return name;
  const wanted = name.toLowerCase();
  for (const username of users.keys()) if (username.toLowerCase() === wanted) return username;
  return undefined;
}
