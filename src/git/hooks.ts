/**
 * @module git/hooks
 * The git hooks Wharf runs in its bare repositories. There is one: `pre-receive`, through which a
 * push asks Wharf's refs door whether its ref updates may happen, before git moves any ref.
 *
 * The hooks live in one directory Wharf writes at start-up (`{data}/git-hooks`), not in each
 * repository: Wharf passes `core.hooksPath` to the `git receive-pack` it runs for a push (through
 * git's `GIT_CONFIG_COUNT` environment, which git hands on to the processes it starts), so every
 * repository, new or created by an older version, is covered without touching its files, and the
 * hook is always the one of the running version.
 *
 * The hook reads git's update lines (`<old> <new> <ref>`) and posts them to the Wharf process that
 * started the push (a loopback address and a one-push secret in its environment: `WHARF_HOOK_URL`,
 * `WHARF_HOOK_TOKEN`). Wharf answers with the refusals; the hook prints each as `error: <ref>:
 * <reason>` (git shows it as `remote: error: …`) and exits 1, which git reports as
 * `! [remote rejected] … (pre-receive hook declined)` for every ref of the push. When Wharf cannot
 * be asked the push is refused: a ref never moves unchecked.
 */
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A shell stub (git runs hooks with `sh`-compatible execution) that runs the script with Wharf's own Node. */
const PRE_RECEIVE = `#!/bin/sh
# Written by Wharf at start-up: a push asks Wharf's refs door before any ref moves.
if [ -z "$WHARF_HOOK_URL" ] || [ -z "$WHARF_HOOK_NODE" ]; then
  echo "error: this repository accepts pushes through Wharf only" >&2
  exit 1
fi
exec "$WHARF_HOOK_NODE" "$0.mjs"
`;

const PRE_RECEIVE_SCRIPT = `// Written by Wharf at start-up (see the pre-receive stub next to this file).
let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
try {
  const res = await fetch(process.env.WHARF_HOOK_URL, {
    method: 'POST',
    headers: { authorization: 'Bearer ' + process.env.WHARF_HOOK_TOKEN, 'content-type': 'text/plain' },
    body: input,
    signal: AbortSignal.timeout(120000),
  });
  if (!res.ok) throw new Error('Wharf answered ' + res.status);
  const { refusals } = await res.json();
  for (const r of refusals) process.stderr.write('error: ' + r.ref + ': ' + r.reason + '\\n');
  process.exit(refusals.length ? 1 : 0);
} catch (err) {
  process.stderr.write('error: Wharf could not check this push (' + (err && err.message) + '); nothing was changed\\n');
  process.exit(1);
}
`;

/** Writes the hooks into `dir` (replacing older versions atomically, so a running push never sees half a file). */
export async function installHooks(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomically(path.join(dir, 'pre-receive.mjs'), PRE_RECEIVE_SCRIPT);
  await writeAtomically(path.join(dir, 'pre-receive'), PRE_RECEIVE);
}

async function writeAtomically(file: string, content: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o700 });
  await chmod(temporary, 0o700);
  await rename(temporary, file);
}

/** What a push's git processes need in their environment to run the hooks in `dir` and reach Wharf. */
export function hookEnvironment(dir: string, url: string, token: string): Record<string, string> {
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'core.hooksPath',
    GIT_CONFIG_VALUE_0: dir,
    WHARF_HOOK_URL: url,
    WHARF_HOOK_TOKEN: token,
    WHARF_HOOK_NODE: process.execPath,
  };
}
