/**
 * @module webhooks/runtime
 * The outbound policy and the secret box of a configuration, built once per configuration (they
 * are derived from it alone, so every node builds the same ones).
 */
import type { WharfConfig } from '../config/config.ts';
import { OutboundPolicy } from '../net/outbound-policy.ts';
import { SecretBox } from '../util/secret-box.ts';

const policies = new WeakMap<WharfConfig, OutboundPolicy>();
const boxes = new WeakMap<WharfConfig, SecretBox>();

export function outboundPolicyFor(config: WharfConfig): OutboundPolicy {
  let policy = policies.get(config);
  if (!policy) {
    policy = new OutboundPolicy(config.outboundAllowedHosts);
    policies.set(config, policy);
  }
  return policy;
}

export function secretBoxFor(config: WharfConfig): SecretBox {
  let box = boxes.get(config);
  if (!box) {
    box = SecretBox.fromFile(config.instanceKeyFile);
    boxes.set(config, box);
  }
  return box;
}
