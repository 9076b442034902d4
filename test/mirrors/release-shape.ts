/**
 * What a reader of two instances compares, for mirrors and bundles alike: every release's tag,
 * texts, flags and assets (name, size, digest, label, content type), in a stable order.
 */
export function releaseShape(releases: any[]) {
  return releases
    .map((r) => ({
      tag: r.tag_name,
      name: r.name,
      body: r.body,
      draft: r.draft,
      prerelease: r.prerelease,
      assets: r.assets
        .map((a: any) => ({ name: a.name, size: a.size, digest: a.digest, label: a.label, content_type: a.content_type }))
        .sort((a: any, b: any) => a.name.localeCompare(b.name)),
    }))
    .sort((a, b) => a.tag.localeCompare(b.tag));
}
