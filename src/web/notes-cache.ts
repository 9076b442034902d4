/**
 * @module web/notes-cache
 * Rendering Markdown costs about a millisecond per release, which dominates a page of ten. The
 * rendered HTML depends only on the text and the repository it belongs to, so it is cached by
 * their hash (bounded, derived data: safe with several nodes and never stale).
 */
import { createHash } from 'node:crypto';
import { renderMarkdown, type NotesContext } from '../render/markdown.ts';
import { RecencyOrder } from '../util/recency-order.ts';
import { proxyImages, type ImageProxySigner } from './image-proxy.ts';

export interface NotesOptions {
  /** The repository and web origin, so links to its commits read `585460c` (as in `body_html`). */
  context: NotesContext;
  /**
   * The level of the release's title on the page (1 on its own page, 2 in a list), so the
   * notes' headings nest under it instead of competing with it (`# Changes` becomes an h2 or
   * h3). Feeds leave it out and keep the levels of `body_html`.
   */
  headingsBelow?: number;
  /** Unique on the page (the release's id), for the task lists' ids. */
  scope?: string;
  /** Lower-cased logins that exist among those the notes mention (`@login` becomes a link). */
  mentions?: ReadonlySet<string>;
  /** Serve images on other hosts through the image proxy (pages; feeds keep the original URLs). */
  images?: { origin: string; signer: ImageProxySigner } | null;
}

const MAX_ENTRIES = 1000;
/** Rendered notes by hash, oldest used first: the eviction order (`util/recency-order.ts`). */
const cache = new Map<string, { html: string; order: number }>();
const order = new RecencyOrder();

/** A release's notes for a page or a feed: `body_html`, adapted to the page it sits in. */
export function renderNotes(body: string | null, options: NotesOptions): string {
  const rendered = renderCached(body, options.context, options.mentions);
  if (!options.headingsBelow) return rendered;
  const demoted = focusableCode(demoteHeadings(rendered, options.headingsBelow));
  const page = options.images ? proxyImages(demoted, options.images.origin, options.images.signer) : demoted;
  return options.scope ? scopeTaskIds(page, options.scope) : page;
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

function renderCached(body: string | null, context: NotesContext, mentions: ReadonlySet<string> | undefined): string {
  if (!body) return '';
  const key = createHash('sha256')
    .update(JSON.stringify([context.web, context.owner, context.repo, body, mentions ? [...mentions].sort() : []]))
    .digest('base64');
  const hit = cache.get(key);
  if (hit !== undefined) {
    order.used(cache, key, hit);
    return hit.html;
  }
  const rendered = renderMarkdown(body, context, mentions);
  cache.set(key, { html: rendered, order: order.next() });
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  return rendered;
}
