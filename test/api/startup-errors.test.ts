/**
 * Every invalid or unusable setting ends a real `wharf` process with exit code 2 and one line on
 * stderr naming the setting, its value and what would work — no stack trace, and quickly (the
 * bound here only catches hangs such as the old spin on WHARF_DATA_DIR=/proc/x; the figure on an
 * idle machine is in docs/operations.md).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa } from '../support/tls.ts';
import { wharfArgs } from '../support/wharf-command.ts';

// A bad setting must end the process, not leave it hanging (retrying a connection forever). The
// bound is far above a start-up's time: through tsx at load 13 on two cores one took over 15 s.
const HANG_BOUND_MS = 50_000;
let dir: string;
let occupied: Server;
let occupiedPort: number;
let certFile: string;
let otherKeyFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'wharf-startup-'));
  await writeFile(path.join(dir, 'a-file'), 'not a directory');
  await writeFile(path.join(dir, 'garbage.pem'), 'not a certificate');
  await writeFile(path.join(dir, 'bad.toml'), 'port = = 1');
  // An instance key file a node created and never wrote (it stopped at once).
  await writeFile(path.join(dir, 'empty.key'), '');
  occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  occupiedPort = (occupied.address() as { port: number }).port;
  const [one, two] = await Promise.all([createTestCa(), createTestCa()]);
  certFile = one.certFile;
  otherKeyFile = two.keyFile;
});
afterAll(async () => {
  occupied.close();
  await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function startWharf(env: Record<string, string>): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, wharfArgs('server'), {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, WHARF_DATA_DIR: path.join(dir, 'data'), WHARF_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), HANG_BOUND_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function expectConfigError(outcome: Outcome, line: RegExp): void {
  expect(outcome.code, outcome.stderr + outcome.stdout).toBe(2);
  expect(outcome.stdout).toBe('');
  const lines = outcome.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(outcome.stderr).not.toMatch(/\n\s+at /);
  expect(outcome.ms).toBeLessThan(HANG_BOUND_MS);
}

describe('start-up with a bad setting', () => {
  const cases: [string, () => Record<string, string>, RegExp][] = [
    ['a port out of range', () => ({ WHARF_PORT: '99999' }), /^wharf: WHARF_PORT="99999": use a whole number from 0 to 65535$/],
    ['a port that is not a number', () => ({ WHARF_PORT: 'http' }), /^wharf: WHARF_PORT="http": use a whole number/],
    ['an unknown database URL scheme', () => ({ WHARF_DATABASE_URL: 'nonsense://x' }), /^wharf: WHARF_DATABASE_URL="nonsense:\/\/x": use sqlite:<path> or postgres:\/\//],
    ['an unknown log level', () => ({ WHARF_LOG_LEVEL: 'verbose' }), /^wharf: WHARF_LOG_LEVEL="verbose": use one of fatal, error, warn, info, debug, trace, silent$/],
    ['a boolean that is not one', () => ({ WHARF_RATE_LIMIT: 'maybe' }), /^wharf: WHARF_RATE_LIMIT="maybe": use true or false$/],
    ['an external URL of another scheme', () => ({ WHARF_EXTERNAL_URL: 'ftp://x' }), /^wharf: WHARF_EXTERNAL_URL="ftp:\/\/x": use a http or https URL/],
    ['an empty resident git pool', () => ({ WHARF_GIT_MAX_RESIDENTS: '0' }), /^wharf: WHARF_GIT_MAX_RESIDENTS="0": use a whole number from 1 to 1024$/],
    [
      'a resident git idle time that is not a number',
      () => ({ WHARF_GIT_RESIDENT_IDLE_MS: '15s' }),
      /^wharf: WHARF_GIT_RESIDENT_IDLE_MS="15s": use a whole number of at least 100$/,
    ],
    [
      'an instance key file that holds no complete key',
      () => ({ WHARF_INSTANCE_KEY_FILE: path.join(dir, 'empty.key') }),
      /^wharf: WHARF_INSTANCE_KEY_FILE=".*empty\.key": .*empty\.key holds no complete key \(0 of 32 bytes\)/,
    ],
    ['an unknown blob store', () => ({ WHARF_BLOB_STORE: 'tape' }), /^wharf: WHARF_BLOB_STORE="tape": use one of fs, s3$/],
    ['a config file that is not TOML', () => ({ WHARF_CONFIG: path.join(dir, 'bad.toml') }), /^wharf: WHARF_CONFIG=".*bad\.toml": not valid TOML/],
    ['a TLS certificate without its key', () => ({ WHARF_TLS_CERT: certFile }), /^wharf: WHARF_TLS_KEY: missing while WHARF_TLS_CERT is set; give both/],
    [
      'a TLS certificate that does not exist',
      () => ({ WHARF_TLS_CERT: path.join(dir, 'nope.pem'), WHARF_TLS_KEY: otherKeyFile }),
      /^wharf: WHARF_TLS_CERT=".*nope\.pem": cannot read the file \(ENOENT\)/,
    ],
    [
      'a TLS certificate that is not one',
      () => ({ WHARF_TLS_CERT: path.join(dir, 'garbage.pem'), WHARF_TLS_KEY: otherKeyFile }),
      /^wharf: WHARF_TLS_CERT=".*garbage\.pem": not a usable certificate/,
    ],
    ['a TLS key of another certificate', () => ({ WHARF_TLS_CERT: certFile, WHARF_TLS_KEY: otherKeyFile }), /^wharf: WHARF_TLS_KEY=".*": not the private key of WHARF_TLS_CERT/],
    ['a port in use', () => ({ WHARF_PORT: String(occupiedPort) }), /^wharf: WHARF_PORT="\d+": already in use on 127\.0\.0\.1; stop the other process or choose another port$/],
    ['a host that is not this machine', () => ({ WHARF_HOST: '192.0.2.1', WHARF_PORT: '18080' }), /^wharf: WHARF_HOST="192\.0\.2\.1": not an address of this machine/],
    ['a data directory that is a file', () => ({ WHARF_DATA_DIR: path.join(dir, 'a-file') }), /^wharf: WHARF_DATA_DIR=".*a-file": .*a-file is not a directory/],
    ['a data directory under a file', () => ({ WHARF_DATA_DIR: path.join(dir, 'a-file', 'data') }), /^wharf: WHARF_DATA_DIR=".*a-file\/data": .*is not a directory/],
    ['a data directory that cannot be created (/proc)', () => ({ WHARF_DATA_DIR: '/proc/x' }), /^wharf: WHARF_DATA_DIR="\/proc\/x": cannot create \/proc\/x/],
    [
      'a database file in a directory that cannot be created',
      () => ({ WHARF_DATABASE_URL: 'sqlite:/proc/x/wharf.db' }),
      /^wharf: WHARF_DATABASE_URL="sqlite:\/proc\/x\/wharf.db": cannot create/,
    ],
    [
      'a PostgreSQL server that is not there (password masked)',
      () => ({ WHARF_DATABASE_URL: 'postgres://wharf:s3cret@127.0.0.1:1/wharf' }),
      /^wharf: WHARF_DATABASE_URL="postgres:\/\/wharf:\*\*\*@127\.0\.0\.1:1\/wharf": cannot open the database \(connect ECONNREFUSED/,
    ],
  ];
  it.each(cases)('%s', async (_name, env, line) => {
    const outcome = await startWharf(env());
    expectConfigError(outcome, line);
    expect(outcome.stderr).not.toContain('s3cret');
  });

  it.skipIf(process.getuid?.() === 0)('a data directory it may not write', async () => {
    const locked = path.join(dir, 'locked');
    await import('node:fs/promises').then((fs) => fs.mkdir(locked, { mode: 0o500 }));
    expectConfigError(await startWharf({ WHARF_DATA_DIR: locked }), /^wharf: WHARF_DATA_DIR=".*locked": the directory is not writable \(EACCES\)/);
  });
});

describe('start-up line', () => {
  it('names the version, address, TLS state and where the data lives', async () => {
    const dataDir = path.join(dir, 'good');
    const child = spawn(process.execPath, wharfArgs('server'), {
      env: { ...process.env, WHARF_DATA_DIR: dataDir, WHARF_PORT: '0', WHARF_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    for (let i = 0; i < 300 && !out.includes('wharf is serving'); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    await exited;
    const line = out.split('\n').find((l) => l.includes('wharf is serving'));
    expect(line, out).toBeDefined();
    const entry = JSON.parse(line!) as Record<string, unknown>;
    const pkg = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile('package.json', 'utf8'))) as { version: string };
    expect(entry).toMatchObject({
      version: pkg.version,
      tls: 'off',
      dataDir,
      database: `SQLite ${path.join(dataDir, 'wharf.db')}`,
      blobStore: `files in ${path.join(dataDir, 'blobs')}`,
    });
    expect(entry.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
