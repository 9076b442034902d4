/**
 * @module cli/verify-command
 * `wharf verify FILE --repo OWNER/REPO --tag TAG [--bundle B --trusted-root R] [--server URL]`:
 * checks that FILE is an asset of that release as this Wharf attested it, with sigstore-js
 * (attestations/verify-bundle.ts). Given a bundle and a trusted root it needs no network and no
 * instance. What is not given is fetched: from `--server` (a Wharf's web address; the trusted
 * root at `/.well-known/wharf/trusted-root.json`, bundles from the attestations API, with
 * `--token` or GH_TOKEN for a private repository), or else from the instance the settings name,
 * as the other commands read it. Exit 0 when verified; 1 with one line saying why not.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AppContext } from '../context.ts';
import { RELEASE_PREDICATE_TYPE } from '../attestations/release-statement.ts';
import { AttestationRefused, verifyReleaseBundle, type VerifiedRelease } from '../attestations/verify-bundle.ts';
import { CliError } from './cli-error.ts';

interface VerifyOptions {
  repo: string;
  tag: string;
  bundle?: string;
  trustedRoot?: string;
  server?: string;
  token?: string;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return hash.digest('hex');
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function fetchText(url: string, token: string | undefined, what: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...(token ? { authorization: `token ${token}` } : {}) } });
  } catch (err) {
    throw new CliError(`cannot fetch the ${what} from ${url}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new CliError(`cannot fetch the ${what} from ${url}: HTTP ${res.status}`);
  return text;
}

/** The trusted root and the candidate bundles (JSON texts) for the file's digest. */
async function material(opts: VerifyOptions, digest: string, run: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): Promise<{ root: string; bundles: string[] }> {
  const given = {
    root: opts.trustedRoot ? await readText(opts.trustedRoot, 'trusted root') : null,
    bundles: opts.bundle ? [await readText(opts.bundle, 'bundle')] : null,
  };
  if (given.root !== null && given.bundles !== null) return { root: given.root, bundles: given.bundles };
  if (opts.server) {
    const web = opts.server.replace(/\/+$/, '');
    const token = opts.token ?? process.env.GH_TOKEN ?? process.env.GITHUB_TOKEN;
    const root = given.root ?? (await fetchText(`${web}/.well-known/wharf/trusted-root.json`, undefined, 'trusted root'));
    let bundles = given.bundles;
    if (!bundles) {
      const url = `${web}/api/v3/repos/${opts.repo}/attestations/sha256:${digest}?per_page=100&predicate_type=${encodeURIComponent(RELEASE_PREDICATE_TYPE)}`;
      const listed = JSON.parse(await fetchText(url, token, 'attestations')) as { attestations?: Array<{ bundle: unknown }> };
      bundles = (listed.attestations ?? []).map((a) => JSON.stringify(a.bundle));
    }
    return { root, bundles };
  }
  return run(async (ctx) => {
    const [{ instanceTrustedRoot }, { getRepoAccess }, { listAttestations }] = await Promise.all([
      import('../services/signing-keys.ts'),
      import('../services/repositories.ts'),
      import('../services/attestations.ts'),
    ]);
    const root = given.root ?? JSON.stringify(await instanceTrustedRoot(ctx));
    let bundles = given.bundles;
    if (!bundles) {
      const [owner = '', name = ''] = opts.repo.split('/');
      // The operator reads the instance directly, as a site administrator would through the API.
      const access = await getRepoAccess(ctx, null, owner, name).catch(() => null);
      if (!access) throw new CliError(`there is no public repository ${opts.repo} on this instance; give --bundle and --trusted-root, or --server with --token`);
      const rows = await listAttestations(ctx, access, `sha256:${digest}`, { perPage: 100, predicateType: RELEASE_PREDICATE_TYPE });
      bundles = rows.map((r) => r.bundle);
    }
    return { root, bundles };
  });
}

export function registerVerifyCommand(program: Command, run: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): void {
  program
    .command('verify <file>')
    .description('check that FILE is an asset of a release as the instance attested it (offline with --bundle and --trusted-root)')
    .requiredOption('--repo <owner/repo>', 'the repository the release belongs to')
    .requiredOption('--tag <tag>', "the release's tag")
    .option('--bundle <file>', 'the Sigstore bundle of the release attestation')
    .option('--trusted-root <file>', "the instance's trusted root (its /.well-known/wharf/trusted-root.json)")
    .option('--server <url>', "a Wharf's web address to fetch what is not given from (otherwise the instance the settings name)")
    .option('--token <token>', 'a token for a private repository (default: GH_TOKEN)')
    .action(async (file: string, opts: VerifyOptions) => {
      if (!/^[^/]+\/[^/]+$/.test(opts.repo)) throw new CliError(`--repo ${opts.repo}: use OWNER/REPO`);
      const digest = await sha256Of(file);
      const { root, bundles } = await material(opts, digest, run);
      if (bundles.length === 0) throw new CliError(`no release attestation of ${opts.repo} names ${file} (sha256 ${digest})`);
      let verified: VerifiedRelease | null = null;
      let refusal: AttestationRefused | null = null;
      for (const bundle of bundles) {
        try {
          verified = verifyReleaseBundle(bundle, root, { repository: opts.repo, tag: opts.tag, sha256: digest });
          break;
        } catch (err) {
          if (!(err instanceof AttestationRefused)) throw err;
          refusal = err;
        }
      }
      if (!verified) throw new CliError(`not verified: ${refusal!.message}`);
      const commit = verified.statement.subject.find((s) => s.uri)?.digest.sha1 ?? 'unknown';
      process.stdout.write(
        `verified: ${file} (sha256 ${digest}) is ${verified.name} of ${verified.statement.predicate.repository} ${verified.statement.predicate.tag} at commit ${commit}, signed by key ${verified.keyId}\n`,
      );
    });
}
