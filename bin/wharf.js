#!/usr/bin/env node
// The `wharf` command. TypeScript sources are loaded through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv);
