/**
 * @module domain/page
 * A page of a list, as GitHub pages them (`page`, `per_page`): what the services take and the API,
 * the pages and the `Link` header use. Absurd values are clamped as GitHub clamps them.
 */

export interface Page {
  page: number;
  perPage: number;
  offset: number;
}

const MAX_PAGE = 1_000_000;

function intParam(value: unknown): number | null {
  if (typeof value !== 'string' || !/^\s*-?\d+\s*$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/** Reads `page` and `per_page`; non-numbers fall back to the defaults, out-of-range values are clamped. */
export function parsePage(query: unknown, defaultPerPage = 30): Page {
  const q = (query ?? {}) as Record<string, unknown>;
  const rawPer = intParam(q.per_page);
  const rawPage = intParam(q.page);
  const perPage = rawPer === null || rawPer < 1 ? defaultPerPage : Math.min(rawPer, 100);
  const page = rawPage === null || rawPage < 1 ? 1 : Math.min(rawPage, MAX_PAGE);
  return { page, perPage, offset: (page - 1) * perPage };
}
