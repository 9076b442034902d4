/**
 * The outbound guard every request Wharf makes of its own goes through: internal addresses are
 * refused by default, per range, for literal addresses and for names that resolve inside (the
 * check is on the address connected to), and WHARF_OUTBOUND_ALLOWED_HOSTS opens them. A real
 * receiver on loopback proves a refused request never reaches it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundPolicy, OutboundRefusedError } from '../../src/net/outbound-policy.ts';
import { outboundRequest } from '../../src/net/outbound-request.ts';
import { loadConfig } from '../../src/config/config.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await WebhookReceiver.start();
});
afterAll(async () => {
  await receiver?.close();
});

const BLOCKED = [
  ['loopback', '127.0.0.1'],
  ['loopback (other)', '127.8.9.10'],
  ['unspecified', '0.0.0.0'],
  ['private 10/8', '10.1.2.3'],
  ['private 172.16/12', '172.20.0.1'],
  ['private 192.168/16', '192.168.1.1'],
  ['carrier-grade NAT', '100.64.0.1'],
  ['link-local (cloud metadata)', '169.254.169.254'],
  ['multicast', '224.0.0.1'],
  ['IPv6 loopback', '::1'],
  ['IPv6 unspecified', '::'],
  ['IPv6 link-local', 'fe80::1'],
  ['IPv6 unique-local', 'fd12:3456::1'],
  ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
  ['IPv4-mapped private (hex)', '::ffff:a00:1'],
] as const;

function request(policy: OutboundPolicy, url: string) {
  return outboundRequest(policy, { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 2000, maxResponseBytes: 1024 });
}

describe('outbound policy', () => {
  it('refuses every internal range by default and allows public addresses', () => {
    const policy = new OutboundPolicy([]);
    for (const [range, address] of BLOCKED) expect(policy.allowsAddress(address), range).toBe(false);
    for (const address of ['8.8.8.8', '140.82.112.3', '2606:4700::1111']) expect(policy.allowsAddress(address)).toBe(true);
  });

  it('opens CIDRs, host names, subdomains or everything when configured', () => {
    const policy = new OutboundPolicy(['10.0.0.0/8', 'ci.internal', '*.corp.example', 'fd00::/8']);
    expect(policy.allowsAddress('10.9.9.9')).toBe(true);
    expect(policy.allowsAddress('fd00::5')).toBe(true);
    expect(policy.allowsAddress('192.168.0.1')).toBe(false);
    expect(policy.allowsHostName('CI.internal')).toBe(true);
    expect(policy.allowsHostName('build.corp.example')).toBe(true);
    expect(policy.allowsHostName('corp.example.evil')).toBe(false);
    expect(new OutboundPolicy(['*']).allowsAddress('127.0.0.1')).toBe(true);
  });

  it('refuses malformed settings at start-up', () => {
    expect(() => loadConfig({ WHARF_OUTBOUND_ALLOWED_HOSTS: '10.0.0.0/99' })).toThrow(/WHARF_OUTBOUND_ALLOWED_HOSTS/);
    expect(() => loadConfig({ WHARF_OUTBOUND_ALLOWED_HOSTS: 'http://x' })).toThrow(/WHARF_OUTBOUND_ALLOWED_HOSTS/);
    expect(loadConfig({ WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1, 10.0.0.0/8 ci.internal' }).outboundAllowedHosts).toEqual(['127.0.0.1', '10.0.0.0/8', 'ci.internal']);
  });
});

describe('outbound requests', () => {
  it('never reach a loopback receiver by address or by a name that resolves to loopback', async () => {
    const policy = new OutboundPolicy([]);
    await expect(request(policy, receiver.url('127.0.0.1'))).rejects.toBeInstanceOf(OutboundRefusedError);
    await expect(request(policy, `http://[::ffff:127.0.0.1]:${receiver.port}/hook`)).rejects.toBeInstanceOf(OutboundRefusedError);
    // A name is checked on what it resolves to when connecting (DNS rebinding cannot slip past).
    await expect(request(policy, receiver.url('localhost'))).rejects.toBeInstanceOf(OutboundRefusedError);
    expect(receiver.received).toHaveLength(0);
  });

  it('reach it once allowed, without following redirects and keeping only the first bytes', async () => {
    const allowed = new OutboundPolicy(['127.0.0.1/32']);
    receiver.behaviour = () => 302;
    const res = await request(allowed, receiver.url());
    expect(res.status).toBe(302);
    expect(receiver.received).toHaveLength(1);
    expect((await request(new OutboundPolicy(['localhost']), receiver.url('localhost'))).status).toBe(302);
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    receiver.behaviour = () => 'hang';
    const started = Date.now();
    await expect(
      outboundRequest(new OutboundPolicy(['*']), { method: 'POST', url: receiver.url(), headers: {}, body: '{}', timeoutMs: 300, maxResponseBytes: 10 }),
    ).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
