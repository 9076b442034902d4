/**
 * @module web/cookies
 * Reading and writing the two cookies the pages use, without a cookie plugin.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'wharf_session';
/** Pre-session CSRF cookie for the sign-in form (double-submit: the form echoes its value). */
export const SIGNIN_CSRF_COOKIE = 'wharf_signin';

export function readCookie(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return null;
    }
  }
  return null;
}

interface CookieOptions {
  maxAgeSeconds: number;
}

function isHttps(request: FastifyRequest): boolean {
  return request.urls.web.startsWith('https:');
}

/** `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` whenever the public URL is https. */
export function setCookie(request: FastifyRequest, reply: FastifyReply, name: string, value: string, options: CookieOptions): void {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${options.maxAgeSeconds}`];
  if (isHttps(request)) parts.push('Secure');
  // Fastify appends to `Set-Cookie` on every call; handing it the old list too sent it twice.
  reply.header('set-cookie', parts.join('; '));
}

export function clearCookie(request: FastifyRequest, reply: FastifyReply, name: string): void {
  setCookie(request, reply, name, '', { maxAgeSeconds: 0 });
}
