/**
 * @module domain/release-version
 * A release's version and channel, derived from its tag by a repository's release rules
 * (docs/channels.md). Pure: the services store what this returns on the release row, so "latest
 * beta" or "latest 2.x" is one indexed query, and recompute it when the rules change.
 *
 * - The tag prefix (monorepos: `cli-v1.2.0`) is the longest of the repository's prefixes the tag
 *   starts with, or empty. What follows, less a leading `v`, is the version.
 * - `semver` scheme: semantic versioning, leniently: `2`, `2.1` and `2.1.0rc1` read as 2.0.0,
 *   2.1.0 and 2.1.0-rc1, as people tag. `calendar` scheme: the digit runs (`nightly-20261201`,
 *   `2026.12.1`), compared numerically one by one.
 * - The channel: the release's own override, else the first channel pattern the tag matches,
 *   else the first prerelease identifier's leading letters (`beta.3` → `beta`, `rc1` → `rc`),
 *   else `prerelease` for a release flagged prerelease, else `stable`.
 * - `versionKey` sorts as the versions do, compared as plain bytes (SQLite's BINARY collation,
 *   PostgreSQL's "C"): numbers zero-padded, prereleases before their release.
 */
import semver from 'semver';

export type VersionScheme = 'semver' | 'calendar';
/** `semver`: an absent `make_latest` makes a release latest only if it is the highest of its line; `github`: always, as GitHub does. */
export type LatestRule = 'semver' | 'github';

export interface ChannelPattern {
  /** A glob on the whole tag: `*` matches any run of characters (`nightly-*`). */
  pattern: string;
  channel: string;
  /** The version scheme of tags matching this pattern (default: the repository's). */
  scheme?: VersionScheme;
}

export interface ReleaseRules {
  scheme: VersionScheme;
  /** Tag prefixes of a monorepo's products (`cli-`, `server/`). */
  prefixes: string[];
  channels: ChannelPattern[];
  latest: LatestRule;
}

export const DEFAULT_RULES: ReleaseRules = { scheme: 'semver', prefixes: [], channels: [], latest: 'semver' };

export interface ReleaseVersion {
  prefix: string;
  /** The version as read (`2.1.0-beta.3`), or null when the tag has none under the scheme. */
  version: string | null;
  versionKey: string | null;
  major: number | null;
  channel: string;
}

/** Channel names: what fits a URL segment and a file name (`beta`, `lts-2`, `nightly`). */
export const CHANNEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const PAD = 15;
const pad = (n: string) => n.replace(/^0+(?=\d)/, '').padStart(PAD, '0');

function globToRegExp(glob: string): RegExp {
  const escaped = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

function prefixOf(tag: string, prefixes: readonly string[]): string {
  let best = '';
  for (const p of prefixes) if (tag.startsWith(p) && p.length > best.length) best = p;
  return best;
}

interface Parsed {
  version: string;
  core: string[];
  pre: string[];
}

/**
 * What every version `semver.parse` accepts starts with (its strict grammar: optional spaces and
 * `v`, then three numbers). Tags that are no version (`nightly-42`, `build-7`) then skip it: it
 * refuses them by throwing and catching an error, about 30 µs per release written.
 */
const SEMVER_START = /^\s*v?\d+\.\d+\.\d+/;

function parseSemver(text: string): Parsed | null {
  const strict = SEMVER_START.test(text) ? semver.parse(text) : null;
  if (strict) return { version: strict.version, core: [String(strict.major), String(strict.minor), String(strict.patch)], pre: strict.prerelease.map(String) };
  // Lenient: 1, 1.2, 1.2.3rc1, 1.2-beta — what people tag, read as semver would if padded.
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-.]?([0-9A-Za-z][0-9A-Za-z.-]*))?$/.exec(text);
  if (!m) return null;
  const core = [m[1]!, m[2] ?? '0', m[3] ?? '0'].map((n) => String(Number(n)));
  const pre = m[4] ? m[4].split('.').filter((s) => s !== '') : [];
  if (pre.some((id) => !/^[0-9A-Za-z-]+$/.test(id))) return null;
  return { version: `${core.join('.')}${pre.length ? `-${pre.join('.')}` : ''}`, core, pre };
}

function parseCalendar(text: string): Parsed | null {
  const runs = text.match(/\d+/g);
  if (!runs) return null;
  const core = runs.map((n) => String(Number(n)));
  return { version: core.join('.'), core, pre: [] };
}

