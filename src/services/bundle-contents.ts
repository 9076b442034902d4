/**
 * @module services/bundle-contents
 * What an offline bundle's `releases.json` holds (docs/mirrors.md): the repository's settings a
 * new copy starts from, its published releases oldest first (metadata, flags, dates, assets by
 * name with their sha256, the release attestation where there is one) and which was latest.
 * Asset bytes are members of their own, named by sha256 (`blobs/sha256/<hex>`), once however
 * many assets share them.
 */
import type { SerializedBundle } from '@sigstore/bundle';
import { BundleRefused } from '../attestations/bundle-manifest.ts';

export interface BundledAsset {
  name: string;
  label: string | null;
  content_type: string;
  size: number;
  sha256: string;
  created_at: string;
  updated_at: string;
}

export interface BundledRelease {
  tag_name: string;
  target_commitish: string;
  name: string | null;
  body: string | null;
  prerelease: boolean;
  /** Immutable on the origin (its attestation is carried along); not made immutable by an import. */
  immutable: boolean;
  created_at: string;
  published_at: string | null;
  assets: BundledAsset[];
  /** The origin's release attestation (a Sigstore bundle), when the release has one. */
  attestation: SerializedBundle | null;
  /**
   * The repository `attestation` names when it is not the bundle's origin: the release was
   * mirrored (or imported) there, and the attestation is its upstream's. Absent: the origin's.
   */
  attestation_repository?: string;
}

export interface BundleContents {
  repository: { private: boolean; description: string | null; default_branch: string };
  /** The tag of the origin's latest release when it is among `releases`, else null. */
  latest: string | null;
  releases: BundledRelease[];
}

const HEX = /^[0-9a-f]{64}$/;

/** Parses `releases.json`, refusing a document that is not of this shape. */
export function parseContents(bytes: Buffer): BundleContents {
  let json: BundleContents;
  try {
    json = JSON.parse(bytes.toString('utf8')) as BundleContents;
  } catch {
    throw new BundleRefused('releases.json is not JSON');
  }
  const bad = (what: string) => new BundleRefused(`releases.json: ${what}`);
  if (!json || typeof json !== 'object' || !Array.isArray(json.releases) || typeof json.repository?.default_branch !== 'string') throw bad('not a release listing');
  for (const r of json.releases) {
    if (typeof r?.tag_name !== 'string' || r.tag_name === '' || !Array.isArray(r.assets)) throw bad('a release without a tag or assets list');
    if (r.attestation_repository !== undefined && (typeof r.attestation_repository !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(r.attestation_repository)))
      throw bad(`release ${r.tag_name}: attestation_repository is not OWNER/REPO`);
    for (const a of r.assets) {
      if (typeof a?.name !== 'string' || !HEX.test(a.sha256 ?? '') || !Number.isSafeInteger(a.size) || a.size < 0)
        throw bad(`release ${r.tag_name}: an asset without a name, sha256 or size`);
    }
  }
  return json;
}
