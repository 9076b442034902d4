/**
 * Wharf checks reference names in-process (src/git/ref-format.ts); git is the reference. This
 * compares the two on names generated from the characters and sequences git's rules are about.
 */
import { execFile } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidRefName } from '../../src/git/ref-format.ts';

function gitSays(refname: string): Promise<boolean> {
  return new Promise((resolve) => execFile('git', ['check-ref-format', refname], (err) => resolve(err === null)));
}

/** Names on which Wharf and git disagree (git run a few at a time). */
async function disagreements(names: string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < names.length; i += 8) {
    const batch = names.slice(i, i + 8);
    const verdicts = await Promise.all(batch.map(gitSays));
    batch.forEach((refname, j) => isValidRefName(refname) !== verdicts[j] && out.push(refname));
  }
  return out;
}

const piece = fc.constantFrom(
  'a',
  'v1',
  '2',
  '.',
  '..',
  '/',
  '//',
  '@',
  '@{',
  '{',
  '}',
  '.lock',
  'lock',
  '~',
  '^',
  ':',
  '?',
  '*',
  '[',
  ']',
  '\\',
  ' ',
  '\t',
  '\x7f',
  '\x01',
  '-',
  '_',
  '+',
  'é',
  '💥',
  '#',
  '!',
  '%',
);
// Mostly harmless pieces, so that valid names are common too.
const harmless = fc.constantFrom('a', 'v1', '2', '-', '_', '+', 'é', '💥', '#', '!', '%', 'x.y', 'b/c', '@', '}');
const name = fc.array(fc.oneof({ arbitrary: harmless, weight: 4 }, { arbitrary: piece, weight: 1 }), { minLength: 1, maxLength: 6 }).map((parts) => parts.join(''));

describe('reference names checked as git checks them', () => {
  it('agrees with git check-ref-format on chosen names', async () => {
    const cases = [
      'refs/tags/v1.0.0',
      'refs/tags/@',
      '@',
      'refs/tags/a.lock',
      'refs/tags/.a',
      'refs/tags/a.',
      'refs/tags/a..b',
      'refs/tags/a@{b',
      'refs/tags/a//b',
      'refs/tags/',
      'refs/heads/feature/x',
      'refs/tags/a b',
      'refs/tags/ünïcode',
      'refs/tags/a/.b',
      'refs/tags/-x',
      'refs/tags/x.lock/y',
      'refs/tags/a@b',
      'refs/tags/{x}',
      'tags',
    ];
    expect(await disagreements(cases)).toEqual([]);
  });

  it('agrees with git check-ref-format on generated names', async () => {
    const names = fc
      .sample(fc.tuple(fc.constantFrom('refs/tags/', 'refs/heads/', ''), name), { numRuns: 400, seed: 4242 })
      .map(([prefix, rest]) => prefix + rest)
      // git would read a leading dash as an option (Wharf refuses such names before this check).
      .filter((refname) => !refname.startsWith('-'));
    // Both verdicts are well represented, or the comparison would say little.
    expect(names.filter((n) => isValidRefName(n)).length).toBeGreaterThan(60);
    expect(names.filter((n) => !isValidRefName(n)).length).toBeGreaterThan(60);
    expect(await disagreements(names)).toEqual([]);
  }, 60_000);
});
