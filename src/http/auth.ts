/**
 * @module http/auth
 * Reads the caller's credentials: `Authorization: token X`, `Bearer X`, or HTTP Basic with the
 * token as password (as git and some upload clients send it). No header means anonymous;
 * a header that does not resolve to a live token is a 401 "Bad credentials", as on GitHub.
 */
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { UnauthorizedError } from '../domain/errors.ts';
import { readCredentialGeneration } from '../db/repos/generations-repo.ts';
import { noteTokenAddress } from '../services/audit.ts';
import { authenticateToken, hashToken, type Principal } from '../services/tokens.ts';

export type Credentials = { kind: 'none' } | { kind: 'token'; candidates: string[] } | { kind: 'malformed' };

export function readCredentials(header: string | undefined): Credentials {
  if (!header || header.trim() === '') return { kind: 'none' };
  const match = /^\s*(\S+)\s+(.+?)\s*$/.exec(header);
  if (!match) return { kind: 'malformed' };
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!;
  if (scheme === 'token' || scheme === 'bearer') return { kind: 'token', candidates: [value] };
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon >= 0 ? decoded.slice(0, colon) : decoded;
    const pass = colon >= 0 ? decoded.slice(colon + 1) : '';
    // git sends the token as the password; a few tools send it as the user name.
    const candidates = [pass, user].filter((v) => v.length > 0);
    return candidates.length ? { kind: 'token', candidates } : { kind: 'malformed' };
  }
  return { kind: 'malformed' };
}

/** Resolves the request's principal: null for anonymous; throws 401 for bad credentials. */
export async function resolvePrincipal(ctx: AppContext, request: FastifyRequest): Promise<Principal | null> {
  return principalOf(ctx, request.headers.authorization, request.ip, request.generations?.credentials);
}

/**
 * `resolvePrincipal` from the `Authorization` header and the client's address, with the
 * credentials' generation when it was read already (with a remembered read's repository). At once
 * (no promise) when that generation was read and the token's principal is remembered at it, from
 * an address it was used from before: the fast path's usual case (`remembered-reads.ts`).
 */
export function principalOf(ctx: AppContext, authorization: string | undefined, address: string, generationRead?: number): Principal | null | Promise<Principal | null> {
  const creds = readCredentials(authorization);
  if (creds.kind === 'none') return null;
  if (creds.kind === 'token' && generationRead !== undefined && ctx.principals.enabled && creds.candidates.length === 1) {
    const presented = creds.candidates[0]!;
    const remembered = presented.length > 0 && presented.length <= 512 ? ctx.principals.getPresented(presented, generationRead, hashToken) : undefined;
    if (remembered && remembered.token.last_used_ip === address) {
      remembered.address = address;
      return remembered;
    }
  }
  return principalLookedUp(ctx, creds, address, generationRead);
}

async function principalLookedUp(ctx: AppContext, creds: Credentials, address: string, generationRead?: number): Promise<Principal | null> {
  if (creds.kind === 'token') {
    for (const candidate of creds.candidates) {
      const principal = await authenticateRemembered(ctx, candidate, generationRead);
      if (principal) return atAddress(ctx, principal, address);
    }
  }
  throw new UnauthorizedError('Bad credentials');
}

/**
 * `authenticateToken`, through `ctx.principals`: a principal remembered at the current
 * credentials' generation (one primary-key read, or read already with a remembered read's
 * repository generation) is still who the token is.
 */
async function authenticateRemembered(ctx: AppContext, presented: string, generationRead?: number): Promise<Principal | null> {
  if (!ctx.principals.enabled) return authenticateToken(ctx.db, presented);
  if (presented.length === 0 || presented.length > 512) return null;
  const hash = hashToken(presented);
  // Read before the token: a principal looked up after a change is never filed under an older generation.
  const generation = generationRead ?? (await readCredentialGeneration(ctx.db));
  const remembered = ctx.principals.get(hash, generation);
  if (remembered) return remembered;
  const principal = await authenticateToken(ctx.db, presented);
  if (principal) ctx.principals.set(hash, principal, generation);
  return principal;
}

/** Notes where the caller is (for the audit log), auditing a token's first use from an address. */
export async function atAddress(ctx: AppContext, principal: Principal, address: string): Promise<Principal> {
  principal.address = address;
  await noteTokenAddress(ctx.db, principal, address);
  return principal;
}
