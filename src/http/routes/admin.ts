/**
 * @module http/routes/admin
 * GitHub Enterprise Server's site-administration API: create users, impersonation tokens and
 * organizations (site administrators only); and revocation of tokens, which takes effect on the
 * next request on every route, git included.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { InvalidRequestError, ValidationError } from '../../domain/errors.ts';
import { createOrganization, createUser, getUser } from '../../services/accounts.ts';
import { actorOf } from '../../services/audit.ts';
import { IMPERSONATION_NOTE, issueToken, revokeImpersonationTokens, revokeTokenAs } from '../../services/tokens.ts';
import { bodyObject } from '../json-body.ts';
import { parsePathId, requireSiteAdmin, requireUser } from '../route-helpers.ts';
import { organizationSimple, simpleUser } from '../serializers/users.ts';

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) throw new InvalidRequestError(`Invalid request.\n\n"${field}" wasn't supplied.`);
  if (typeof value !== 'string') throw new InvalidRequestError(`Invalid request.\n\nFor 'properties/${field}', ${JSON.stringify(value)} is not a string.`);
  return value;
}

/**
 * `expires_at` is a Wharf extension to the impersonation-token body (GHES tokens made there never
 * expire): an ISO-8601 time in the future, stored to the second.
 */
function parseExpiry(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms) || ms <= Date.now()) throw new ValidationError([{ resource: 'OauthAccess', field: 'expires_at', code: 'invalid' }]);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function adminRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post('/admin/users', async (request, reply) => {
    const caller = requireSiteAdmin(request);
    const body = bodyObject(request.body);
    const login = requiredString(body, 'login');
    const email = body.email === undefined || body.email === null ? null : requiredString(body, 'email');
    if (body.suspended !== undefined && typeof body.suspended !== 'boolean') {
      throw new InvalidRequestError(`Invalid request.\n\nFor 'properties/suspended', ${JSON.stringify(body.suspended)} is not a boolean.`);
    }
    const user = await createUser(ctx, { login, email, suspended: body.suspended === true }, actorOf(caller));
    return reply.code(201).send(simpleUser(user, request.urls));
  });

  app.post<{ Params: { username: string } }>('/admin/users/:username/authorizations', async (request, reply) => {
    const caller = requireSiteAdmin(request);
    const user = await getUser(ctx, request.params.username);
    const body = bodyObject(request.body);
    const scopes = body.scopes ?? [];
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && /^[a-z:_]+$/.test(s))) {
      throw new ValidationError([{ resource: 'OauthAccess', field: 'scopes', code: 'invalid' }]);
    }
    const expiresAt = parseExpiry(body.expires_at);
    const { token, row } = await issueToken(ctx.db, user, scopes as string[], { note: IMPERSONATION_NOTE, expiresAt, actor: actorOf(caller) });
    const url = `${request.urls.api}/authorizations/${row.id}`;
    return reply.code(201).send({
      id: row.id,
      url,
      app: { name: 'GitHub Site Administrator', url: `${request.urls.web}/`, client_id: '00000000000000000000' },
      token,
      hashed_token: row.token_hash,
      token_last_eight: row.token_last_eight,
      note: row.note,
      note_url: null,
      created_at: row.created_at,
      updated_at: row.created_at,
      scopes: row.scopes.split(' ').filter(Boolean),
      fingerprint: null,
      expires_at: row.expires_at,
    });
  });

  app.delete<{ Params: { username: string } }>('/admin/users/:username/authorizations', async (request, reply) => {
    const caller = requireSiteAdmin(request);
    const user = await getUser(ctx, request.params.username);
    await revokeImpersonationTokens(ctx.db, user, actorOf(caller));
    return reply.code(204).send();
  });

  // The OAuth Authorizations API GHES still describes: a caller may revoke its own tokens.
  app.delete<{ Params: { authorization_id: string } }>('/authorizations/:authorization_id', async (request, reply) => {
    const caller = requireUser(request);
    await revokeTokenAs(ctx.db, caller, parsePathId(request.params.authorization_id), actorOf(caller));
    return reply.code(204).send();
  });

  app.post('/admin/organizations', async (request, reply) => {
    const caller = requireSiteAdmin(request);
    const body = bodyObject(request.body);
    const login = requiredString(body, 'login');
    const admin = requiredString(body, 'admin');
    const profileName = body.profile_name === undefined ? null : requiredString(body, 'profile_name');
    const org = await createOrganization(ctx, login, admin, profileName, actorOf(caller));
    return reply.code(201).send(organizationSimple(org, request.urls));
  });
}
