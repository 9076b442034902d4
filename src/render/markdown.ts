/**
 * @module render/markdown
 * Release notes as HTML (`body_html`, the web pages) and as plain text (`body_text`). Markdown is
 * rendered by markdown-it (raw HTML allowed, as on GitHub) and then sanitized with an allowlist:
 * no scripts, no event handlers, no `javascript:`/`data:` links, no styles or iframes.
 *
 * Like GitHub's: task lists (`- [x]`) become disabled checkboxes with their text as label, and
 * fenced code with a known language is highlighted on the server (highlight.js; only its
 * `hljs-…` classes survive the sanitizer). Ids written in notes are prefixed with
 * `user-content-`, as GitHub prefixes them, so notes can never take a page's own ids.
 */
import { tasklist } from '@mdit/plugin-tasklist';
import hljs from 'highlight.js/lib/common';
import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';
import { mentionLinks } from './mentions.ts';
import { shortReferenceLinks, type NotesContext, type NotesEnv } from './reference-links.ts';

export type { NotesContext } from './reference-links.ts';

/** Larger code blocks are shown plain: highlighting is linear but not free, and notes are read, not studied. */
const MAX_HIGHLIGHTED = 20_000;

function highlight(code: string, lang: string): string {
  const language = lang.trim().split(/\s+/)[0] ?? '';
  if (!language || code.length > MAX_HIGHLIGHTED || !hljs.getLanguage(language)) return '';
  // highlight.js escapes the code itself; '' tells markdown-it to escape it as usual.
  return hljs.highlight(code, { language, ignoreIllegals: true }).value;
}

const md = new MarkdownIt({ html: true, linkify: true, breaks: false, highlight }).use(tasklist, { disabled: true, label: true }).use(shortReferenceLinks).use(mentionLinks);

const USER_CONTENT = 'user-content-';

function prefixed(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return value;
  return value.startsWith(USER_CONTENT) ? value : USER_CONTENT + value;
}

/** Every tag's `id` (and a label's `for`) moves into the notes' own namespace. */
const prefixIds: sanitizeHtml.Transformer = (tagName, attribs) => {
  const out: sanitizeHtml.Attributes = { ...attribs };
  if (out.id !== undefined) out.id = prefixed(out.id)!;
  if (tagName === 'label' && out.for !== undefined) out.for = prefixed(out.for)!;
  // The only inputs notes may hold are task-list checkboxes, which nobody can tick.
  if (tagName === 'input') Object.assign(out, { type: 'checkbox', disabled: 'disabled' });
  // Links in user content never pass the page's referrer or gain opener access.
  if (tagName === 'a') out.rel = 'nofollow noopener noreferrer';
  return { tagName, attribs: out };
};

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'p',
    'br',
    'hr',
    'blockquote',
    'pre',
    'code',
    'kbd',
    'samp',
    'var',
    'em',
    'strong',
    'b',
    'i',
    'u',
    's',
    'del',
    'ins',
    'sub',
    'sup',
    'mark',
    'small',
    'abbr',
    'ul',
    'ol',
    'li',
    'dl',
    'dt',
    'dd',
    'a',
    'img',
    'table',
    'thead',
    'tbody',
    'tfoot',
    'tr',
    'th',
    'td',
    'details',
    'summary',
    'div',
    'span',
    'picture',
    'source',
    'input',
    'label',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'name'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    source: ['srcset', 'media'],
    th: ['align', 'colspan', 'rowspan'],
    td: ['align', 'colspan', 'rowspan'],
    code: ['class'],
    details: ['open'],
    input: ['type', 'checked', 'disabled', 'class'],
    label: ['for', 'class'],
    ul: ['class'],
    ol: ['start', 'class'],
    li: ['class'],
    span: ['class'],
    '*': ['id'],
  },
  allowedClasses: {
    code: [/^language-[\w-]+$/],
    // highlight.js's token classes (`hljs-title function_` has a second, suffixed class).
    span: [/^hljs-[\w-]+$/, /^[a-z]+_$/],
    ul: ['task-list-container'],
    ol: ['task-list-container'],
    li: ['task-list-item'],
    input: ['task-list-item-checkbox'],
    label: ['task-list-item-label'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowProtocolRelative: false,
  transformTags: { '*': prefixIds },
};
SANITIZE.allowedAttributes = { ...SANITIZE.allowedAttributes, a: ['href', 'title', 'name', 'rel'] };

/**
 * Markdown → sanitized HTML. `context`: the repository the notes belong to, so links to its
 * commits and comparisons read like GitHub's (`585460c`, `v1.0.0...v1.1.0`).
 */
export function renderMarkdown(text: string | null, context?: NotesContext, mentions?: ReadonlySet<string>): string {
  if (!text) return '';
  const env: NotesEnv = { ...(context ? { repo: context } : {}), ...(mentions ? { mentions } : {}) };
  return sanitizeHtml(md.render(text, env), SANITIZE);
}

/** Markdown → plain text (what GitHub's `body_text` carries). */
export function renderPlainText(text: string | null): string {
  if (!text) return '';
  const html = md.render(text);
  const stripped = sanitizeHtml(html, { allowedTags: [], allowedAttributes: {} });
  return stripped
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
