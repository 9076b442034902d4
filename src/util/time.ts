/** Timestamps as GitHub writes them: UTC ISO-8601 with whole seconds and a `Z`. */
export function isoSeconds(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Normalises any git or ISO date string to GitHub's form. */
export function toIsoSeconds(value: string): string {
  return isoSeconds(new Date(value));
}
