#!/usr/bin/env node
// `baton` / `npx baton`: loads the TypeScript CLI through tsx, so there is no build step.
// It may run from any folder (after `npm link`, through a symlink): the code and the
// tsconfig are found next to this file, never in the folder the operator is in.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../broker/cli.ts');
