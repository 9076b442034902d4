/**
 * @module web/format
 * Display helpers for pages: sizes in human units, dates as `<time>` elements, URL paths.
 */
import { html, type Html } from './html.ts';

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'];

/** 1536 → "1.5 KB" (powers of 1024, as GitHub's release pages show sizes). */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1).replace(/\.0$/, '')} ${UNITS[unit]}`;
}

const DATE_FORMAT = new Intl.DateTimeFormat('en', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });

/** A date as readable text with the exact instant in `datetime` and the title. */
export function timeTag(iso: string | null | undefined): Html {
  if (!iso) return html``;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return html``;
  return html`<time datetime="${iso}" title="${iso}">${DATE_FORMAT.format(date)}</time>`;
}

/** Joins path segments for a web URL, percent-encoding each (tags keep their `/` as separators). */
export function webPath(...segments: string[]): string {
  return '/' + segments.map((s) => s.split('/').map(encodeURIComponent).join('/')).join('/');
}

export function repoPath(owner: string, repo: string, ...rest: string[]): string {
  return webPath(owner, repo, ...rest);
}
