#!/usr/bin/env node
// `npx baton`: loads the TypeScript CLI through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

register();
await import('../broker/cli.ts');
