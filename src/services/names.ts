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
