/**
 * @module webhooks/signature
 * GitHub's delivery signatures: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` and
 * the older `X-Hub-Signature: sha1=<hex HMAC-SHA1>`, both keyed with the hook's secret.
 */
import { createHmac } from 'node:crypto';

export function signatures(secret: string, body: string): { sha256: string; sha1: string } {
  return {
    sha256: `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    sha1: `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
  };
}
