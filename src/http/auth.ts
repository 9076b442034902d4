/**
 * @module http/auth
 * Reads the caller's credentials: `Authorization: token X`, `Bearer X`, or HTTP Basic with the
 * token as password (as git and some upload clients send it). No header means anonymous;
 * a header that does not resolve to a live token is a 401 "Bad credentials", as on GitHub.
 */
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { UnauthorizedError } from '../domain/errors.ts';
import { noteTokenAddress } from '../services/audit.ts';
import { credentialGeneration } from '../services/generations.ts';
import { authenticateTokenHash, hashToken, type Principal } from '../services/tokens.ts';

export type Credentials = { kind: 'none' } | { kind: 'token'; candidates: string[] } | { kind: 'malformed' };

export function readCredentials(header: string | undefined): Credentials {
  if (!header) return { kind: 'none' };
  const plain = plainToken(header);
  if (plain !== undefined) return { kind: 'token', candidates: [plain] };
  if (header.trim() === '') return { kind: 'none' };
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

/**
 * The token of `token X` or `Bearer X` as clients send it (one space, nothing around the token),
 * read without the general expression of `readCredentials`, which gives the same for these: every
 * authenticated request reads its header, and this costs a fraction of the expression.
 */
function plainToken(header: string): string | undefined {
  const start = header.startsWith('token ') ? 6 : header.startsWith('Bearer ') ? 7 : 0;
  if (start === 0 || header.length === start) return undefined;
  return visibleAscii(header.charCodeAt(start)) && visibleAscii(header.charCodeAt(header.length - 1)) ? header.slice(start) : undefined;
}

function visibleAscii(code: number): boolean {
  return code > 0x20 && code < 0x7f;
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
 * Each token presented is hashed once, and its hash (never the token) is what is remembered and
 * what the database is asked for.
 */
export function principalOf(ctx: AppContext, authorization: string | undefined, address: string, generationRead?: number): Principal | null | Promise<Principal | null> {
  const creds = readCredentials(authorization);
  if (creds.kind === 'none') return null;
  const hashes = creds.kind === 'token' ? hashesOf(creds.candidates) : [];
  if (generationRead !== undefined && ctx.principals.enabled && hashes.length === 1) {
    const remembered = ctx.principals.get(hashes[0]!, generationRead);
    if (remembered && remembered.token.last_used_ip === address) {
      remembered.address = address;
      return remembered;
    }
  }
  return principalLookedUp(ctx, hashes, address, generationRead);
}

/** The hashes of the candidates a token could be (no longer than 512 characters), in order. */
function hashesOf(candidates: string[]): string[] {
  const out: string[] = [];
  for (const candidate of candidates) if (candidate.length > 0 && candidate.length <= 512) out.push(hashToken(candidate));
  return out;
}

async function principalLookedUp(ctx: AppContext, hashes: string[], address: string, generationRead?: number): Promise<Principal | null> {
  for (const hash of hashes) {
    const principal = await authenticateRemembered(ctx, hash, generationRead);
    if (principal) return atAddress(ctx, principal, address);
  }
  throw new UnauthorizedError('Bad credentials');
}

/**
 * `authenticateTokenHash`, through `ctx.principals`: a principal remembered at the current
 * credentials' generation (one primary-key read, or read already with a remembered read's
 * repository generation) is still who the token is.
 */
async function authenticateRemembered(ctx: AppContext, hash: string, generationRead?: number): Promise<Principal | null> {
  if (!ctx.principals.enabled) return authenticateTokenHash(ctx.db, hash);
  // Read before the token: a principal looked up after a change is never filed under an older generation.
  const generation = generationRead ?? (await credentialGeneration(ctx.db));
  const remembered = ctx.principals.get(hash, generation);
  if (remembered) return remembered;
  const principal = await authenticateTokenHash(ctx.db, hash);
  if (principal) ctx.principals.set(hash, principal, generation);
  return principal;
}

/** Notes where the caller is (for the audit log), auditing a token's first use from an address. */
export async function atAddress(ctx: AppContext, principal: Principal, address: string): Promise<Principal> {
  principal.address = address;
  await noteTokenAddress(ctx.db, principal, address);
  return principal;
}
