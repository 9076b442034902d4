/**
 * @module bench/lib/options
 * Command-line options and the two profiles: the full run (the sizes the issue names) and
 * `--quick` (the same scenarios, smaller, under three minutes, for every change).
 */

export interface Profile {
  name: 'full' | 'quick';
  /** The large asset moved by the download and upload scenarios. */
  bigAssetBytes: number;
  /** Each of the 16 concurrent uploads. */
  concurrentUploadBytes: number;
  /** The asset each of the 16 concurrent download streams fetches. */
  concurrentDownloadBytes: number;
  /** Repetitions of the 16-stream downloads (16 × 1 GiB per target is long). */
  concurrentDownloadRounds: number;
  /** A smaller asset, to show memory does not grow with size. */
  smallAssetBytes: number;
  streams: number;
  /** Repetitions of each transfer measurement; the median is reported. */
  transferRounds: number;
  /** Seconds autocannon runs per endpoint and target. */
  loadSeconds: number;
  /** Seconds each write scenario runs. */
  writeSeconds: number;
  writeClients: number;
  scaleReleases: number;
  assetsPerRelease: number;
  /** Sequential requests per latency measurement in the scale scenario. */
  scaleSamples: number;
}

const MiB = 1024 * 1024;

export const PROFILES: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    bigAssetBytes: 1024 * MiB,
    concurrentUploadBytes: 64 * MiB,
    concurrentDownloadBytes: 1024 * MiB,
    concurrentDownloadRounds: 1,
    smallAssetBytes: 64 * MiB,
    streams: 16,
    transferRounds: 3,
    loadSeconds: 10,
    writeSeconds: 10,
    writeClients: 16,
    scaleReleases: 100_000,
    assetsPerRelease: 10,
    scaleSamples: 200,
  },
  quick: {
    name: 'quick',
    bigAssetBytes: 256 * MiB,
    concurrentUploadBytes: 16 * MiB,
    // Each stream is a curl process: smaller files would measure process start-up, not transfer.
    concurrentDownloadBytes: 64 * MiB,
    concurrentDownloadRounds: 2,
    smallAssetBytes: 32 * MiB,
    streams: 16,
    transferRounds: 2,
    loadSeconds: 4,
    writeSeconds: 4,
    writeClients: 16,
    scaleReleases: 10_000,
    assetsPerRelease: 10,
    scaleSamples: 60,
  },
};

export const SCENARIOS = ['download', 'upload', 'read', 'write', 'scale', 'events', 'overload'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Options {
  profile: Profile;
  only: Set<ScenarioName>;
  output: string;
  /** The Wharf checkout to measure (default: this one), e.g. to compare two branches. */
  wharfRoot: string | null;
  /** A PostgreSQL server (URL of a role that may create databases): the read scenario runs on it too. */
  postgres: string | null;
}

export function usage(): string {
  return [
    'usage: npm run bench [-- --quick] [-- --only download,upload,read,write,scale,events,overload] [-- --output FILE] [-- --postgres URL]',
    '  --quick   smaller sizes (256 MiB transfers, 10,000 releases), under three minutes',
    '  --only    run only these scenarios (memory is reported by download, upload and scale)',
    '  --output  where to write the JSON results (default bench/results/latest.json)',
    '  --wharf   measure the Wharf checked out in this directory instead of this one',
    '  --postgres URL  also run the read scenario on PostgreSQL (a throw-away database on that server)',
  ].join('\n');
}

export function parseOptions(argv: string[], defaultOutput: string): Options {
  let profile = PROFILES.full;
  let only = new Set<ScenarioName>(SCENARIOS);
  let output = defaultOutput;
  let wharfRoot: string | null = null;
  let postgres: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') profile = PROFILES.quick;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const names = (value ?? '').split(',').filter(Boolean);
      const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
      if (unknown.length || names.length === 0) throw new Error(`unknown scenario ${unknown.join(', ') || '(none)'}\n${usage()}`);
      only = new Set(names as ScenarioName[]);
    } else if (arg === '--output' || arg.startsWith('--output=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!value) throw new Error(usage());
      output = value;
    } else if (arg === '--wharf' || arg.startsWith('--wharf=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!value) throw new Error(usage());
      wharfRoot = value;
    } else if (arg === '--postgres' || arg.startsWith('--postgres=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!value || !/^postgres(ql)?:\/\//.test(value)) throw new Error(usage());
      postgres = value;
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${arg}\n${usage()}`);
  }
  return { profile, only, output, wharfRoot, postgres };
}
