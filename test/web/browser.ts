/**
 * Headless Chromium for end-to-end page tests: Debian's `chromium` driven by playwright-core
 * (no browser download). Each launch gets a fresh profile.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import type { AppendInput } from '../../src/blobs/blob-store.ts';
import type { AppContext } from '../../src/context.ts';
import { CHROMIUM, needs, TOOLS } from '../support/tools.ts';

export { CHROMIUM };
export const chromiumAvailable = needs(TOOLS.chromium);
export const ARTIFACTS_DIR = path.resolve('test-artifacts');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface BrowserSession {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function openBrowser(options: BrowserContextOptions = {}): Promise<BrowserSession> {
  const profile = await mkdtemp(path.join(tmpdir(), 'wharf-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
    ...options,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * One Chromium for tests that need several people at once: each `newContext()` is a separate,
 * cookie-isolated browser profile in memory, far cheaper than a browser process each.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, name);
}

/**
 * Slows the server's resumable (tus) appends, where the web uploader's bytes go, to `rate` bytes
 * a second (null: full speed). Loopback uploads finish too fast to watch a progress bar move, to
 * press Cancel, to cut the network or to reload the page in time; backpressure from a slow store
 * makes the browser's upload progress follow the server, as on a real network.
 */
export function throttleResumableWrites(ctx: AppContext): { rate: number | null } {
  const control: { rate: number | null } = { rate: null };
  const staging = ctx.blobs.resumable;
  const append = staging.append.bind(staging);
  Object.assign(staging, {
    append(id: string, state: string, input: AppendInput) {
      if (control.rate === null) return append(id, state, input);
      const rate = control.rate;
      const slow = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          setTimeout(() => done(null, chunk), (chunk.length / rate) * 1000);
        },
      });
      input.source.on('error', (err) => slow.destroy(err));
      return append(id, state, { ...input, source: input.source.pipe(slow) });
    },
  });
  return control;
}

/** Collects into `problems` what must never happen on a page: script errors and CSP refusals. */
export function watchPage(page: Page, problems: string[]): void {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`);
  });
}

/** What an injected payload would leave on the page: its marker, inline scripts, `on…` handlers. */
export function injectedOn(page: Page): Promise<unknown> {
  return page.evaluate(() => ({
    xss: (window as unknown as { __xss?: string }).__xss ?? null,
    inlineScripts: document.querySelectorAll('script:not([src])').length,
    handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
  }));
}
