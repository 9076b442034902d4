/**
 * Offline bundles at size: `wharf bundle export` of a repository whose releases hold TOTAL MiB of
 * assets, then `wharf bundle import` of the file into a second instance, each CLI process's peak
 * RSS read from /proc (VmHWM, polled until it exits). Run at two sizes (an eighth of TOTAL, then
 * TOTAL) to show that memory does not grow with the bundle: what grows is time, not RSS.
 * Every imported asset's digest is compared with the exported one.
 *
 * Run: `node --import tsx bench/bundles.ts [totalMiB] [assetMiB]` (default 512 MiB in 64 MiB
 * assets, about a minute on two cores). A 5 GiB bundle: `node --import tsx bench/bundles.ts 5120 512`
 * (needs about 3 × 5 GiB of free disk: A's blobs, the bundle, B's blobs).
 * Results are printed and written to `bench/results/bundles.json`.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cleanupAll, installSignalHandlers } from './lib/cleanup.ts';
import { ADMIN_TOKEN, ROOT, api, createRelease, createRepo, createUser, expectStatus, startWharf, type WharfServer } from './lib/wharf.ts';
import { WorkDir } from './lib/workdir.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const TOTAL_MIB = Number(process.argv[2] ?? 512);
const ASSET_MIB = Math.min(Number(process.argv[3] ?? 64), TOTAL_MIB);
const ASSETS_PER_RELEASE = 4;

/** A file of `mib` MiB that does not repeat (each MiB stamped with the file's seed and its index), and its sha256. */
async function makeFile(file: string, mib: number, seed: number): Promise<string> {
  const base = randomBytes(MiB);
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  for (let i = 0; i < mib; i++) {
    base.writeUInt32BE(seed, 0);
    base.writeUInt32BE(i, 4);
    hash.update(base);
    await handle.write(base);
  }
  await handle.close();
  return hash.digest('hex');
}

function peakKiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Runs the CLI with `env`; resolves with its wall time and peak RSS (MiB), rejects on a non-zero exit. */
function cli(env: Record<string, string>, args: string[]): Promise<{ seconds: number; peakMiB: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/run.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let peak = 0;
    const poll = setInterval(() => (peak = Math.max(peak, peakKiB(child.pid!) ?? 0)), 50);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', () => (peak = Math.max(peak, peakKiB(child.pid!) ?? 0)));
    child.on('close', (code) => {
      clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`wharf ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ seconds, peakMiB: Math.round(peak / 102.4) / 10, stdout });
    });
  });
}

interface Round {
  totalMiB: number;
  assets: number;
  bundleMiB: number;
  exportSeconds: number;
  exportPeakRssMiB: number;
  importSeconds: number;
  importPeakRssMiB: number;
}

async function round(work: WorkDir, label: string, totalMiB: number): Promise<Round> {
  const count = Math.max(1, Math.round(totalMiB / ASSET_MIB));
  const a = await startWharf(work, work.dir(`${label}-a`), { WHARF_MAX_ASSET_SIZE: String(Math.max(ASSET_MIB * MiB, 2048 * MiB)) });
  let b: WharfServer | null = null;
  try {
    const user = await createUser(a, 'bench');
    const repo = await createRepo(a, user, 'bundled');
    const digests = new Map<string, string>();
    for (let r = 0; r * ASSETS_PER_RELEASE < count; r++) {
      const release = await createRelease(a, repo, `v1.${r}.0`, { draft: true });
      for (let i = r * ASSETS_PER_RELEASE; i < Math.min(count, (r + 1) * ASSETS_PER_RELEASE); i++) {
        const file = work.file(`${label}-asset-${i}.bin`);
        digests.set(`asset-${i}.bin`, await makeFile(file, ASSET_MIB, i));
        const url = `${a.uploads}/repos/${repo.full}/releases/${release.id}/assets?name=asset-${i}.bin`;
        await run('curl', ['-sSf', '-X', 'POST', '-o', '/dev/null', '-H', `Authorization: token ${user.token}`, '-H', 'Content-Type: application/octet-stream', '-T', file, url]);
        await run('rm', ['-f', file]);
      }
      await expectStatus('publish', 200, api('PATCH', `${a.api}/repos/${repo.full}/releases/${release.id}`, user.token, { draft: false }));
    }
    const root = await fetch(`${a.base}/.well-known/wharf/trusted-root.json`);
    const rootFile = work.file(`${label}-root.json`);
    await writeFile(rootFile, await root.text());
    await a.stop();

    const bundle = work.file(`${label}.wharf-bundle`);
    const exported = await cli({ WHARF_DATA_DIR: a.dataDir, WHARF_DATABASE_URL: '', WHARF_CONFIG: '' }, ['bundle', 'export', repo.full, '-o', bundle]);
    const bundleMiB = Math.round(((await stat(bundle)).size / MiB) * 10) / 10;

    // B: a new instance (started once so it has its keys), the same owner, trusting A's root.
    b = await startWharf(work, work.dir(`${label}-b`));
    await createUser(b, 'bench');
    await b.stop();
    const envB = { WHARF_DATA_DIR: b.dataDir, WHARF_DATABASE_URL: '', WHARF_CONFIG: '' };
    await cli(envB, ['keys', 'trust', rootFile]);
    const imported = await cli(envB, ['bundle', 'import', bundle]);
    await run('rm', ['-f', bundle]);

    b = await startWharf(work, b.dataDir);
    const releases = await expectStatus<Array<{ assets: Array<{ name: string; digest: string }> }>>(
      'list',
      200,
      api('GET', `${b.api}/repos/${repo.full}/releases?per_page=100`, ADMIN_TOKEN),
    );
    const seen = releases.flatMap((r) => r.assets);
    if (seen.length !== count || seen.some((x) => x.digest !== `sha256:${digests.get(x.name)}`)) throw new Error('the imported assets are not the exported ones');
    return {
      totalMiB: count * ASSET_MIB,
      assets: count,
      bundleMiB,
      exportSeconds: Math.round(exported.seconds * 10) / 10,
      exportPeakRssMiB: exported.peakMiB,
      importSeconds: Math.round(imported.seconds * 10) / 10,
      importPeakRssMiB: imported.peakMiB,
    };
  } finally {
    await b?.stop();
  }
}

async function main(): Promise<void> {
  installSignalHandlers();
  const work = new WorkDir();
  const load = loadavg()[0]!;
  const rounds: Round[] = [];
  for (const [label, size] of [
    ['small', Math.max(ASSET_MIB, Math.round(TOTAL_MIB / 8))],
    ['large', TOTAL_MIB],
  ] as const) {
    const r = await round(work, label, size);
    rounds.push(r);
    console.log(
      `${r.totalMiB} MiB in ${r.assets} assets (bundle ${r.bundleMiB} MiB): export ${r.exportSeconds} s, peak RSS ${r.exportPeakRssMiB} MiB; import ${r.importSeconds} s, peak RSS ${r.importPeakRssMiB} MiB`,
    );
  }
  const result = { date: new Date().toISOString(), load1: Math.round(load * 10) / 10, assetMiB: ASSET_MIB, rounds };
  await writeFile(path.join(ROOT, 'bench/results/bundles.json'), `${JSON.stringify(result, null, 2)}\n`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
