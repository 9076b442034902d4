/**
 * @module attestations/trusted-root
 * Wharf's trusted root (`{web}/.well-known/wharf/trusted-root.json`): a Sigstore `TrustedRoot`
 * (media type `application/vnd.dev.sigstore.trustedroot.v0.2+json`) with no certificate
 * authorities, transparency logs or timestamp authorities — Wharf has none — plus one member
 * Sigstore's format has no place for: `wharfSigningKeys`, every instance key that ever signed,
 * each as Sigstore's `PublicKey` message (`rawBytes`, `keyDetails`, `validFor`) with its key id
 * and PEM. Sigstore clients read the standard members and ignore the extra one; a verifier
 * passes the keys to sigstore-js as its key finder (`toTrustMaterial(root, keys)`), as
 * `verifyBundle` here does. docs/immutable-releases.md explains the choice.
 */
import { publicKeyRawBytes } from './key-material.ts';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot.v0.2+json';

export interface PublishedKey {
  keyId: string;
  publicKeyPem: string;
  validFrom: string;
  /** When the key stopped signing (rotated out); null while it signs. */
  validUntil: string | null;
}

export interface WharfSigningKeyJson {
  keyId: string;
  pem: string;
  publicKey: { rawBytes: string; keyDetails: 'PKIX_ECDSA_P256_SHA_256'; validFor: { start: string; end?: string } };
}

export interface WharfTrustedRootJson {
  mediaType: string;
  tlogs: unknown[];
  certificateAuthorities: unknown[];
  ctlogs: unknown[];
  timestampAuthorities: unknown[];
  wharfSigningKeys: WharfSigningKeyJson[];
}

export function trustedRootJson(keys: readonly PublishedKey[]): WharfTrustedRootJson {
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
    wharfSigningKeys: keys.map((k) => ({
      keyId: k.keyId,
      pem: k.publicKeyPem,
      publicKey: {
        rawBytes: publicKeyRawBytes(k.publicKeyPem),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start: k.validFrom, ...(k.validUntil ? { end: k.validUntil } : {}) },
      },
    })),
  };
}
