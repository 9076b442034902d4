// `npm run lint`: ESLint (type-aware), the Prettier check and the layering check of src/. They are
// independent, so they run at once: ESLint spends most of its time building the TypeScript
// program on one core, and the two checks fit beside it instead of after it (the sequential run
// took about 50 s on 2 cores, most of CI's budget for it). Each one's output is printed whole
// when it ends, so their lines never interleave; the exit code is the first failure's.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url);
// A package's own bin file (not every package exports it, so found beside its package.json).
const bin = (pkg, file) => path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);

const checks = [
  ['eslint', [bin('eslint', 'bin/eslint.js'), '--max-warnings', '0', '.']],
  ['prettier', [bin('prettier', 'bin/prettier.cjs'), '--check', '**/*.{ts,js,mjs}']],
  ['layers', ['--import', 'tsx', 'scripts/check-layers.ts']],
];

function run([name, args]) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', (err) => output.push(Buffer.from(`${err.message}\n`)));
    child.on('close', (code, signal) => {
      process.stdout.write(`> ${name}\n${Buffer.concat(output).toString()}`);
      if (code !== 0) process.stdout.write(`${name} failed (${signal ?? `exit ${code}`})\n`);
      resolve(code === 0 ? 0 : 1);
    });
  });
}

const codes = await Promise.all(checks.map(run));
process.exitCode = codes.find((code) => code !== 0) ?? 0;
