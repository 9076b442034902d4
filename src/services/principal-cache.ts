/**
 * @module services/principal-cache
 * Who a presented token is, remembered for a few seconds (`WHARF_PRINCIPAL_CACHE_TTL_MS`) so that a
 * client polling the API is not looked up in the database on every request. The bound is the
 * price: a token revoked, or a user suspended, by another node or by the CLI keeps working here for
 * at most that long (docs/performance.md#the-read-cache). This node forgets everything at once when
 * it revokes or suspends itself (`forgetAll`). An expiry date is checked on every use.
 */
import type { Principal } from './tokens.ts';

export class PrincipalCache {
  private readonly entries = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The principal of the token hashing to `hash`, if seen within the lifetime; a copy, so request-scoped fields stay per request. */
  get(hash: string): Principal | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    const now = this.now();
    const expires = entry.principal.token.expires_at;
    if (entry.until <= now || (expires && Date.parse(expires) <= now)) {
      this.entries.delete(hash);
      return undefined;
    }
    return { user: entry.principal.user, token: entry.principal.token, scopes: entry.principal.scopes };
  }

  set(hash: string, principal: Principal): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(hash, { principal: { user: principal.user, token: principal.token, scopes: principal.scopes }, until: this.now() + this.ttlMs });
  }

  /** After this node revoked a token or suspended or deleted a user: nothing it remembers may outlive that. */
  forgetAll(): void {
    this.entries.clear();
  }
}
