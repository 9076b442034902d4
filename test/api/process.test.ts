import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wharfArgs } from '../support/wharf-command.ts';
import { freePort } from '../reliability/support/server-process.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function startProcess(): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null>; logs: () => string }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-proc-'));
  dirs.push(dataDir);
  const port = await freePort();
  const child = spawn(process.execPath, wharfArgs('server'), {
    env: { ...process.env, WHARF_DATA_DIR: dataDir, WHARF_PORT: String(port), WHARF_ADMIN_TOKEN: 'wharf_proc_token', WHARF_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 300 && !out.includes('wharf is serving'); i++) await new Promise((r) => setTimeout(r, 100));
  if (!out.includes('wharf is serving')) throw new Error(`server did not start:\n${out}`);
  return { child, port, exited, logs: () => out };
}

describe('the wharf process', () => {
  it('starts with structured JSON logs and serves the API', async () => {
    const proc = await startProcess();
    const res = await fetch(`http://127.0.0.1:${proc.port}/api/v3/user`, { headers: { authorization: 'token wharf_proc_token' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { login: string }).login).toBe('admin');
    const firstLine = proc.logs().split('\n')[0]!;
    expect(JSON.parse(firstLine)).toHaveProperty('level');
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('lets an in-flight request finish after SIGTERM, then exits', async () => {
    const proc = await startProcess();
    const body = JSON.stringify({ name: 'late-repo' });
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: proc.port,
          path: '/api/v3/user/repos',
          method: 'POST',
          headers: { authorization: 'token wharf_proc_token', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      // Send half of the body, signal the server, then finish: the request is in flight during shutdown.
      req.write(body.slice(0, 5));
      setTimeout(() => {
        proc.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(5)), 300);
      }, 200);
    });
    const res = await response;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.text).name).toBe('late-repo');
    expect(await proc.exited).toBe(0);
    // New connections are refused once it has stopped.
    await expect(fetch(`http://127.0.0.1:${proc.port}/api/v3/`)).rejects.toThrow();
  });
});
