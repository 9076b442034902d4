/**
 * Versions and channels derived from tags (domain/release-version.ts), and the byte order of
 * their keys, which the database's indexes sort by.
 */
import { describe, expect, it } from 'vitest';
import semver from 'semver';
import { DEFAULT_RULES, deriveReleaseVersion, majorKeyRange, rulesProblems, type ReleaseRules } from '../../src/domain/release-version.ts';

const derive = (tag: string, rules: ReleaseRules = DEFAULT_RULES, prerelease = false, override: string | null = null) => deriveReleaseVersion(tag, prerelease, override, rules);

describe('release versions', () => {
  it('reads semver tags, leniently, with their channel', () => {
    expect(derive('v2.1.0')).toEqual({ prefix: '', version: '2.1.0', versionKey: expect.any(String), major: 2, channel: 'stable' });
    expect(derive('v2.2.0-beta.3')).toMatchObject({ version: '2.2.0-beta.3', channel: 'beta', major: 2 });
    expect(derive('2.0.0rc1')).toMatchObject({ version: '2.0.0-rc1', channel: 'rc' });
    expect(derive('v2')).toMatchObject({ version: '2.0.0', channel: 'stable' });
    expect(derive('1.5')).toMatchObject({ version: '1.5.0' });
    expect(derive('v1.0.0-1')).toMatchObject({ channel: 'prerelease' });
    expect(derive('release-candidate')).toMatchObject({ version: null, versionKey: null, major: null, channel: 'stable' });
    expect(derive('release-candidate', DEFAULT_RULES, true)).toMatchObject({ channel: 'prerelease' });
    expect(derive('v3.0.0-beta.1', DEFAULT_RULES, false, 'lts')).toMatchObject({ channel: 'lts' });
  });

  it('applies prefixes, channel patterns and the calendar scheme', () => {
    const rules: ReleaseRules = { ...DEFAULT_RULES, prefixes: ['cli-', 'cli-ext-'], channels: [{ pattern: 'nightly-*', channel: 'nightly', scheme: 'calendar' }] };
    expect(derive('cli-v1.2.0', rules)).toMatchObject({ prefix: 'cli-', version: '1.2.0', channel: 'stable' });
    expect(derive('cli-ext-2.0.0-alpha', rules)).toMatchObject({ prefix: 'cli-ext-', version: '2.0.0-alpha', channel: 'alpha' });
    expect(derive('nightly-20261201', rules)).toMatchObject({ version: '20261201', channel: 'nightly', major: 20261201 });
    expect(derive('nightly-20261201', rules).versionKey! < derive('nightly-20261202', rules).versionKey!).toBe(true);
    expect(derive('2026.12.1', { ...DEFAULT_RULES, scheme: 'calendar' })).toMatchObject({ version: '2026.12.1' });
  });

  it('orders keys byte by byte exactly as semver orders the versions', () => {
    const versions = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.2.0',
      '1.10.0',
      '2.0.0-0',
      '2.0.0-x-y',
      '2.0.0-x',
      '2.0.0',
      '10.0.0',
      '1.0.0-alpha-x',
      '1.0.0-alpha.-1',
    ];
    const bySemver = [...versions].sort(semver.compare);
    const byKey = [...versions].sort((a, b) => {
      const [ka, kb] = [derive(a).versionKey!, derive(b).versionKey!];
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    expect(byKey).toEqual(bySemver);
  });

  it('gives each major line a key range holding its versions and no other', () => {
    const { from, to } = majorKeyRange(2);
    const inRange = (tag: string) => {
      const key = derive(tag).versionKey!;
      return key >= from && key < to;
    };
    expect(['v2.0.0', 'v2.99.1', 'v2.0.0-alpha', 'v2.1.0-rc.1'].every(inRange)).toBe(true);
    expect(['v1.99.99', 'v20.0.0', 'v3.0.0-alpha', 'v12.0.0'].some(inRange)).toBe(false);
  });

  it('explains invalid rules', () => {
    expect(rulesProblems({ scheme: 'semver', prefixes: ['cli-'], channels: [{ pattern: 'n-*', channel: 'nightly' }], latest: 'github' })).toEqual([]);
    expect(rulesProblems({ scheme: 'roman' })).toEqual(['scheme must be "semver" or "calendar"']);
    expect(rulesProblems({ latest: 'newest' })).toEqual(['latest must be "semver" or "github"']);
    expect(rulesProblems({ prefixes: 'cli-' })[0]).toMatch(/prefixes must be a list/);
    expect(rulesProblems({ channels: [{ pattern: '', channel: 'Bad Name' }] })).toEqual([
      'channels[0].pattern must be a non-empty glob',
      expect.stringMatching(/^channels\[0\]\.channel must match/),
    ]);
    expect(rulesProblems({ prefix: [] })).toEqual(['unknown rule "prefix"']);
  });
});
