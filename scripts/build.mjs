// Compiles src/ to dist/ (tsc, see tsconfig.build.json) and copies the files the code reads at
// run time (the web pages' static assets). Plain JavaScript so that it runs without tsx.
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
cpSync(new URL('../src/web/static', import.meta.url), new URL('../dist/web/static', import.meta.url), { recursive: true });
