#!/usr/bin/env node
// `npx baton-mcp`: Baton's MCP server over stdio. Only protocol goes to stdout.
import { register } from 'tsx/esm/api';

register();
await import('../mcp-server/stdio.ts');
