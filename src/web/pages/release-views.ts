/**
 * @module web/pages/release-views
 * How one release looks on a page: title, markers, author and dates, rendered notes, assets with
 * their digests and download counts, the two source archives, and (for push users) the buttons
 * to edit, publish and delete.
 */
import { leftOutOfFeeds } from '../../domain/update-platforms.ts';
import type { FastifyRequest } from 'fastify';
import type { Account, Asset, Release, Repository } from '../../db/schema.ts';
import { releaseWebTag } from '../../http/serializers/assets.ts';
import { renderNotes } from '../notes-cache.ts';
import { humanSize, repoPath, timeTag, webPath } from '../format.ts';
import { html, trustedHtml, type Html } from '../html.ts';
import { csrfField } from '../layout.ts';
import type { AttestationSummary } from '../../services/attestations.ts';

export interface RepoRef {
  owner: Account;
  repo: Repository;
}

export function releaseTitle(release: Release): string {
  return release.name && release.name.trim() !== '' ? release.name : release.tag_name;
}

export function releasePagePath(r: RepoRef, release: Release): string {
  return repoPath(r.owner.login, r.repo.name, 'releases', 'tag', releaseWebTag(release));
}

export function assetDownloadPath(r: RepoRef, release: Release, asset: Asset): string {
  return repoPath(r.owner.login, r.repo.name, 'releases', 'download', releaseWebTag(release), asset.name);
}

/** GitHub names web source archives `{repo}-{version}` (a leading `v` before a digit dropped). */
export function archivePath(r: RepoRef, tag: string, format: 'zip' | 'tar.gz'): string {
  return `${repoPath(r.owner.login, r.repo.name, 'archive', 'refs', 'tags', tag)}.${format}`;
}

function markers(r: RepoRef, release: Release, latestId: number | null): Html {
  return html`${release.id === latestId ? html`<span class="badge latest">Latest</span>` : ''}${
    release.prerelease === 1 ? html`<span class="badge pre">Pre-release</span>` : ''
  }${release.draft === 1 ? html`<span class="badge draft">Draft</span>` : ''}${
    release.immutable === 1 && release.draft === 0 ? html`<span class="badge immutable" title="Its assets and tag cannot change">Immutable</span>` : ''
  }${
    release.channel && release.channel !== 'stable' && release.channel !== 'prerelease'
      ? html`<a class="badge channel" href="${repoPath(r.owner.login, r.repo.name, 'releases')}?channel=${encodeURIComponent(release.channel)}" title="Releases in this channel">${release.channel}</a>`
      : ''
  }`;
}

function assetRows(r: RepoRef, release: Release, assets: Asset[]): Html {
  const rows = assets.map(
    (asset) => html`<tr class="asset" data-asset-id="${asset.id}">
  <td class="name"><a href="${assetDownloadPath(r, release, asset)}" download>${asset.name}</a>${asset.label ? html` <span class="muted">${asset.label}</span>` : ''}${
    asset.state !== 'uploaded' ? html` <span class="badge draft">incomplete</span>` : ''
  }</td>
  <td class="size">${humanSize(asset.size)}</td>
  <td class="digest">${
    asset.digest
      ? html`<code title="sha256:${asset.digest}">sha256:${asset.digest.slice(0, 12)}…</code> <button type="button" class="copy" data-copy="sha256:${asset.digest}" aria-label="Copy the sha256 digest of ${asset.name}">Copy</button>`
      : ''
  }</td>
  <td class="count" title="Downloads">${asset.download_count} ${asset.download_count === 1 ? 'download' : 'downloads'}</td>
</tr>`,
  );
  const sources =
    release.draft === 1
      ? []
      : [
          html`<tr class="source"><td class="name"><a href="${archivePath(r, release.tag_name, 'zip')}">Source code (zip)</a></td><td></td><td></td><td></td></tr>`,
          html`<tr class="source"><td class="name"><a href="${archivePath(r, release.tag_name, 'tar.gz')}">Source code (tar.gz)</a></td><td></td><td></td><td></td></tr>`,
        ];
  const count = assets.length + sources.length;
  if (count === 0) return html``;
  return html`<details class="assets" open><summary>Assets <span class="counter">${count}</span></summary>
<table><tbody>${rows}${sources}</tbody></table></details>`;
}

/** On a release's own page: what the update feeds leave out of it, and why (never silently). */
function feedWarnings(assets: Asset[]): Html {
  const leftOut = leftOutOfFeeds(assets.filter((a) => a.state === 'uploaded'));
  if (leftOut.length === 0) return html``;
  return html`<div class="feed-warnings notice"><p>Update feeds leave out:</p><ul>${leftOut.map(
    (l) => html`<li><strong>${l.asset}</strong> (${l.feed}): ${l.reason}</li>`,
  )}</ul></div>`;
}

