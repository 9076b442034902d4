/**
 * @module web/avatars
 * `/avatars/u/{id}`: the `avatar_url` every user object carries. Wharf stores no pictures, so
 * each account gets a generated SVG: its initial on a colour derived from its id. The SVG is
 * built from escaped text and served with a CSP that forbids scripts, like any image should be.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { accountWithId } from '../services/accounts.ts';
import { NotFoundError } from '../domain/errors.ts';
import { html } from './html.ts';

export function avatarSvg(id: number, login: string): string {
  const hue = (id * 137) % 360;
  const initial = (login[0] ?? '?').toUpperCase();
  return html`<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128"><rect width="128" height="128" fill="hsl(${hue}, 55%, 45%)"/><text x="64" y="84" font-family="sans-serif" font-size="64" text-anchor="middle" fill="#fff">${initial}</text></svg>`
    .value;
}

export function avatarRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { id: string } }>('/avatars/u/:id', async (request, reply) => {
    const id = /^\d{1,15}$/.test(request.params.id) ? Number(request.params.id) : NaN;
    const account = Number.isSafeInteger(id) ? await accountWithId(ctx, id) : undefined;
    if (!account) throw new NotFoundError();
    reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'public, max-age=86400');
    return reply.type('image/svg+xml; charset=utf-8').send(avatarSvg(account.id, account.login));
  });
}
