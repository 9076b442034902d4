/**
 * @module services/names
 * Name rules as GitHub applies them. Logins: alphanumerics and single hyphens, not at either end,
 * at most 39 characters. Repository names: ASCII letters, digits, `.`, `-`, `_`, at most 100
 * characters, not `.` or `..`, and not ending in `.git` (the smart-HTTP suffix).
 */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

/** Logins that would collide with Wharf's own top-level web routes. */
const RESERVED_LOGINS = new Set(['api', 'login', 'logout', 'session', 'settings', 'static', 'assets', 'avatars', 'new', 'explore', 'healthz', 'favicon.ico', 'robots.txt']);

export function isValidLogin(login: unknown): login is string {
  return typeof login === 'string' && LOGIN.test(login) && !RESERVED_LOGINS.has(login.toLowerCase());
}

export function isValidRepositoryName(name: unknown): name is string {
  return typeof name === 'string' && REPO.test(name) && name !== '.' && name !== '..' && !name.toLowerCase().endsWith('.git');
}

/**
 * A ref as archive and download URLs may name it: a branch or tag name (short or under `refs/`)
 * or a commit id, never a revision expression. git reads `v1^{/regex}`, `main~3`, `HEAD:path`
 * and `main@{yesterday}` as searches and paths, which let a URL choose an archive's name and
 * contents the repository never named; so the characters git's ref-name rules forbid
 * (`git check-ref-format`: `^ ~ : ? * [ \`, space, control characters, `..`, `@{`, a leading or
 * trailing `/`, `//`, a trailing `.` or `.lock`) are refused here before git sees the string.
 */
export function isPlainRef(ref: string): boolean {
  if (ref.length === 0 || ref.length > 1024) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return false;
  if (ref.includes('..') || ref.includes('@{') || ref === '@' || ref.includes('//')) return false;
  if (ref.startsWith('/') || ref.startsWith('-') || ref.endsWith('/') || ref.endsWith('.') || ref.endsWith('.lock')) return false;
  return ref.split('/').every((part) => !part.startsWith('.'));
}
