/**
 * The MCP servers behind `/mcp`, built once and reused instead of once per request.
 *
 * Two rules of the SDK (checked in @modelcontextprotocol/sdk 1.32) shape this: a
 * stateless Streamable HTTP transport serves exactly one request ("Create a new
 * transport per request", to keep JSON-RPC ids of different clients apart), and an
 * `McpServer` is connected to one transport at a time. So each request still gets its
 * own transport, but the server (tool registration, schemas) comes from a pool: a
 * request borrows an idle server, connects its transport, and gives the server back
 * once every JSON-RPC request it carried has been answered. With requests one after
 * another that is a single server for the broker's life; under concurrency, as many
 * as run at once, and at most `maxIdle` are kept afterwards.
 *
 * Servers hold no caller: the tools resolve who they act for from the request's own
 * context (`asCaller` in `tool-deps.ts`), so a reused server cannot carry one caller's
 * identity into another's request. An `initialize` request leaves the client's
 * capabilities and version on the server it ran on, so that server is not reused:
 * initialization happens once per client connection, the calls that follow are what
 * reuse pays off for.
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
} from '@modelcontextprotocol/sdk/types.js';

export class McpServerPool {
  readonly #idle: McpServer[] = [];
  #built = 0;

  constructor(
    readonly build: () => McpServer,
    /** Idle servers kept after a burst of concurrent requests. */
    readonly maxIdle = 8,
  ) {}

  /** How many servers this pool has built so far. */
  get built(): number {
    return this.#built;
  }

  /** Serves one HTTP request on a fresh stateless transport and a pooled server. */
  async handle(request: Request, authInfo: AuthInfo): Promise<Response> {
    const server = this.#idle.pop() ?? this.#build();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
    });
    await server.connect(transport);
    const done = whenAnswered(transport, (reusable) => void this.#giveBack(server, reusable));
    try {
      return await transport.handleRequest(request, { authInfo });
    } finally {
      done.handed();
    }
  }

  #build(): McpServer {
    this.#built++;
    return this.build();
  }

  /** Closing drops the transport (the server then accepts a new one); a server that fails to close is dropped. */
  async #giveBack(server: McpServer, reusable: boolean): Promise<void> {
    try {
      await server.close();
    } catch {
      return;
    }
    if (reusable && this.#idle.length < this.maxIdle) this.#idle.push(server);
  }
}

/**
 * Calls `onDone` once the transport's HTTP response has been handed out and every
 * JSON-RPC request it received has been answered (or the answer failed to send, when
 * the client went away), saying whether the server stayed free of per-client state.
 * Counting starts after `connect`, which installs the protocol's own `onmessage`.
 */
function whenAnswered(
  transport: WebStandardStreamableHTTPServerTransport,
  onDone: (reusable: boolean) => void,
): { handed(): void } {
  let open = 0;
  let initialized = false;
  let handed = false;
  let finished = false;
  const check = () => {
    if (finished || !handed || open > 0) return;
    finished = true;
    onDone(!initialized);
  };
  const receive = transport.onmessage!;
  transport.onmessage = (message, extra) => {
    if (isJSONRPCRequest(message)) open++;
    if (isInitializeRequest(message)) initialized = true;
    receive(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message, options) => {
    try {
      await send(message, options);
    } finally {
      if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
        open--;
        check();
      }
    }
  };
  return {
    handed() {
      handed = true;
      check();
    },
  };
}
