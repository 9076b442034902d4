/**
 * @module net/outbound-policy
 * Which destinations Wharf's own outbound requests (webhooks today; mirrors and an image proxy
 * later) may reach. By default none inside: loopback, link-local, private (RFC 1918, CGNAT),
 * unique-local, multicast and unspecified addresses are refused, so a hook cannot be pointed at
 * the server's own admin port or a cloud metadata service. `WHARF_OUTBOUND_ALLOWED_HOSTS` opens
 * chosen destinations: CIDRs, host names (`ci.internal`, `*.corp.example`) or `*` for everything.
 *
 * The check is made on the address actually connected to (see net/outbound-request.ts), so a
 * name that resolves to a public address when a hook is saved and to 127.0.0.1 later (DNS
 * rebinding) is still refused.
 */
import { BlockList, isIP } from 'node:net';

const BLOCKED_V4 = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const;

const BLOCKED_V6 = [
  ['::', 128],
  ['::1', 128],
  ['fe80::', 10],
  ['fc00::', 7],
  ['ff00::', 8],
] as const;

export class OutboundRefusedError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`refused to connect to ${host} (${address}): internal address not allowed by WHARF_OUTBOUND_ALLOWED_HOSTS`);
  }
}

/** `::ffff:1.2.3.4` (and its hex spelling) is 1.2.3.4 as far as routing goes. */
function unmapV4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return m[1]!;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const hi = Number.parseInt(hex[1]!, 16);
    const lo = Number.parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return address;
}

export class OutboundPolicy {
  readonly #any: boolean;
  readonly #hosts: string[];
  readonly #suffixes: string[];
  readonly #allowed = new BlockList();
  readonly #blocked = new BlockList();

  /** `entries` as validated by the configuration: CIDRs, addresses, host names, `*.domain`, `*`. */
  constructor(entries: readonly string[]) {
    this.#any = entries.includes('*');
    this.#hosts = [];
    this.#suffixes = [];
    for (const entry of entries) {
      if (entry === '*') continue;
      if (entry.includes('/')) {
        const [address, bits] = entry.split('/') as [string, string];
        this.#allowed.addSubnet(address, Number(bits), isIP(address) === 6 ? 'ipv6' : 'ipv4');
      } else if (isIP(entry)) {
        this.#allowed.addAddress(unmapV4(entry), isIP(unmapV4(entry)) === 6 ? 'ipv6' : 'ipv4');
      } else if (entry.startsWith('*.')) {
        this.#suffixes.push(entry.slice(1).toLowerCase());
      } else {
        this.#hosts.push(entry.toLowerCase());
      }
    }
    for (const [net, bits] of BLOCKED_V4) this.#blocked.addSubnet(net, bits, 'ipv4');
    for (const [net, bits] of BLOCKED_V6) this.#blocked.addSubnet(net, bits, 'ipv6');
  }

  /** A host name listed in the setting: any address it resolves to is allowed. */
  allowsHostName(host: string): boolean {
    if (this.#any) return true;
    const h = host.toLowerCase().replace(/\.$/, '');
    return this.#hosts.includes(h) || this.#suffixes.some((s) => h.endsWith(s));
  }

  /** Whether connecting to `address` (an IP) is allowed. */
  allowsAddress(address: string): boolean {
    if (this.#any) return true;
    const plain = unmapV4(address.replace(/^\[|\]$/g, ''));
    const family = isIP(plain) === 6 ? 'ipv6' : 'ipv4';
    if (this.#allowed.check(plain, family)) return true;
    return !this.#blocked.check(plain, family);
  }

  /** Throws OutboundRefusedError unless `host` resolved to `address` may be reached. */
  check(host: string, address: string): void {
    if (this.allowsHostName(host)) return;
    if (!this.allowsAddress(address)) throw new OutboundRefusedError(host, address);
  }
}
