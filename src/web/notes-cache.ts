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

export function renderNotes(body: string | null): string {
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
