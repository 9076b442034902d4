import { describe, expect, it } from 'vitest';
import { categorise, includedChanges, type Author, type NoteChange } from '../../src/notes/categorise.ts';
import { changeFromCommit } from '../../src/notes/changes.ts';
import { labelsFromMessage } from '../../src/notes/conventional-labels.ts';
import { parseReleaseConfig, ReleaseConfigError } from '../../src/notes/release-config.ts';
import { renderNotes, type NotesDocument } from '../../src/notes/render.ts';

describe('conventional-commit labels', () => {
  it('reads type, scope and breaking markers', () => {
    expect(labelsFromMessage('feat(api): add x', 'feat(api): add x')).toEqual(['feat', 'api']);
    expect(labelsFromMessage('fix!: drop y', 'fix!: drop y')).toEqual(['fix', 'breaking']);
    expect(labelsFromMessage('Docs(Guide, CLI)!: z', '')).toEqual(['docs', 'guide', 'cli', 'breaking']);
    expect(labelsFromMessage('refactor: a', 'refactor: a\n\nlong text\n\nBREAKING CHANGE: gone')).toEqual(['refactor', 'breaking']);
    expect(labelsFromMessage('chore: a', 'chore: a\n\nBREAKING-CHANGE: gone')).toEqual(['chore', 'breaking']);
  });

  it('reads Labels: trailers and ignores plain subjects', () => {
    expect(labelsFromMessage('Update readme', 'Update readme')).toEqual([]);
    expect(labelsFromMessage('Update readme', 'Update readme\n\nLabels: Documentation, skip-changelog\nlabels: extra')).toEqual(['documentation', 'skip-changelog', 'extra']);
    // "word: text" without a following non-space character, or with spaces in the type, is not a header.
    expect(labelsFromMessage('Fix the thing: really', '')).toEqual([]);
    expect(labelsFromMessage('feat:no space', '')).toEqual([]);
  });
});

describe('changes from commits', () => {
  const base = { parents: ['a'], authorName: 'Ann', authorEmail: 'ann@x.org' };
  it('uses the subject of a plain commit', () => {
    expect(changeFromCommit({ ...base, sha: '1'.repeat(40), message: 'feat: one\n\nbody' })).toEqual({
      sha: '1'.repeat(40),
      title: 'feat: one',
      labels: ['feat'],
      authorName: 'Ann',
      authorEmail: 'ann@x.org',
    });
  });

  it('uses the pull-request title and the branch author for a pull-request merge', () => {
    const tip = { sha: 't', parents: ['a'], authorName: 'Bob', authorEmail: 'bob@x.org', message: 'wip' };
    const merge = { sha: 'm', parents: ['a', 't'], authorName: 'Ann', authorEmail: 'ann@x.org', message: 'Merge pull request #12 from bob/topic\n\nfix(db): handle nulls' };
    expect(changeFromCommit(merge, tip)).toMatchObject({ sha: 'm', title: 'fix(db): handle nulls', labels: ['fix', 'db'], authorName: 'Bob' });
  });

  it("uses the merged branch's subject for git's own merge messages, and keeps custom merge subjects", () => {
    const tip = { sha: 't', parents: ['a'], authorName: 'Bob', authorEmail: 'bob@x.org', message: 'feat: topic work\n\nLabels: ui' };
    expect(changeFromCommit({ sha: 'm', parents: ['a', 't'], authorName: 'Ann', authorEmail: 'a@x', message: "Merge branch 'topic'" }, tip)).toMatchObject({
      title: 'feat: topic work',
      labels: ['feat', 'ui'],
    });
    expect(changeFromCommit({ sha: 'm', parents: ['a', 't'], authorName: 'Ann', authorEmail: 'a@x', message: 'Bring in the topic' }, tip).title).toBe('Bring in the topic');
  });
});

