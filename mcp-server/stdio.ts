/**
 * `npx baton-mcp`: Baton's MCP server over stdio for a desktop agent. The agent's
 * client identity comes from its environment (see `stdio-env.ts`); the person it acts
 * for from a configured or kept token, or from `request_approval` when it has none
 * (`stdio-identity.ts`). Exchanged tokens are reused (`token-cache.ts`). stdout carries
 * nothing but the MCP protocol; every log line goes to stderr, and never a token or a
 * secret.
 * @module
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { HttpBrokerClient } from './http-broker-client.js';
import { buildServer } from './server.js';
import { EnvError, parseStdioEnv } from './stdio-env.js';
import { AgentTokenSlot } from './stdio-identity.js';
import { TokenCache } from './token-cache.js';
import { clientCredentialsAgentToken, type ToolDeps } from './tool-deps.js';

const log = (line: string) => process.stderr.write(`[baton-mcp] ${line}\n`);

async function main(): Promise<void> {
  let config;
  try {
    config = parseStdioEnv(process.env);
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    log(`cannot start: bad environment\n${error.message}`);
    process.exit(1);
  }
  const broker = new HttpBrokerClient({ url: config.url, credentials: config.credentials });
  // One agent per process: the cache needs no caller key beyond the client id.
  const tokens = config.tokenCache ? new TokenCache() : undefined;
  let deps: ToolDeps;
  let own: string;
  if (config.ownToken === 'client_credentials') {
    deps = { broker, agentToken: clientCredentialsAgentToken(broker), tokens };
    own = 'client_credentials';
  } else {
    const slot = new AgentTokenSlot({
      configured: config.subjectToken,
      file: config.tokenFile,
      log,
    });
    deps = {
      broker,
      agentToken: slot.current,
      tokens,
      agentTokenRefused: (token) => {
        slot.refused(token);
        tokens?.forgetSubject(token);
      },
      adoptAgentToken: slot.adopt,
    };
    own = slot.source === 'none yet' ? 'none yet (request_approval gets one)' : slot.source;
  }
  const server = buildServer(deps);
  await server.connect(new StdioServerTransport());
  log(
    `serving over stdio as client ${config.credentials.clientId} (${config.credentials.method}) against ${broker.brokerUrl}; ` +
      `own token: ${own}; token cache: ${tokens === undefined ? 'off' : 'on'}`,
  );
  const stop = () => void server.close().finally(() => process.exit(0));
  process.stdin.once('end', stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main().catch((error: unknown) => {
  log(`stopped: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
