/**
 * @module attestations/sign-bundle
 * Signs an in-toto statement into a Sigstore bundle (`application/vnd.dev.sigstore.bundle.v0.3+json`)
 * holding a DSSE envelope, with `@sigstore/sign`'s DSSE bundle builder: it computes the DSSE
 * pre-authentication encoding and assembles the bundle; the signature itself is `node:crypto`'s
 * ECDSA P-256 over SHA-256. The key is named by `verificationMaterial.publicKey.hint` (its key id),
 * as Sigstore bundles signed with a plain public key are. No transparency log or timestamp
 * authority witnesses the signature: Wharf signs offline (docs/immutable-releases.md).
 */
import { sign, type KeyObject } from 'node:crypto';
import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { DSSEBundleBuilder, type Signer } from '@sigstore/sign';
import { IN_TOTO_PAYLOAD_TYPE, type InTotoStatement } from './release-statement.ts';

export interface SigningKey {
  /** The key's id: sha256 hex of its DER SubjectPublicKeyInfo (the bundle's key hint). */
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

function signerFor(key: SigningKey): Signer {
  return {
    sign: async (data: Buffer) => ({
      signature: sign('sha256', data, key.privateKey),
      key: { $case: 'publicKey', publicKey: key.publicKeyPem, hint: key.keyId },
    }),
  };
}

export async function signStatement(statement: InTotoStatement, key: SigningKey): Promise<SerializedBundle> {
  const builder = new DSSEBundleBuilder({ signer: signerFor(key), witnesses: [] });
  const bundle = await builder.create({ data: Buffer.from(JSON.stringify(statement), 'utf8'), type: IN_TOTO_PAYLOAD_TYPE });
  return bundleToJSON(bundle);
}
