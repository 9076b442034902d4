/**
 * The notes renderer shared by `body_html` and the pages: GitHub's task lists and server-side
 * highlighting, and the sanitizer still refusing everything hostile around them (payloads in
 * code blocks, fake highlighter classes, inputs that could submit or take focus, ids that could
 * take over a page's own).
 */
import { describe, expect, it } from 'vitest';
import { renderMarkdown, renderPlainText } from '../../src/render/markdown.ts';
import { demoteHeadings, renderNotes } from '../../src/web/notes-cache.ts';

const CONTEXT = { web: 'https://wharf.example', owner: 'octo', repo: 'tool' };

/** Nothing in rendered notes may run, submit, or load from an unexpected scheme. */
function expectInert(rendered: string): void {
  expect(rendered).not.toMatch(/<script|<style|<iframe|<svg|<form|<button|<textarea|<select/i);
  expect(rendered).not.toMatch(/\son\w+\s*=/i);
  expect(rendered).not.toMatch(/javascript:|data:text|formaction|autofocus|style=/i);
  for (const m of rendered.matchAll(/<input[^>]*>/g)) expect(m[0]).toMatch(/type="checkbox"[^>]*disabled="disabled"|disabled="disabled"[^>]*type="checkbox"/);
}

describe('task lists', () => {
  it('renders GitHub task lists as disabled checkboxes labelled by their text', () => {
    const out = renderMarkdown('- [x] shipped\n- [ ] to do **soon**\n- plain item');
    expect(out).toContain('<ul class="task-list-container">');
    expect(out).toMatch(
      /<li class="task-list-item"><input type="checkbox" class="task-list-item-checkbox" id="user-content-task-item-0" checked="checked" disabled="disabled" \/><label class="task-list-item-label" for="user-content-task-item-0"> shipped<\/label><\/li>/,
    );
    expect(out).toContain('for="user-content-task-item-1"> to do <strong>soon</strong></label>');
    expect(out).toContain('<li>plain item</li>');
    expect(renderPlainText('- [x] shipped')).toBe('shipped');
  });

  it('never lets notes hold a usable input, a form or an id of the page', () => {
    const out = renderMarkdown(
      [
        '<input type="text" value="x" onfocus="alert(1)" autofocus>',
        '<input type="submit" formaction="javascript:alert(2)">',
        '<form action="https://evil.example"><input type="password" name="p"><button>go</button></form>',
        '<label for="main" onclick="alert(3)">x</label><div id="main">taken?</div>',
        '- [x] <img src=x onerror="alert(4)">',
      ].join('\n\n'),
    );
    expectInert(out);
    expect(out).toContain('id="user-content-main"');
    expect(out).toContain('for="user-content-main"');
    expect(out).not.toMatch(/ id="main"| for="main"/);
  });
});

describe('syntax highlighting', () => {
  it('highlights fenced code with a known language using only highlight.js classes', () => {
    const out = renderMarkdown('```ts\nexport function f(a: string): number { return a.length; } // why\n```');
    expect(out).toContain('<pre><code class="language-ts">');
    expect(out).toContain('<span class="hljs-keyword">export</span>');
    expect(out).toContain('<span class="hljs-comment">// why</span>');
    for (const m of out.matchAll(/class="([^"]*)"/g)) expect(m[1]).toMatch(/^(language-ts|hljs-[\w-]+( [a-z]+_)?)$/);
  });

  it('leaves unknown languages and untagged blocks plain and escaped', () => {
    expect(renderMarkdown('```nosuchlanguage\n<b>x</b>\n```')).toBe('<pre><code class="language-nosuchlanguage">&lt;b&gt;x&lt;/b&gt;\n</code></pre>\n');
    expect(renderMarkdown('```\nlet x = 1;\n```')).not.toContain('hljs');
  });

  it('keeps payloads inside code as text, and strips fake highlighter markup from raw HTML', () => {
    const out = renderMarkdown(
      [
        '```html\n<script>alert(1)</script><img src=x onerror=alert(2)>\n```',
        '```js\n"</span></code></pre><script>alert(3)</script>"\n```',
        '<span class="hljs-keyword evil" style="position:fixed" onmouseover="alert(4)">k</span>',
        '<pre><code class="language-js hljs-x" onclick="alert(5)">c</code></pre>',
      ].join('\n\n'),
    );
    expectInert(out);
    expect(out).toContain('&lt;script&gt;');
    expect(out).toContain('<span class="hljs-keyword">k</span>');
    expect(out).not.toContain('evil');
  });
});

describe('notes on pages', () => {
  it('nests headings under the release title and scopes task ids per release', () => {
    expect(demoteHeadings('<h1 id="a">A</h1><hr /><h5>B</h5><h6>C</h6>', 2)).toBe('<h3 id="a">A</h3><hr /><h6>B</h6><h6>C</h6>');
    const page = renderNotes('# Top\n\n- [x] one\n\n```\ncode\n```', { context: CONTEXT, headingsBelow: 1, scope: 'r42' });
    expect(page).toContain('<h2>Top</h2>');
    expect(page).toContain('id="user-content-r42-task-item-0"');
    expect(page).toContain('for="user-content-r42-task-item-0"');
    expect(page).toContain('<pre tabindex="0">');
    // Feeds (no level given) keep body_html exactly.
    expect(renderNotes('# Top', { context: CONTEXT })).toBe(renderMarkdown('# Top', CONTEXT));
  });
});

describe('links to commits and comparisons', () => {
  const sha = '585460c0123456789abcdef0123456789abcdef0';
  it("shows this instance's commit and compare URLs the way GitHub does, linking the full URL", () => {
    const out = renderMarkdown(
      [
        `* Fix by @alice in https://wharf.example/octo/tool/commit/${sha}`,
        `* Port in https://wharf.example/other/lib/commit/${sha}`,
        '**Full Changelog**: https://wharf.example/octo/tool/compare/v1.0.0...v1.1.0',
        `Elsewhere: https://elsewhere.example/octo/tool/commit/${sha} and [named](https://wharf.example/octo/tool/commit/${sha})`,
      ].join('\n'),
      CONTEXT,
    );
    expect(out).toContain(`<a href="https://wharf.example/octo/tool/commit/${sha}" rel="nofollow noopener noreferrer"><code>585460c</code></a>`);
    expect(out).toContain(`<a href="https://wharf.example/other/lib/commit/${sha}" rel="nofollow noopener noreferrer"><code>other/lib@585460c</code></a>`);
    expect(out).toContain('<a href="https://wharf.example/octo/tool/compare/v1.0.0...v1.1.0" rel="nofollow noopener noreferrer"><code>v1.0.0...v1.1.0</code></a>');
    // Other hosts and links with their own text are left as written.
    expect(out).toContain(`>https://elsewhere.example/octo/tool/commit/${sha}</a>`);
    expect(out).toContain('>named</a>');
    // Without a repository (no context), nothing is shortened.
    expect(renderMarkdown(`https://wharf.example/octo/tool/commit/${sha}`)).toContain(`>https://wharf.example/octo/tool/commit/${sha}</a>`);
  });

  it('escapes what it shows', () => {
    const out = renderMarkdown('https://wharf.example/octo/tool/compare/v1%3Cscript%3E...v2', CONTEXT);
    expect(out).toContain('<code>v1&lt;script&gt;...v2</code>');
    expectInert(out);
  });
});
