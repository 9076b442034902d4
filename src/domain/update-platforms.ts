/**
 * @module domain/update-platforms
 * Which of a release's assets each desktop updater takes, read from their names as the common
 * bundlers write them (tauri-action, electron-builder, Squirrel, Sparkle's tools). Pure: the update
 * feeds (services/update-feeds.ts) and the release page (which says what a feed leaves out, and
 * why) share it.
 *
 * Wharf never signs on a developer's behalf. Tauri and Sparkle updates carry a signature made by
 * the developer's key: it is taken from the asset named like the artifact plus `.sig` (Sparkle
 * also `.edsig`); an artifact without one is left out of the feed, with the reason.
 */

export type TauriOs = 'darwin' | 'linux' | 'windows';
export type TauriArch = 'x86_64' | 'aarch64' | 'i686' | 'armv7';

export interface NamedAsset {
  name: string;
}

export interface TauriArtifact<A extends NamedAsset> {
  /** Tauri's platform key, `{os}-{arch}`. */
  platform: `${TauriOs}-${TauriArch}`;
  asset: A;
  signature: A;
}

export interface LeftOut {
  feed: 'tauri' | 'sparkle' | 'squirrel-mac' | 'squirrel-windows';
  asset: string;
  reason: string;
}

const ARCH_WORDS: [RegExp, TauriArch[]][] = [
  [/(^|[^a-z0-9])(universal)([^a-z0-9]|$)/i, ['x86_64', 'aarch64']],
  [/(^|[^a-z0-9])(aarch64|arm64)([^a-z0-9]|$)/i, ['aarch64']],
  [/(^|[^a-z0-9])(armv7|armhf|armv7l)([^a-z0-9]|$)/i, ['armv7']],
  [/(^|[^a-z0-9])(i686|i386|x86|ia32|win32)([^a-z0-9]|$)/i, ['i686']],
  [/(^|[^a-z0-9])(x86_64|x64|amd64|win64)([^a-z0-9]|$)/i, ['x86_64']],
];

function archesOf(name: string, fallback: TauriArch[]): TauriArch[] {
  for (const [pattern, arches] of ARCH_WORDS) if (pattern.test(name)) return arches;
  return fallback;
}

/** Tauri's updater artifacts (v1 and v2 bundles): what each OS installs an update from. */
function tauriOs(name: string): TauriOs | null {
  const n = name.toLowerCase();
  if (n.endsWith('.app.tar.gz')) return 'darwin';
  if (n.endsWith('.appimage') || n.endsWith('.appimage.tar.gz')) return 'linux';
  if (n.endsWith('-setup.exe') || n.endsWith('.msi') || n.endsWith('.nsis.zip') || n.endsWith('.msi.zip')) return 'windows';
  return null;
}

/** Tauri's platforms, each from its artifact and signature; artifacts without a signature are left out. */
export function tauriArtifacts<A extends NamedAsset>(assets: readonly A[]): { artifacts: TauriArtifact<A>[]; leftOut: LeftOut[] } {
  const byName = new Map(assets.map((a) => [a.name, a]));
  const artifacts: TauriArtifact<A>[] = [];
  const leftOut: LeftOut[] = [];
  const taken = new Set<string>();
  // Installers before archives of them: a Windows NSIS `-setup.exe` is preferred to an `.msi`.
  const ordered = [...assets].sort((a, b) => rank(a.name) - rank(b.name));
  for (const asset of ordered) {
    const os = tauriOs(asset.name);
    if (!os) continue;
    const signature = byName.get(`${asset.name}.sig`);
    if (!signature) {
      leftOut.push({ feed: 'tauri', asset: asset.name, reason: `no signature: upload ${asset.name}.sig (made by tauri signer)` });
      continue;
    }
    // macOS bundles without an architecture in their name are the machine's: Tauri builds universal ones as `universal`.
    for (const arch of archesOf(asset.name, os === 'darwin' ? ['x86_64', 'aarch64'] : ['x86_64'])) {
      const platform = `${os}-${arch}` as const;
      if (taken.has(platform)) continue;
      taken.add(platform);
      artifacts.push({ platform, asset, signature });
    }
  }
  return { artifacts, leftOut };
}

function rank(name: string): number {
  const n = name.toLowerCase();
  if (n.endsWith('-setup.exe') || n.endsWith('.nsis.zip')) return 0;
  if (n.endsWith('.appimage') || n.endsWith('.app.tar.gz')) return 0;
  return 1;
}

const MAC_WORDS = /(^|[^a-z])(mac|macos|osx|darwin|universal)([^a-z]|$)/i;

/** Sparkle's enclosure: a macOS archive or disk image with an EdDSA signature asset. */
export function sparkleArtifact<A extends NamedAsset>(assets: readonly A[]): { artifact: { asset: A; signature: A } | null; leftOut: LeftOut[] } {
  const byName = new Map(assets.map((a) => [a.name, a]));
  const leftOut: LeftOut[] = [];
  const candidates = assets.filter((a) => {
    const n = a.name.toLowerCase();
    if (n.endsWith('.dmg') || n.endsWith('.pkg')) return true;
    return (n.endsWith('.zip') || n.endsWith('.tar.xz') || n.endsWith('.tar.bz2')) && MAC_WORDS.test(a.name) && !n.endsWith('.nsis.zip') && !n.endsWith('.msi.zip');
  });
  // Sparkle prefers archives it can apply without mounting: zip, then the rest.
  candidates.sort((a, b) => Number(!a.name.toLowerCase().endsWith('.zip')) - Number(!b.name.toLowerCase().endsWith('.zip')));
  for (const asset of candidates) {
    const signature = byName.get(`${asset.name}.edsig`) ?? byName.get(`${asset.name}.sig`);
    if (signature) return { artifact: { asset, signature }, leftOut };
    leftOut.push({ feed: 'sparkle', asset: asset.name, reason: `no EdDSA signature: upload ${asset.name}.sig (the sparkle:edSignature sign_update prints)` });
  }
  return { artifact: null, leftOut };
}

/** Squirrel.Mac installs from a zip of the signed app (its code signature is inside: no separate file). */
export function squirrelMacArtifact<A extends NamedAsset>(assets: readonly A[]): A | null {
  const zips = assets.filter((a) => a.name.toLowerCase().endsWith('.zip') && MAC_WORDS.test(a.name));
  return zips[0] ?? null;
}

/** Squirrel.Windows reads the `RELEASES` file Squirrel made, then the packages it names. */
export function squirrelWindowsFiles<A extends NamedAsset>(assets: readonly A[]): { releases: A | null; packages: A[]; leftOut: LeftOut[] } {
  const releases = assets.find((a) => a.name === 'RELEASES') ?? null;
  const packages = assets.filter((a) => a.name.toLowerCase().endsWith('.nupkg'));
  const leftOut: LeftOut[] =
    !releases && packages.length
      ? [{ feed: 'squirrel-windows', asset: packages[0]!.name, reason: 'no RELEASES file: upload the RELEASES file Squirrel made beside the packages' }]
      : [];
  return { releases, packages, leftOut };
}

/** Everything the feeds would leave out of a release, for its page. */
export function leftOutOfFeeds(assets: readonly NamedAsset[]): LeftOut[] {
  return [...tauriArtifacts(assets).leftOut, ...sparkleArtifact(assets).leftOut, ...squirrelWindowsFiles(assets).leftOut];
}
