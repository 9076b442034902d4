import { describe, expect, it } from 'vitest';
import { PrincipalCache } from '../../src/services/principal-cache.ts';
import { hashToken, type Principal } from '../../src/services/tokens.ts';
import { reachableStrings } from '../support/reachable-strings.ts';

function principalFor(id: number, expiresAt: string | null = null): Principal {
  return {
    user: { id, login: `user${id}`, site_admin: false },
    token: { id, expires_at: expiresAt, last_used_ip: null },
    scopes: new Set(['repo']),
  } as unknown as Principal;
}

describe('PrincipalCache', () => {
  it('resolves a token only under its own hash, and keeps no token', () => {
    const cache = new PrincipalCache(60_000);
    const token = 'wharf_principal_cache_token_a_0123456789';
    cache.set(hashToken(token), principalFor(1), 7);
    expect(cache.get(hashToken(token), 7)?.user.id).toBe(1);
    expect(cache.get(hashToken('wharf_another_token'), 7)).toBeUndefined();
    const strings = reachableStrings(cache);
    // The walk does reach the entries (the hash and the user are there)...
    expect(strings).toContain(hashToken(token));
    expect(strings).toContain('user1');
    // ...and nothing in them is, contains or starts the token.
    expect(strings.some((s) => s.includes(token.slice(0, 16)))).toBe(false);
  });

  it('forgets a principal when the credentials generation moves on', () => {
    const cache = new PrincipalCache(60_000);
    cache.set(hashToken('token-a'), principalFor(1), 7);
    expect(cache.get(hashToken('token-a'), 7)).toBeDefined();
    // Revoked or changed somewhere: the generation was bumped, the principal is not used...
    expect(cache.get(hashToken('token-a'), 8)).toBeUndefined();
    // ...nor kept for the old generation.
    expect(cache.get(hashToken('token-a'), 7)).toBeUndefined();
    cache.set(hashToken('token-a'), principalFor(2), 8);
    expect(cache.get(hashToken('token-a'), 8)?.user.id).toBe(2);
  });

  it('forgets a principal when it expires from the cache or its token expires', () => {
    let now = 1_000_000;
    const cache = new PrincipalCache(1_000, 10_000, () => now);
    cache.set(hashToken('token-a'), principalFor(1), 1);
    cache.set(hashToken('token-b'), principalFor(2, new Date(now + 500).toISOString()), 1);
    expect(cache.get(hashToken('token-a'), 1)).toBeDefined();
    expect(cache.get(hashToken('token-b'), 1)).toBeDefined();
    now += 600;
    expect(cache.get(hashToken('token-b'), 1)).toBeUndefined();
    expect(cache.get(hashToken('token-a'), 1)).toBeDefined();
    now += 500;
    expect(cache.get(hashToken('token-a'), 1)).toBeUndefined();
  });

  it('hands out copies: what one request sets on its principal is not seen by the next', () => {
    const cache = new PrincipalCache(60_000);
    cache.set(hashToken('token-a'), principalFor(1), 1);
    cache.get(hashToken('token-a'), 1)!.address = '192.0.2.1';
    expect(cache.get(hashToken('token-a'), 1)!.address).toBeUndefined();
  });
});
