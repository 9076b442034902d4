/**
 * @module features/attestations
 * Attestations (docs/immutable-releases.md): the API routes, the trusted root and bundle
 * downloads at the web root, and the instance signing key made at first start.
 */
import type { Feature } from '../features.ts';
import { ConfigError } from '../config/config.ts';
import { attestationRoutes } from '../http/routes/attestations.ts';
import { ensureSigningKey, SigningKeyUnavailable } from '../services/signing-keys.ts';
import { attestationDownloadRoutes } from '../web/attestation-downloads.ts';

export const attestationsFeature: Feature = {
  name: 'attestations',
  api: attestationRoutes,
  web: attestationDownloadRoutes,
  async start(ctx) {
    try {
      await ensureSigningKey(ctx);
    } catch (err) {
      // A signing key the instance key cannot open would fail every immutable publish: say so now.
      if (err instanceof SigningKeyUnavailable) throw new ConfigError('WHARF_INSTANCE_KEY_FILE', ctx.config.instanceKeyFile, err.message);
      throw err;
    }
  },
};
