/**
 * @module attestations/release-statement
 * The in-toto Statement (v1) of a release, in the shape GitHub emits for its immutable releases:
 * predicate type `https://in-toto.io/attestation/release/v0.1`; a first subject naming the release
 * by purl (`pkg:github/OWNER/REPO@TAG`) with the commit of its tag as `sha1` digest, then one
 * subject per asset (file name, `sha256` digest); the predicate names owner, repository, release
 * and tag (with their ids as decimal strings, as GitHub writes them).
 */

export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const RELEASE_PREDICATE_TYPE = 'https://in-toto.io/attestation/release/v0.1';
/** DSSE payload type of an in-toto statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface ReleaseFacts {
  owner: string;
  ownerId: number;
  repository: string;
  repositoryId: number;
  releaseId: number;
  tag: string;
  /** The commit the release's tag points at (40 hex). */
  commitSha: string;
  /** Uploaded assets: file name and sha256 hex of their bytes. */
  assets: ReadonlyArray<{ name: string; sha256: string }>;
}

export interface StatementSubject {
  name?: string;
  uri?: string;
  digest: Record<string, string>;
}

export interface ReleasePredicate {
  ownerId: string;
  purl: string;
  releaseId: string;
  repository: string;
  repositoryId: string;
  tag: string;
}

export interface InTotoStatement<P = unknown> {
  _type: string;
  subject: StatementSubject[];
  predicateType: string;
  predicate: P;
}

/** `pkg:github/OWNER/REPO@TAG`; the tag is percent-encoded as purl versions are. */
export function releasePurl(owner: string, repository: string, tag: string): string {
  return `pkg:github/${encodeURIComponent(owner.toLowerCase())}/${encodeURIComponent(repository.toLowerCase())}@${encodeURIComponent(tag)}`;
}

export function releaseStatement(facts: ReleaseFacts): InTotoStatement<ReleasePredicate> {
  const purl = releasePurl(facts.owner, facts.repository, facts.tag);
  // Sorted by name so the statement of a release is the same whatever order assets were listed in.
  const assets = [...facts.assets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ uri: purl, digest: { sha1: facts.commitSha } }, ...assets.map((a) => ({ name: a.name, digest: { sha256: a.sha256 } }))],
    predicateType: RELEASE_PREDICATE_TYPE,
    predicate: {
      ownerId: String(facts.ownerId),
      purl,
      releaseId: String(facts.releaseId),
      repository: `${facts.owner}/${facts.repository}`,
      repositoryId: String(facts.repositoryId),
      tag: facts.tag,
    },
  };
}
