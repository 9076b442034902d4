// Starts the compiled build (`node dist/main.js`, what `npm start` runs) on a throw-away data
// directory, checks that the API, the web pages and their static files answer, and stops it.
// CI runs it after `npm ci` has built dist/; exit code 0 means the build is usable.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dataDir = mkdtempSync(path.join(tmpdir(), 'wharf-smoke-'));
const root = new URL('..', import.meta.url);
const child = spawn(process.execPath, ['dist/main.js'], {
  cwd: root,
  env: { ...process.env, WHARF_DATA_DIR: dataDir, WHARF_PORT: '0', WHARF_LOG_LEVEL: 'info' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
const base = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no start-up line within 60 s:\n${out}`)), 60_000);
  child.stdout.on('data', (d) => {
    out += d;
    const m = /"address":"(http:\/\/[^"]+)"[^\n]*"msg":"wharf is serving"/.exec(out);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
  child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
});
let failed = false;
for (const [url, want] of [
  [`${base}/api/v3/meta`, 200],
  [`${base}/`, 200],
  [`${base}/static/wharf.css`, 200],
  [`${base}/healthz`, 200],
  [`${base}/readyz`, 200],
]) {
  const res = await fetch(url);
  const ok = res.status === want;
  failed ||= !ok;
  console.log(`${ok ? 'ok ' : 'BAD'} ${res.status} ${url.slice(base.length)}`);
}
child.kill('SIGTERM');
await new Promise((resolve) => child.on('exit', resolve));
rmSync(dataDir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
