/**
 * @module bench/lib/baselines
 * Starts the baseline servers (separate processes, like Wharf) and waits until they listen.
 */
import path from 'node:path';
import { portFromLog, startChild, waitFor, type Child } from './child.ts';
import { ROOT } from './wharf.ts';
import type { WorkDir } from './workdir.ts';

export interface BaselineServer {
  child: Child;
  pid: number;
  base: string;
  stop(): Promise<void>;
}

async function startScript(work: WorkDir, name: string, script: string, args: string[]): Promise<BaselineServer> {
  const child = startChild(name, process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], {
    cwd: ROOT,
    logFile: work.file(`${name}-${Date.now()}.log`),
  });
  const port = await waitFor(child, 'listening', () => portFromLog(child));
  return { child, pid: child.pid, base: `http://127.0.0.1:${port}`, stop: () => child.stop() };
}

/** Bare Node http: stream to a file + sha256 + fsync + rename. */
export function startUploadBaseline(work: WorkDir, dir: string): Promise<BaselineServer> {
  return startScript(work, 'upload-baseline', 'bench/baselines/upload-server.ts', [dir]);
}

/** Bare Fastify: fixed JSON bytes from memory per path. */
export function startStaticJsonBaseline(work: WorkDir, routesFile: string): Promise<BaselineServer> {
  return startScript(work, 'fastify-baseline', 'bench/baselines/static-json-server.ts', [routesFile]);
}

/** Bare Node http: reads each POST, answers 200, counts (`GET /stats`); the events scenario's webhook receiver. */
export function startHookReceiver(work: WorkDir): Promise<BaselineServer> {
  return startScript(work, 'hook-receiver', 'bench/baselines/hook-receiver.ts', []);
}
