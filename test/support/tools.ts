/**
 * External programs some tests drive (real clients, a reverse proxy, a browser), in one place.
 * On a machine without one, `needs(tool)` returns false and the test is skipped, with one line
 * naming the program and the command that installs it; with `CI=true` a missing program fails
 * the run instead, so CI never passes by skipping.
 *
 *   describe.skipIf(!needs(TOOLS.gh))('gh …', () => { … });
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface Tool {
  name: string;
  /** What the tests need it for, in a few words. */
  purpose: string;
  install: string;
  isAvailable(): boolean;
}

/** An executable named on PATH (or an absolute path). */
function onPath(command: string): boolean {
  if (path.isAbsolute(command)) return existsSync(command);
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, command)));
}

export const NGINX = process.env.WHARF_NGINX ?? '/usr/sbin/nginx';
export const CHROMIUM = process.env.WHARF_CHROMIUM ?? '/usr/bin/chromium';
/** Debian's interpreter, where python3-github is installed (not whatever python3 is first on PATH). */
export const PYTHON = '/usr/bin/python3';

export const TOOLS = {
  gh: { name: 'gh', purpose: "GitHub's CLI", install: 'sudo apt-get install gh', isAvailable: () => onPath('gh') },
  hub: { name: 'hub', purpose: 'the hub CLI', install: 'sudo apt-get install hub', isAvailable: () => onPath('hub') },
  pygithub: {
    name: 'python3-github',
    purpose: 'PyGithub',
    install: 'sudo apt-get install python3-github',
    isAvailable: () => existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import github'], { stdio: 'ignore' }).status === 0,
  },
  nginx: { name: 'nginx', purpose: 'a reverse proxy in front of Wharf', install: 'sudo apt-get install nginx-light', isAvailable: () => existsSync(NGINX) },
  chromium: { name: 'chromium', purpose: 'the web pages in a real browser', install: 'sudo apt-get install chromium', isAvailable: () => existsSync(CHROMIUM) },
  openssl: { name: 'openssl', purpose: 'test certificates', install: 'sudo apt-get install openssl', isAvailable: () => onPath('openssl') },
} satisfies Record<string, Tool>;

const verdicts = new Map<string, boolean>();

/**
 * Whether the tool is here. Missing: a skip with one line on stderr (once per tool and file), or,
 * under `CI=true`, an error that fails the file.
 */
export function needs(...tools: Tool[]): boolean {
  let all = true;
  for (const tool of tools) {
    let available = verdicts.get(tool.name);
    if (available === undefined) {
      available = tool.isAvailable();
      verdicts.set(tool.name, available);
      if (!available) {
        if (process.env.CI === 'true') throw new Error(`${tool.name} (${tool.purpose}) is missing and CI=true: install it with \`${tool.install}\``);
        process.stderr.write(`skipping tests that need ${tool.name} (${tool.purpose}): install it with \`${tool.install}\`\n`);
      }
    }
    all &&= available;
  }
  return all;
}
