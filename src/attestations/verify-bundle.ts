/**
 * @module attestations/verify-bundle
 * Offline verification of a release attestation with sigstore-js (`@sigstore/verify`), given the
 * bundle, the file's digest and Wharf's trusted root: the DSSE signature must be made by a key
 * of the trusted root (no transparency log, certificate or timestamp is asked for: Wharf's
 * bundles carry none), and the signed statement must be a release attestation of this repository
 * and tag with the file's sha256 among its subjects. Every refusal is one `AttestationRefused`
 * whose message is the one line a user sees.
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { PublicKey, TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_TYPE, RELEASE_PREDICATE_TYPE, type InTotoStatement, type ReleasePredicate } from './release-statement.ts';

export class AttestationRefused extends Error {}

export interface ReleaseExpectation {
  /** `OWNER/REPO` (compared without regard to case, as GitHub names are). */
  repository: string;
  tag: string;
  /** sha256 hex of the file's bytes. */
  sha256: string;
}

export interface VerifiedRelease {
  statement: InTotoStatement<ReleasePredicate>;
  keyId: string;
  /** The subject's file name in the release. */
  name: string;
}

function parseJson(text: string | Buffer, what: string): unknown {
  try {
    return JSON.parse(text.toString());
  } catch {
    throw new AttestationRefused(`${what} is not JSON`);
  }
}

/** Sigstore trust material from Wharf's trusted root: its standard members and its signing keys. */
export function trustMaterialOf(rootJson: unknown) {
  if (!rootJson || typeof rootJson !== 'object') throw new AttestationRefused('the trusted root is not a JSON object');
  const raw = rootJson as { wharfSigningKeys?: unknown };
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(rootJson);
  } catch (err) {
    throw new AttestationRefused(`the trusted root is not a Sigstore trusted root: ${(err as Error).message}`);
  }
  const keys: Record<string, PublicKey> = {};
  if (Array.isArray(raw.wharfSigningKeys)) {
    for (const entry of raw.wharfSigningKeys as Array<{ keyId?: unknown; publicKey?: unknown }>) {
      if (typeof entry?.keyId === 'string' && entry.publicKey) keys[entry.keyId] = PublicKey.fromJSON(entry.publicKey);
    }
  }
  return toTrustMaterial(root, keys);
}

export function verifyReleaseBundle(bundleText: string | Buffer, trustedRootText: string | Buffer, expected: ReleaseExpectation): VerifiedRelease {
  const bundleJson = parseJson(bundleText, 'the bundle');
  let bundle;
  try {
    bundle = bundleFromJSON(bundleJson);
  } catch (err) {
    throw new AttestationRefused(`the bundle is not a Sigstore bundle: ${(err as Error).message}`);
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw new AttestationRefused('the bundle holds no DSSE envelope (not an attestation)');
  const trust = trustMaterialOf(parseJson(trustedRootText, 'the trusted root'));
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    verifier.verify(toSignedEntity(bundle));
  } catch (err) {
    throw new AttestationRefused(`the bundle's signature does not verify against the trusted root: ${(err as Error).message}`);
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new AttestationRefused(`the bundle's payload is ${envelope.payloadType}, not an in-toto statement`);
  const statement = parseJson(envelope.payload, "the bundle's statement") as InTotoStatement<ReleasePredicate>;
  if (statement?._type !== IN_TOTO_STATEMENT_TYPE || statement.predicateType !== RELEASE_PREDICATE_TYPE || !Array.isArray(statement.subject)) {
    throw new AttestationRefused(`the bundle is not a release attestation (${RELEASE_PREDICATE_TYPE})`);
  }
  const predicate = statement.predicate;
  if (typeof predicate?.repository !== 'string' || predicate.repository.toLowerCase() !== expected.repository.toLowerCase()) {
    throw new AttestationRefused(`the attestation is for repository ${String(predicate?.repository)}, not ${expected.repository}`);
  }
  if (predicate.tag !== expected.tag) throw new AttestationRefused(`the attestation is for tag ${String(predicate.tag)}, not ${expected.tag}`);
  const subject = statement.subject.find((s) => typeof s.name === 'string' && s.digest?.sha256 === expected.sha256.toLowerCase());
  if (!subject) throw new AttestationRefused(`the file (sha256 ${expected.sha256}) is not an asset of ${expected.repository} ${expected.tag} in the attestation`);
  const hint = bundle.verificationMaterial.content.$case === 'publicKey' ? bundle.verificationMaterial.content.publicKey.hint : '';
  return { statement, keyId: hint, name: subject.name! };
}