export interface ReleaseCardOptions {
  latestId: number | null;
  canWrite: boolean;
  /** Heading level: the list uses h2, the release page h1. */
  heading: 'h1' | 'h2';
  /** The release attestation of a published immutable release, or the one kept from its upstream (its own page shows it). */
  attestation?: AttestationSummary | null;
  /** Accounts the notes mention that exist (`@login` becomes a link). */
  mentions?: ReadonlySet<string>;
}

/** What the attestation signed, with the bundle and the trusted root to verify it with. */
function attestationSection(r: RepoRef, release: Release, a: AttestationSummary): Html {
  const bundle = repoPath(r.owner.login, r.repo.name, 'attestations', String(a.id), 'bundle.json');
  const at = a.commit ? html` at commit <code>${a.commit.slice(0, 12)}</code>` : '';
  // Another server's attestation verifies with that server's trusted root, not this one's.
  const intro = a.originRepository
    ? html`<p>The server this release was mirrored or imported from signed which files it holds as <code>${a.originRepository}</code> tag <span class="tag">${release.tag_name}</span>${at}. <a href="${bundle}" download>Download the Sigstore bundle</a>; verify it with that server's trusted root.</p>`
    : html`<p>When this release was published, this Wharf signed which files it holds under tag <span class="tag">${release.tag_name}</span>${at}. <a href="${bundle}" download>Download the Sigstore bundle</a> · <a href="/.well-known/wharf/trusted-root.json">trusted root</a></p>`;
  return html`<section class="attestation">
<h2>${a.originRepository ? 'Upstream release attestation' : 'Release attestation'}</h2>
${intro}
${
  a.subjects.length
    ? html`<table class="attested"><tbody>${a.subjects.map((s) => html`<tr><td class="name">${s.name}</td><td class="digest"><code title="sha256:${s.sha256}">sha256:${s.sha256}</code></td></tr>`)}</tbody></table>`
    : html`<p class="muted">It was published without assets.</p>`
}
<p class="muted">Verify a download offline: <code>wharf verify FILE --repo ${a.originRepository ?? `${r.owner.login}/${r.repo.name}`} --tag ${release.tag_name} --bundle BUNDLE --trusted-root trusted-root.json</code></p>
</section>`;
}

export function releaseCard(request: FastifyRequest, r: RepoRef, release: Release, assets: Asset[], author: Account | undefined, o: ReleaseCardOptions): Html {
  const title = releaseTitle(release);
  const link = releasePagePath(r, release);
  const heading = o.heading === 'h1' ? html`<h1><a href="${link}">${title}</a></h1>` : html`<h2><a href="${link}">${title}</a></h2>`;
  const tag = releaseWebTag(release);
  const notes = renderNotes(release.body, {
    context: { web: request.urls.web, owner: r.owner.login, repo: r.repo.name },
    headingsBelow: o.heading === 'h1' ? 1 : 2,
    scope: `r${release.id}`,
    mentions: o.mentions,
    images: request.imageProxy ? { origin: new URL(request.urls.web).origin, signer: request.imageProxy } : null,
  });
  const actions = o.canWrite
    ? html`<div class="actions">
  <a class="button" href="${repoPath(r.owner.login, r.repo.name, 'releases', 'edit', tag)}">Edit</a>
  ${
    release.draft === 1
      ? html`<form method="post" action="${repoPath(r.owner.login, r.repo.name, 'releases', 'publish', tag)}" class="inline">${csrfField(request)}<button type="submit" class="primary">Publish</button></form>`
      : ''
  }
  <form method="post" action="${repoPath(r.owner.login, r.repo.name, 'releases', 'delete', tag)}" class="inline confirm" data-confirm="Delete this release? Its tag stays.">${csrfField(request)}<button type="submit" class="danger">Delete</button></form>
</div>`
    : '';
  return html`<article class="release card" data-release-id="${release.id}">
<header>
  ${heading}
  <p class="markers">${markers(r, release, o.latestId)}</p>
  <p class="meta"><span class="tag" title="Tag">${release.tag_name}</span>
  ${author ? html`<a class="author" href="${webPath(author.login)}">${author.login}</a>` : ''}
  ${release.published_at ? html`released ${timeTag(release.published_at)}` : html`drafted ${timeTag(release.created_at)}`}</p>
  ${actions}
</header>
${notes ? html`<div class="notes markdown">${trustedHtml(notes)}</div>` : ''}
${assetRows(r, release, assets)}
${o.heading === 'h1' ? feedWarnings(assets) : ''}
${o.attestation ? attestationSection(r, release, o.attestation) : ''}
</article>`;
}

/** `query`: other parameters the pages keep (`channel=beta&`), already encoded, ending in `&`. */
export function pager(basePath: string, page: number, hasNext: boolean, query = ''): Html {
  if (page <= 1 && !hasNext) return html``;
  return html`<nav class="pager" aria-label="Pages">
${page > 1 ? html`<a rel="prev" href="${basePath}?${query}page=${page - 1}">Previous</a>` : html`<span></span>`}
<span class="muted">Page ${page}</span>
${hasNext ? html`<a rel="next" href="${basePath}?${query}page=${page + 1}">Next</a>` : html`<span></span>`}
</nav>`;
}
