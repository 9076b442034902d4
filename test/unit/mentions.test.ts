/**
 * `@login` mentions in notes: linked only for accounts the caller found, never inside links or
 * code, never in e-mail addresses or paths; candidates are what a lookup needs.
 */
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/render/markdown.ts';
import { mentionCandidates } from '../../src/render/mentions.ts';

const context = { web: 'https://wharf.example', owner: 'acme', repo: 'tool' };

describe('mentions', () => {
  it('finds candidates, lower-cased and unique, but not in e-mail addresses or paths', () => {
    expect(mentionCandidates('Thanks @Alice, @bob and @alice! mail me@carol.example, see docs/@dave or x@eve')).toEqual(['alice', 'bob']);
    expect(mentionCandidates(null)).toEqual([]);
  });

  it('links existing accounts only, keeps the case written, and leaves code, links and addresses alone', () => {
    const known = new Set(['alice', 'bob']);
    const out = renderMarkdown('Thanks @Alice and @bob, not @nobody.\n\n`@alice` [see @bob](https://x.example) me@alice.example\n\n```\n@alice\n```', context, known);
    expect(out).toContain('<a href="https://wharf.example/Alice" rel="nofollow noopener noreferrer">@Alice</a>');
    expect(out).toContain('<a href="https://wharf.example/bob" rel="nofollow noopener noreferrer">@bob</a>');
    expect(out).toContain('not @nobody.');
    expect(out).toContain('<code>@alice</code>');
    expect(out).toContain('>see @bob</a>');
    // Alice, bob and the written link; the e-mail address stays text.
    expect(out.match(/<a /g)).toHaveLength(3);
    expect(out).toContain('me@alice.example');
    expect(out).toContain('<pre><code>@alice\n</code></pre>');
  });

  it('changes nothing without a lookup', () => {
    expect(renderMarkdown('hi @alice', context)).toBe('<p>hi @alice</p>\n');
  });
});
