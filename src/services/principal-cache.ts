/**
 * @module services/principal-cache
 * Who a presented token is, remembered so that a client polling the API is not looked up in the
 * database on every request. Each entry holds the credentials' generation it was looked up at
 * (`db/repos/generations-repo.ts`: triggers bump it when any token is revoked or changed and when
 * an account is suspended, deleted or its site administration changes, on any node or through the
 * CLI), and is used only while that generation is current: revocation and suspension are seen on
 * the next request. The lifetime (`WHARF_PRINCIPAL_CACHE_TTL_MS`) bounds only how stale a token's
 * `last_used_at` may get; an expiry date is checked on every use.
 */
import type { Principal } from './tokens.ts';

interface Entry {
  principal: Principal;
  generation: number;
  until: number;
  /** The token as presented, once a request looked it up by that (`getPresented`). */
  presented?: string;
}

export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();
  /**
   * The hash of a token as presented, for the entries above only: a client polling the API sends
   * the same token on every request, and SHA-256 of it was a per-request cost. An entry here lives
   * exactly as long as its principal's (same generation, same lifetime, removed with it), so a
   * token is never hashed less safely than before: what it resolves to is still decided by the
   * entry under its hash.
   */
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** The principal of the token hashing to `hash` if looked up at `generation`; a copy, so request-scoped fields stay per request. */
  get(hash: string, generation: number): Principal | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    const now = this.now();
    const expires = entry.principal.token.expires_at;
    if (entry.generation !== generation || entry.until <= now || (expires && Date.parse(expires) <= now)) {
      this.entries.delete(hash);
      if (entry.presented !== undefined) this.hashes.delete(entry.presented);
      return undefined;
    }
    return { user: entry.principal.user, token: entry.principal.token, scopes: entry.principal.scopes };
  }

  /** `get` by the token as presented: `hashOf(presented)` once while its principal is remembered. */
  getPresented(presented: string, generation: number, hashOf: (token: string) => string): Principal | undefined {
    const known = this.hashes.get(presented);
    if (known !== undefined) return this.get(known, generation);
    const hash = hashOf(presented);
    const principal = this.get(hash, generation);
    const entry = principal && this.entries.get(hash);
    if (entry && entry.presented === undefined) {
      entry.presented = presented;
      this.hashes.set(presented, hash);
    }
    return principal;
  }

  set(hash: string, principal: Principal, generation: number): void {
    if (!this.enabled) return;
    if (this.entries.size >= this.maxEntries) {
      this.entries.clear();
      this.hashes.clear();
    }
    const old = this.entries.get(hash);
    if (old?.presented !== undefined) this.hashes.delete(old.presented);
    this.entries.set(hash, { principal: { user: principal.user, token: principal.token, scopes: principal.scopes }, generation, until: this.now() + this.ttlMs });
  }
}
