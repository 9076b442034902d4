/**
 * @module web/notes-cache
 * Rendering Markdown costs about a millisecond per release, which dominates a page of ten. The
 * rendered HTML depends only on the text, so it is cached by the text's hash (bounded, derived
 * data: safe with several nodes and never stale).
 */
import { createHash } from 'node:crypto';
import { renderMarkdown } from '../render/markdown.ts';

const MAX_ENTRIES = 1000;
const cache = new Map<string, string>();

/**
 * A release's notes for a page. `headingsBelow`: the level of the release's title on that page
 * (1 on its own page, 2 in a list), so the notes' headings nest under it instead of competing
 * with it (`# Changes` becomes an h2 or h3). Feeds pass nothing and keep the levels of
 * `body_html`. `scope`: unique on the page (the release's id), for the task lists' ids.
 */
export function renderNotes(body: string | null, headingsBelow = 0, scope?: string): string {
  const rendered = renderCached(body);
  if (headingsBelow === 0) return rendered;
  const page = focusableCode(demoteHeadings(rendered, headingsBelow));
  return scope ? scopeTaskIds(page, scope) : page;
}

/**
 * Task-list checkboxes are numbered from 0 in each release's notes; a list page shows several
 * releases, so each release's numbers get its own scope to keep ids (and labels) unique.
 */
function scopeTaskIds(sanitized: string, scope: string): string {
  return sanitized.replace(/ (id|for)="user-content-task-item-(\d+)"/g, ` $1="user-content-${scope}-task-item-$2"`);
}

/** Code blocks and tables scroll sideways on narrow screens; keyboard users must reach them. */
function focusableCode(sanitized: string): string {
  return sanitized.replace(/<(pre|table)\b/g, '<$1 tabindex="0"');
}

/**
 * Shifts every heading of sanitized HTML down by `by` levels (h6 at most). Safe on the
 * sanitizer's output: a literal `<` in text or attributes is always escaped there, so every `<h`
 * is a tag.
 */
export function demoteHeadings(sanitized: string, by: number): string {
  return sanitized.replace(/<(\/?)h([1-6])\b/g, (_m, close: string, level: string) => `<${close}h${Math.min(6, Number(level) + by)}`);
}

function renderCached(body: string | null): string {
  if (!body) return '';
  const key = createHash('sha256').update(body).digest('base64');
  const hit = cache.get(key);
  if (hit !== undefined) {
    // Refresh its position so the oldest unused entry is the one evicted.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const rendered = renderMarkdown(body);
  cache.set(key, rendered);
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  return rendered;
}
