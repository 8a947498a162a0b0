#!/usr/bin/env node
// `npx baton-mcp`: Baton's MCP server over stdio. Only protocol goes to stdout.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// The clone's tsconfig, wherever the agent's MCP client starts this from.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../mcp-server/stdio.ts');
