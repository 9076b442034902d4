import { describe, expect, it } from 'vitest';
import { humanSize, webPath } from '../../src/web/format.ts';
import { escapeHtml, html, trustedHtml } from '../../src/web/html.ts';
import { parseArchivePath } from '../../src/web/pages/archives.ts';
import { parseRange } from '../../src/web/pages/compare.ts';
import { safeReturnTo } from '../../src/web/web-auth.ts';

describe('the html template tag', () => {
  it('escapes every interpolated value, including both quotes', () => {
    const name = `<img src=x onerror='a'>"&`;
    expect(html`<p title="${name}">${name}</p>`.value).toBe('<p title="&lt;img src=x onerror=&#39;a&#39;&gt;&quot;&amp;">&lt;img src=x onerror=&#39;a&#39;&gt;&quot;&amp;</p>');
    expect(escapeHtml('a&b')).toBe('a&amp;b');
  });

  it('nests templates, joins arrays and drops null, undefined and false', () => {
    const items = ['<a>', 'b'].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.value).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>0');
    expect(html`${trustedHtml('<b>ok</b>')}`.value).toBe('<b>ok</b>');
  });
});

describe('formatting and parsing helpers', () => {
  it('shows sizes in human units', () => {
    expect(humanSize(0)).toBe('0 bytes');
    expect(humanSize(1)).toBe('1 byte');
    expect(humanSize(1536)).toBe('1.5 KB');
    expect(humanSize(12 * 1024 * 1024 + 17)).toBe('12 MB');
    expect(humanSize(3 * 1024 ** 3)).toBe('3 GB');
  });

  it('encodes path segments but keeps the slashes of tags', () => {
    expect(webPath('o', 'r', 'releases', 'tag', 'release/1.0+b?#')).toBe('/o/r/releases/tag/release/1.0%2Bb%3F%23');
  });

  it('splits compare ranges and archive paths', () => {
    expect(parseRange('v1.0.0...v1.1.0')).toEqual({ base: 'v1.0.0', head: 'v1.1.0' });
    expect(parseRange('main..feature/x')).toEqual({ base: 'main', head: 'feature/x' });
    expect(parseRange('v1.0.0')).toBeNull();
    expect(parseRange('...v1')).toBeNull();
    expect(parseArchivePath('refs/tags/v1.2.0.tar.gz')).toEqual({ ref: 'refs/tags/v1.2.0', format: 'tar.gz' });
    expect(parseArchivePath('refs/tags/release/2.zip')).toEqual({ ref: 'refs/tags/release/2', format: 'zip' });
    expect(parseArchivePath('main.tar')).toBeNull();
  });

  it('only returns to paths on this site', () => {
    expect(safeReturnTo('/o/r/releases?page=2')).toBe('/o/r/releases?page=2');
    for (const bad of [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example',
      '/a\r\nSet-Cookie: x',
      undefined,
      42,
      '/\t/evil.example',
      '/\t\\evil.example',
      '/\n/evil.example',
      '///evil.example',
      '/\t//evil.example',
      '/.//evil.example',
      '/a/..//evil.example',
    ]) {
      expect(safeReturnTo(bad)).toBe('/');
    }
    // Browsers read these as paths on this site; the Location header must stay ASCII.
    expect(safeReturnTo('/\u20ac?x=\u00e9#f')).toBe('/%E2%82%AC?x=%C3%A9#f');
    expect(safeReturnTo('/%09/evil.example')).toBe('/%09/evil.example');
  });
});
