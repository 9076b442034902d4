/**
 * Builds long git histories quickly with `git fast-import` (thousands of commits per second),
 * for tests and benchmarks that need large ranges. Asynchronous, like every git call in tests.
 */
import { spawn } from 'node:child_process';

export interface HistoryOptions {
  /** First-parent commits on `refs/heads/main` (merges included). */
  commits: number;
  /** Distinct authors, `Author N <authorN@example.com>`, used in turn. */
  authors: number;
  /** Every n-th first-parent commit is a merge of a one-commit side branch. */
  mergeEvery?: number;
  /** Extra text appended to each subject, to make long notes. */
  subjectPadding?: string;
  /** Unix time of the first commit; one minute between commits. */
  startTime?: number;
  /** Files added by the first commit (for example `.github/release.yml`). */
  initialFiles?: Record<string, string>;
}

const PREFIXES = ['feat: ', 'fix: ', 'docs: ', 'chore(deps): ', 'refactor!: ', ''];

/** A fast-import stream for `refs/heads/main`; marks are `:1…`. */
export function historyStream(options: HistoryOptions): string {
  const parts: string[] = [];
  const start = options.startTime ?? 1_700_000_000;
  let mark = 0;
  let previous = 0;
  for (let i = 1; i <= options.commits; i++) {
    const who = i % options.authors;
    const ident = `Author ${who} <author${who}@example.com> ${start + i * 60} +0000`;
    const subject = `${PREFIXES[i % PREFIXES.length]}change number ${i}${options.subjectPadding ?? ''}`;
    const isMerge = options.mergeEvery !== undefined && previous > 0 && i % options.mergeEvery === 0;
    let sideMark = 0;
    if (isMerge) {
      sideMark = ++mark;
      const side = `side work ${i}`;
      parts.push(
        `commit refs/heads/side\nmark :${sideMark}\nauthor ${ident}\ncommitter ${ident}\ndata ${Buffer.byteLength(side)}\n${side}\nfrom :${previous}\nM 644 inline side-${i}.txt\ndata 2\n${i % 10}\n\n`,
      );
    }
    const current = ++mark;
    const message = isMerge ? `Merge pull request #${i} from someone/side-${i}\n\n${subject}` : subject;
    parts.push(`commit refs/heads/main\nmark :${current}\nauthor ${ident}\ncommitter ${ident}\ndata ${Buffer.byteLength(message)}\n${message}\n`);
    if (previous > 0) parts.push(`from :${previous}\n`);
    if (isMerge) parts.push(`merge :${sideMark}\n`);
    if (i === 1) {
      for (const [name, content] of Object.entries(options.initialFiles ?? {})) parts.push(`M 644 inline ${name}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    }
    parts.push(`M 644 inline file-${i % 100}.txt\ndata ${String(i).length + 1}\n${i}\n\n`);
    previous = current;
  }
  return parts.join('');
}

/** Feeds a stream to `git fast-import` in a repository (`--git-dir`). */
export function fastImport(gitDir: string, stream: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['--git-dir', gitDir, 'fast-import', '--quiet'], {
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`fast-import failed (${code}): ${stderr}`))));
    child.stdin.end(stream);
  });
}
