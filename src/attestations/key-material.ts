/**
 * @module attestations/key-material
 * Instance signing keys as bytes: generation (ECDSA P-256 with `node:crypto`), the key id
 * (sha256 hex of the DER SubjectPublicKeyInfo, the id cosign and Sigstore use for public keys)
 * and PEM/DER conversions.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface GeneratedKey {
  keyId: string;
  publicKeyPem: string;
  privateKeyPem: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function generateSigningKey(): GeneratedKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}

/** Base64 of the DER SubjectPublicKeyInfo (the `rawBytes` of Sigstore's `PublicKey` message). */
export function publicKeyRawBytes(pem: string): string {
  return createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
}
