/**
 * @module attestations/bundle-manifest
 * The manifest of an offline bundle (docs/mirrors.md) and its signature. The manifest is an
 * in-toto Statement v1 whose subjects are the bundle's other members, each named by its path in
 * the bundle with its sha256 and size; the predicate says which repository it carries, from
 * which instance, and whether it is incremental. It is signed as release attestations are (a
 * DSSE envelope in a Sigstore bundle, ECDSA P-256 with the instance's signing key, named by its
 * key id), so the signature covers the manifest byte for byte and the manifest every other member.
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, Verifier } from '@sigstore/verify';
import type { SerializedBundle } from '@sigstore/bundle';
import { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_TYPE, type InTotoStatement } from './release-statement.ts';
import { signStatement, type SigningKey } from './sign-bundle.ts';
import { trustMaterialOf } from './verify-bundle.ts';
import type { WharfTrustedRootJson } from './trusted-root.ts';

export const BUNDLE_PREDICATE_TYPE = 'urn:wharf:offline-bundle:v1';

/** Member paths, in the order an export writes them. */
export const MANIFEST_MEMBER = 'manifest.json';
export const SIGNATURE_MEMBER = 'manifest.sigstore.json';
export const RELEASES_MEMBER = 'releases.json';
export const GIT_MEMBER = 'refs.bundle';
export const BLOB_PREFIX = 'blobs/sha256/';

export interface BundlePredicate {
  format: 1;
  /** `OWNER/REPO` on the exporting instance. */
  repository: string;
  /** The exporting instance's external URL, when it has one configured. */
  instance: string | null;
  /** The tag an incremental bundle starts after (its releases and commits are left out), or null. */
  since: string | null;
  /** The tag glob the export was limited to, or null. */
  tags: string | null;
  createdAt: string;
}

export interface ManifestSubject {
  name: string;
  digest: { sha256: string };
  annotations: { size: string };
}

export type BundleManifest = InTotoStatement<BundlePredicate> & { subject: ManifestSubject[] };

export class BundleRefused extends Error {}

export function bundleManifest(predicate: BundlePredicate, members: ReadonlyArray<{ name: string; sha256: string; size: number }>): BundleManifest {
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: members.map((m) => ({ name: m.name, digest: { sha256: m.sha256 }, annotations: { size: String(m.size) } })),
    predicateType: BUNDLE_PREDICATE_TYPE,
    predicate,
  };
}

/** The manifest's bytes as written, and the Sigstore bundle signing exactly them. */
export async function signManifest(manifest: BundleManifest, key: SigningKey): Promise<{ bytes: Buffer; signature: SerializedBundle }> {
  const signature = await signStatement(manifest, key);
  // The envelope's payload is the statement serialized once; the member is those very bytes.
  const bytes = Buffer.from(signature.dsseEnvelope!.payload, 'base64');
  return { bytes, signature };
}

function parse(text: Buffer, what: string): unknown {
  try {
    return JSON.parse(text.toString('utf8'));
  } catch {
    throw new BundleRefused(`${what} is not JSON`);
  }
}

/**
 * Checks that `signatureBytes` is a signature by a key of `trust` over exactly `manifestBytes`,
 * and returns the manifest and the signing key's id. Throws BundleRefused saying why not.
 */
export function verifyManifest(manifestBytes: Buffer, signatureBytes: Buffer, trust: WharfTrustedRootJson): { manifest: BundleManifest; keyId: string } {
  let bundle;
  try {
    bundle = bundleFromJSON(parse(signatureBytes, 'the signature'));
  } catch (err) {
    if (err instanceof BundleRefused) throw err;
    throw new BundleRefused(`the signature is not a Sigstore bundle: ${(err as Error).message}`);
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw new BundleRefused('the signature holds no DSSE envelope');
  const keyId = bundle.verificationMaterial.content.$case === 'publicKey' ? bundle.verificationMaterial.content.publicKey.hint : '';
  if (!trust.wharfSigningKeys.some((k) => k.keyId === keyId)) {
    throw new BundleRefused(
      `the bundle is signed by key ${keyId || '(unnamed)'}, which this instance does not trust; add the exporting instance's trusted root with \`wharf keys trust URL_OR_FILE\``,
    );
  }
  const verifier = new Verifier(trustMaterialOf(trust), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    verifier.verify(toSignedEntity(bundle));
  } catch (err) {
    throw new BundleRefused(`the manifest's signature does not verify with key ${keyId}: ${(err as Error).message}`);
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new BundleRefused(`the signed payload is ${envelope.payloadType}, not a manifest`);
  if (!envelope.payload.equals(manifestBytes)) throw new BundleRefused('the manifest is not the one its signature covers (changed after signing)');
  const manifest = parse(manifestBytes, 'the manifest') as BundleManifest;
  if (manifest?._type !== IN_TOTO_STATEMENT_TYPE || manifest.predicateType !== BUNDLE_PREDICATE_TYPE || !Array.isArray(manifest.subject) || manifest.predicate?.format !== 1) {
    throw new BundleRefused(`the manifest is not a Wharf bundle manifest (${BUNDLE_PREDICATE_TYPE}, format 1)`);
  }
  for (const s of manifest.subject) {
    if (typeof s?.name !== 'string' || !/^[0-9a-f]{64}$/.test(s.digest?.sha256 ?? '') || !/^\d+$/.test(s.annotations?.size ?? '')) {
      throw new BundleRefused('the manifest lists a member without a name, sha256 or size');
    }
  }
  return { manifest, keyId };
}
