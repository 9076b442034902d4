/**
 * @module services/principal-cache
 * Who a presented token is, remembered so that a client polling the API is not looked up in the
 * database on every request. Each entry holds the credentials' generation it was looked up at
 * (`db/repos/generations-repo.ts`: triggers bump it when any token is revoked or changed and when
 * an account is suspended, deleted or its site administration changes, on any node or through the
 * CLI), and is used only while that generation is current: revocation and suspension are seen on
 * the next request. The lifetime (`WHARF_PRINCIPAL_CACHE_TTL_MS`) bounds only how stale a token's
 * `last_used_at` may get; an expiry date is checked on every use.
 *
 * Entries are filed under the token's hash (`hashToken`, what the database stores), never the
 * token: a process's memory can be read (a heap dump, a core file, a debugger), and no raw token
 * should outlive the request that presented it there. The hash is computed once per request and
 * is also what the database lookup of a token not remembered uses (`authenticateTokenHash`).
 */
import type { Principal } from './tokens.ts';

interface Entry {
  principal: Principal;
  generation: number;
  until: number;
}

export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();

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
      return undefined;
    }
    return { user: entry.principal.user, token: entry.principal.token, scopes: entry.principal.scopes };
  }

  set(hash: string, principal: Principal, generation: number): void {
    if (!this.enabled) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(hash, { principal: { user: principal.user, token: principal.token, scopes: principal.scopes }, generation, until: this.now() + this.ttlMs });
  }
}
