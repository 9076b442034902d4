import { describe, expect, it } from 'vitest';
import { PrincipalCache } from '../../src/services/principal-cache.ts';
import { hashToken, type Principal } from '../../src/services/tokens.ts';

function principalFor(id: number, expiresAt: string | null = null): Principal {
  return {
    user: { id, login: `user${id}`, site_admin: false },
    token: { id, expires_at: expiresAt, last_used_ip: null },
    scopes: new Set(['repo']),
  } as unknown as Principal;
}

/** `hashToken`, counting its calls. */
function countingHash(): { hashOf: (token: string) => string; calls: () => number } {
  let calls = 0;
  return {
    hashOf: (token) => {
      calls += 1;
      return hashToken(token);
    },
    calls: () => calls,
  };
}

describe('PrincipalCache by the token as presented', () => {
  it('hashes a remembered token once, and resolves it only under its own hash', () => {
    const cache = new PrincipalCache(60_000);
    cache.set(hashToken('token-a'), principalFor(1), 7);
    const { hashOf, calls } = countingHash();
    expect(cache.getPresented('token-a', 7, hashOf)?.user.id).toBe(1);
    expect(cache.getPresented('token-a', 7, hashOf)?.user.id).toBe(1);
    expect(calls()).toBe(1);
    // A token never looked up is not remembered, whatever it is presented as.
    expect(cache.getPresented('token-b', 7, hashOf)).toBeUndefined();
    expect(cache.getPresented('token-b', 7, hashOf)).toBeUndefined();
    expect(calls()).toBe(3);
  });

  it('forgets the token with its principal when the credentials generation moves on', () => {
    const cache = new PrincipalCache(60_000);
    cache.set(hashToken('token-a'), principalFor(1), 7);
    const { hashOf, calls } = countingHash();
    expect(cache.getPresented('token-a', 7, hashOf)).toBeDefined();
    // Revoked or changed somewhere: the generation was bumped, the principal is not used...
    expect(cache.getPresented('token-a', 8, hashOf)).toBeUndefined();
    // ...and neither is the hash kept for it: looked up again, it is hashed again.
    expect(cache.getPresented('token-a', 7, hashOf)).toBeUndefined();
    expect(calls()).toBe(2);
    cache.set(hashToken('token-a'), principalFor(2), 8);
    expect(cache.getPresented('token-a', 8, hashOf)?.user.id).toBe(2);
  });

  it('forgets the token when its principal expires from the cache or the token expires', () => {
    let now = 1_000_000;
    const cache = new PrincipalCache(1_000, 10_000, () => now);
    cache.set(hashToken('token-a'), principalFor(1), 1);
    cache.set(hashToken('token-b'), principalFor(2, new Date(now + 500).toISOString()), 1);
    const { hashOf } = countingHash();
    expect(cache.getPresented('token-a', 1, hashOf)).toBeDefined();
    expect(cache.getPresented('token-b', 1, hashOf)).toBeDefined();
    now += 600;
    expect(cache.getPresented('token-b', 1, hashOf)).toBeUndefined();
    expect(cache.getPresented('token-a', 1, hashOf)).toBeDefined();
    now += 500;
    expect(cache.getPresented('token-a', 1, hashOf)).toBeUndefined();
  });
});
