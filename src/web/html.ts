/**
 * @module web/html
 * A tiny typed, auto-escaping template tag in the spirit of Hono's `html` helper. Every value
 * interpolated into `` html`…` `` is escaped unless it is already `Html` (another template, or
 * `trustedHtml()` for the sanitized output of the Markdown renderer). Arrays are joined, and
 * `null`, `undefined` and `false` render as nothing, so conditionals read naturally.
 *
 * Templates must quote every attribute value; escaping covers both quote characters.
 */

/** Markup that is safe to emit as is. Only this module and `trustedHtml` create it. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Wraps markup produced by a sanitizer (release notes). Never pass user input here directly. */
export function trustedHtml(sanitized: string): Html {
  return new Html(sanitized);
}
