/**
 * @module http/log-redaction
 * Request lines as the log shows them, with credentials in the query string replaced by
 * `[REDACTED]`: `?access_token=` (which old clients still send), and the signatures of presigned
 * URLs. Logs are read by more people, and kept longer, than the tokens they would leak.
 */
import type { FastifyRequest } from 'fastify';

const CREDENTIAL_PARAMS = /([?&](?:access_token|token|client_secret|private_token|x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(CREDENTIAL_PARAMS, '$1[REDACTED]');
}

/** Fastify's own request serializer (method, url, host, address, port) with the URL redacted. */
export function redactedRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket ? request.socket.remotePort : undefined,
  };
}