/** The byte-sortable key: core numbers padded; `-` and the prerelease identifiers sort below `~` (a release). */
function keyOf(parsed: Parsed): string {
  const core = parsed.core.map(pad).join('.');
  if (parsed.pre.length === 0) return `${core}~`;
  // Identifiers: numbers (0 + padded) before words (1 + word); `!` separates, lower than any identifier byte.
  return `${core}-${parsed.pre.map((id) => (/^\d+$/.test(id) ? `0${pad(id)}` : `1${id}`)).join('!')}`;
}

function channelFromPrerelease(pre: string[]): string | null {
  const first = pre[0];
  if (first === undefined) return null;
  const word = /^[A-Za-z]+/.exec(first)?.[0]?.toLowerCase();
  return word && CHANNEL_NAME.test(word) ? word : 'prerelease';
}

export function deriveReleaseVersion(tag: string, prereleaseFlag: boolean, override: string | null, rules: ReleaseRules): ReleaseVersion {
  const prefix = prefixOf(tag, rules.prefixes);
  const pattern = rules.channels.find((c) => globToRegExp(c.pattern).test(tag));
  const scheme = pattern?.scheme ?? rules.scheme;
  const rest = tag.slice(prefix.length).replace(/^[vV](?=\d)/, '');
  const parsed = scheme === 'calendar' ? parseCalendar(rest) : parseSemver(rest);
  const channel = override ?? pattern?.channel ?? (parsed ? channelFromPrerelease(parsed.pre) : null) ?? (prereleaseFlag ? 'prerelease' : 'stable');
  return {
    prefix,
    version: parsed?.version ?? null,
    versionKey: parsed ? keyOf(parsed) : null,
    major: parsed ? Number(parsed.core[0]) : null,
    channel,
  };
}

/**
 * The keys of one major line as a range (`[from, to)`): a key starts with its padded major and a
 * dot, so "latest 2.x" is a range scan of the version index rather than a filter on every row.
 */
export function majorKeyRange(major: number): { from: string; to: string } {
  const head = pad(String(major));
  // '/' is the byte after '.': every key of this major sorts in [head + '.', head + '/').
  return { from: `${head}.`, to: `${head}/` };
}

/** Reads stored rules (JSON text or null), falling back to the defaults field by field. */
export function readRules(stored: string | null): ReleaseRules {
  if (!stored) return DEFAULT_RULES;
  const raw = JSON.parse(stored) as Partial<ReleaseRules>;
  return { ...DEFAULT_RULES, ...raw };
}

/**
 * Validates rules sent by a client; returns the problems in words (empty when valid). Unknown
 * members are refused so a typo does not silently do nothing.
 */
export function rulesProblems(input: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(input)) if (!['scheme', 'prefixes', 'channels', 'latest'].includes(key)) problems.push(`unknown rule "${key}"`);
  if ('scheme' in input && input.scheme !== 'semver' && input.scheme !== 'calendar') problems.push('scheme must be "semver" or "calendar"');
  if ('latest' in input && input.latest !== 'semver' && input.latest !== 'github') problems.push('latest must be "semver" or "github"');
  if ('prefixes' in input) {
    const p = input.prefixes;
    if (!Array.isArray(p) || p.length > 50 || p.some((x) => typeof x !== 'string' || x === '' || x.length > 100)) {
      problems.push('prefixes must be a list of at most 50 non-empty strings of at most 100 characters');
    }
  }
  if ('channels' in input) {
    const c = input.channels;
    if (!Array.isArray(c) || c.length > 50) problems.push('channels must be a list of at most 50 patterns');
    else {
      c.forEach((entry: unknown, i) => {
        const e = entry as Record<string, unknown> | null;
        if (typeof e !== 'object' || e === null || Array.isArray(e)) return problems.push(`channels[${i}] must be an object`);
        if (typeof e.pattern !== 'string' || e.pattern === '' || e.pattern.length > 200) problems.push(`channels[${i}].pattern must be a non-empty glob`);
        if (typeof e.channel !== 'string' || !CHANNEL_NAME.test(e.channel)) problems.push(`channels[${i}].channel must match ${CHANNEL_NAME.source}`);
        if ('scheme' in e && e.scheme !== 'semver' && e.scheme !== 'calendar') problems.push(`channels[${i}].scheme must be "semver" or "calendar"`);
        for (const key of Object.keys(e)) if (!['pattern', 'channel', 'scheme'].includes(key)) problems.push(`channels[${i}] has an unknown member "${key}"`);
      });
    }
  }
  return problems;
}
