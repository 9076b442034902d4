/**
 * @module bench/lib/prism
 * The stand-in a user might pick instead of Wharf for tests: Stoplight Prism mocking GitHub's
 * GHES OpenAPI description. It is optional: without it the table says so instead of a number.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startChild, waitFor, type Child } from './child.ts';
import { freePort } from './nginx.ts';
import { ROOT } from './wharf.ts';
import type { WorkDir } from './workdir.ts';

export const PRISM_NOT_INSTALLED = 'not run: Stoplight Prism is not installed (npm install --no-save @stoplight/prism-cli to include it)';

export function findPrism(): string | null {
  const candidates = [path.join(ROOT, 'node_modules/.bin/prism'), ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'prism'))];
  return candidates.find((c) => c && existsSync(c)) ?? null;
}

/** The newest GHES description in @octokit/openapi, the one the test suite validates against. */
function ghesSpec(): string {
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve('@octokit/openapi/package.json')), 'generated');
  const files = readdirSync(dir).filter((f) => /^ghes-\d+\.\d+\.json$/.test(f));
  const version = (f: string) =>
    f
      .match(/(\d+)\.(\d+)/)!
      .slice(1)
      .map(Number) as [number, number];
  files.sort((a, b) => version(a)[0] - version(b)[0] || version(a)[1] - version(b)[1]);
  return path.join(dir, files[files.length - 1]!);
}

export interface PrismServer {
  child: Child;
  base: string;
  stop(): Promise<void>;
}

export async function startPrism(binary: string, work: WorkDir): Promise<PrismServer> {
  const port = await freePort();
  const child = startChild('prism', binary, ['mock', '-h', '127.0.0.1', '-p', String(port), ghesSpec()], { logFile: work.file('prism.log') });
  const base = `http://127.0.0.1:${port}`;
  // Prism compiles the whole description before listening; that takes a while.
  await waitFor(
    child,
    'listening',
    async () => {
      try {
        await (await fetch(`${base}/meta`)).arrayBuffer();
        return true;
      } catch {
        return null;
      }
    },
    180_000,
  );
  return { child, base, stop: () => child.stop() };
}
