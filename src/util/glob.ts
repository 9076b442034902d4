/**
 * @module util/glob
 * Shell-style name patterns for tag and asset filters: `*` any run of characters (slashes
 * included, tags like `release/1.0` are one name), `?` one character, everything else literal.
 */
export function globMatcher(pattern: string | null): (name: string) => boolean {
  if (pattern === null || pattern === '' || pattern === '*') return () => true;
  const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  const re = new RegExp(`^${source}$`, 's');
  return (name) => re.test(name);
}
