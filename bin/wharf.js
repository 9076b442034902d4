#!/usr/bin/env node
// The `wharf` command: the compiled build (`npm run build`, which `npm install` runs); in a
// checkout without one, the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/run.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/run.ts');
}
