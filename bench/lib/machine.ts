/**
 * @module bench/lib/machine
 * The machine a run happened on, printed with every table: figures only mean something next to
 * the hardware and software that produced them.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  nginx: string | null;
  loadAverage: number[];
}

function nginxVersion(binary: string | null): string | null {
  if (!binary) return null;
  try {
    // nginx prints its version on stderr.
    const out = execFileSync(binary, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.trim() || null;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    return stderr.trim().replace(/^nginx version:\s*/, '') || null;
  }
}

export function describeMachine(nginxBinary: string | null): Machine {
  const cpus = os.cpus();
  let kernel = `${os.type()} ${os.release()} ${os.arch()}`;
  try {
    kernel = execFileSync('uname', ['-srm'], { encoding: 'utf8' }).trim();
  } catch {
    // uname is optional; os.* already says enough.
  }
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel,
    node: process.version,
    nginx: nginxVersion(nginxBinary)?.replace(/^nginx version:\s*/, '') ?? null,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.kernel}, Node ${m.node}${m.nginx ? `, ${m.nginx}` : ''}; load average at start ${m.loadAverage.join(' ')}`;
}