describe('release.yml parsing', () => {
  it('reads exclusions and categories', () => {
    const config = parseReleaseConfig(`changelog:
  exclude:
    labels: [skip-changelog]
    authors: [octocat]
  categories:
    - title: Features
      labels: [feat]
      exclude:
        labels: [wip]
    - title: Other
      labels: ["*"]
`);
    expect(config).toEqual({
      exclude: { labels: ['skip-changelog'], authors: ['octocat'] },
      categories: [
        { title: 'Features', labels: ['feat'], exclude: { labels: ['wip'], authors: [] } },
        { title: 'Other', labels: ['*'], exclude: { labels: [], authors: [] } },
      ],
    });
    expect(parseReleaseConfig('')).toEqual({ exclude: { labels: [], authors: [] }, categories: [] });
  });

  it('names the problem in invalid files', () => {
    const problem = (text: string) => {
      try {
        parseReleaseConfig(text);
      } catch (err) {
        expect(err).toBeInstanceOf(ReleaseConfigError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(problem('changelog: [unclosed')).toMatch(/^is not valid YAML: /);
    expect(problem('- a list')).toBe('must be a mapping with a "changelog" key');
    expect(problem('changelog:\n  categories:\n    - labels: [x]')).toBe('changelog.categories[0].title is required and must be a string');
    expect(problem('changelog:\n  categories:\n    - title: X')).toBe('changelog.categories[0].labels is required');
    expect(problem('changelog:\n  exclude:\n    labels: {a: 1}')).toBe('changelog.exclude.labels must be a list of strings');
    expect(problem('changelog:\n  categories: nope')).toBe('changelog.categories must be a list');
  });
});

const ann: Author = { login: 'ann', name: 'Ann', email: 'ann@x.org' };
const bob: Author = { login: null, name: 'Bob', email: 'bob@x.org' };
function change(sha: string, labels: string[], author = ann): NoteChange {
  return { sha, title: `change ${sha}`, labels, author };
}

describe('categorisation', () => {
  const config = parseReleaseConfig(`changelog:
  exclude: { labels: [skip], authors: [Bob] }
  categories:
    - { title: Breaking, labels: [breaking] }
    - { title: Features, labels: [FEAT], exclude: { labels: [docs] } }
    - { title: Docs, labels: [docs] }
`);
  it('drops excluded changes, places each change once in the first matching category, omits empty ones and unmatched changes', () => {
    const changes = includedChanges(config, [
      change('1', ['feat']),
      change('2', ['skip', 'feat']),
      change('3', ['feat'], bob),
      change('4', ['feat', 'breaking']),
      change('5', ['feat', 'docs']),
      change('6', []),
    ]);
    expect(changes.map((c) => c.sha)).toEqual(['1', '4', '5', '6']);
    expect(categorise(config, changes).map((s) => [s.title, s.changes.map((c) => c.sha)])).toEqual([
      ['Breaking', ['4']],
      ['Features', ['1']],
      ['Docs', ['5']],
    ]);
  });

  it('uses one untitled section without categories', () => {
    const none = parseReleaseConfig('');
    expect(categorise(none, [change('1', [])])).toEqual([{ title: null, changes: [change('1', [])] }]);
    expect(categorise(none, [])).toEqual([]);
  });
});

describe('rendering', () => {
  const doc: NotesDocument = {
    repoUrl: 'https://w.example/o/r',
    configuration: null,
    sections: [{ title: null, changes: [change('a1', []), change('b2', [], bob)] }],
    newContributors: [change('b2', [], bob)],
    fullChangelogUrl: 'https://w.example/o/r/compare/v1...v2',
  };

  it("writes GitHub's format", () => {
    expect(renderNotes(doc)).toBe(
      [
        "## What's Changed",
        '* change a1 by @ann in https://w.example/o/r/commit/a1',
        '* change b2 by Bob in https://w.example/o/r/commit/b2',
        '',
        '## New Contributors',
        '* Bob made their first contribution in https://w.example/o/r/commit/b2',
        '',
        '**Full Changelog**: https://w.example/o/r/compare/v1...v2',
      ].join('\n'),
    );
    expect(renderNotes({ ...doc, sections: [], newContributors: [] })).toBe('**Full Changelog**: https://w.example/o/r/compare/v1...v2');
  });

  it('truncates to the limit with a marker and keeps the changelog link', () => {
    const many = Array.from({ length: 2000 }, (_, i) => change(String(i).padStart(6, '0'), []));
    const big = { ...doc, sections: [{ title: 'All', changes: many }], newContributors: [] };
    const body = renderNotes(big, 10_000);
    expect(body.length).toBeLessThanOrEqual(10_000);
    const kept = body.split('\n').filter((l) => l.startsWith('* ')).length;
    expect(kept).toBeGreaterThan(100);
    expect(body).toContain(`> These notes were truncated: ${2000 - kept} more entries are not shown.`);
    expect(body.endsWith('**Full Changelog**: https://w.example/o/r/compare/v1...v2')).toBe(true);
    // One more entry would not have fitted.
    expect(body.length + 60).toBeGreaterThan(10_000);
  });
});

describe('combining with a given name and body', () => {
  it('lets a given name win and puts a given body first', async () => {
    const { mergeGeneratedNotes, roomForGeneratedNotes } = await import('../../src/notes/merge.ts');
    const generated = { name: 'v1.0.0', body: "## What's Changed\n* x" };
    expect(mergeGeneratedNotes({}, generated)).toEqual(generated);
    expect(mergeGeneratedNotes({ name: 'One', body: 'Intro' }, generated)).toEqual({ name: 'One', body: "Intro\n\n## What's Changed\n* x" });
    expect(mergeGeneratedNotes({ name: '', body: null }, generated)).toEqual(generated);
    expect(roomForGeneratedNotes('Intro')).toBe(125_000 - 7);
    expect(roomForGeneratedNotes(null)).toBe(125_000);
  });
});
