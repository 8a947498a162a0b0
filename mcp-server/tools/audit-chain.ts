/**
 * `audit_chain` (SPEC §7): the delegation tree around a token from the ledger (SPEC §5):
 * its chain up to the root, everything exchanged from it, and the refused exchanges,
 * as the readable tree `npx baton audit` prints plus the audit API's JSON. An agent sees
 * only tokens it is involved in (its client or one of its actors).
 *
 * A report holds words other agents wrote: what a refused agent asked for (and Baton's
 * description of it, which quotes that), an approval's reason. A model reading this
 * result must never take them for instructions, so in the text and in the JSON alike
 * each comes framed by `agentWritten` with the agent that wrote it.
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import { renderAuditTree } from '../../broker/audit-tree.js';
import type { AuditReport } from '../../broker/services/audit-report.js';
import { agentWritten } from '../../broker/text/show.js';
import { guard, ok, toolError } from '../results.js';
import type { ToolDeps } from '../tool-deps.js';
import { Token } from './fields.js';

const Entry = z.looseObject({ jti: z.string() });

function jtiOf(token: string): string | undefined {
  try {
    const { jti } = decodeJwt(token);
    return typeof jti === 'string' && jti !== '' && jti.length <= 200 ? jti : undefined;
  } catch {
    return undefined;
  }
}

/** Frames one agent-written value of `requested` (a string or a list of them). */
function framed(author: string, value: unknown): unknown {
  if (typeof value === 'string') return agentWritten(author, value);
  if (Array.isArray(value)) return value.map((v) => framed(author, v));
  return value;
}

/** The report with every agent-written string framed; everything else as the ledger has it. */
export function frameAgentText(report: AuditReport): AuditReport {
  return {
    ...report,
    refusals: report.refusals.map((r) => ({
      ...r,
      error_description: agentWritten(r.client_id, r.error_description),
      requested: Object.fromEntries(
        Object.entries(r.requested).map(([k, v]) => [k, framed(r.client_id, v)]),
      ),
    })),
    approval:
      report.approval === null || report.approval.reason === null
        ? report.approval
        : {
            ...report.approval,
            reason: agentWritten(report.approval.client_id, report.approval.reason),
          },
  };
}

export function registerAuditChainTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'audit_chain',
    {
      title: 'Audit a delegation chain',
      description:
        'Show the delegation tree around a token: who delegated what to whom, when, with which scope and audience, which tokens are revoked, and which exchanges were refused. ' +
        'Give either the token or its jti.',
      inputSchema: {
        token: Token.optional().describe(
          'The token to audit (a JWT from Baton). Give this or jti.',
        ),
        jti: z
          .string()
          .min(1)
          .max(200)
          .optional()
          .describe(
            'The ledger id (jti) of the token to audit, e.g. from get_task_token. Give this or token.',
          ),
      },
      outputSchema: {
        jti: z.string().describe('The audited token.'),
        tree: z.string().describe('The tree as text.'),
        report: z
          .looseObject({
            token: Entry,
            chain: z.array(Entry).describe('Root first, the audited token last.'),
            descendants: Entry.describe('The audited token with nested children.'),
            refusals: z.array(z.looseObject({ error: z.string() })),
          })
          .describe('The audit API JSON.'),
      },
      annotations: { title: 'Audit a delegation chain', readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      guard('read the audit trail', deps.broker, async () => {
        if ((args.token === undefined) === (args.jti === undefined))
          return toolError('Give exactly one of token or jti.');
        const jti = args.jti ?? jtiOf(args.token!);
        if (jti === undefined)
          return toolError('That token is not a JWT with a jti, so Baton cannot have issued it.');
        const report = await deps.broker.audit(jti);
        if (report === undefined) {
          return toolError(
            `No token ${jti} that you ("${deps.broker.clientId}") are involved in is in Baton's ledger.`,
          );
        }
        const tree = renderAuditTree(report, Math.floor((deps.clock ?? Date.now)() / 1000), {
          agentText: agentWritten,
        });
        return ok(tree, { jti, tree, report: frameAgentText(report) });
      }),
  );
}
