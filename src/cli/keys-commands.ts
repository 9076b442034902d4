/**
 * @module cli/keys-commands
 * `wharf keys list`, `wharf keys rotate`, `wharf keys trust URL_OR_FILE` and `wharf keys untrust ID`.
 * The instance's own signing keys (services/signing-keys.ts) sign release attestations and
 * offline bundles; rotating makes a new key that signs from now on, and the old one stays in the
 * trusted root, marked with the moment it stopped signing, so what it signed keeps verifying.
 * Trusted roots of other instances (services/trusted-roots.ts) are whose bundles this one imports.
 */
import type { Command } from 'commander';
import type { AppContext } from '../context.ts';
import { CliError } from './cli-error.ts';
import { table } from './table.ts';

export function registerKeysCommands(program: Command, run: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): void {
  const keys = program.command('keys').description("the instance's signing keys, and other instances' keys trusted for bundles");
  keys
    .command('list')
    .description('list every signing key with its validity (the newest signs), then the keys trusted for bundles')
    .action(async () => {
      await run(async (ctx) => {
        const [{ signingKeys }, { trustedRoots }] = await Promise.all([import('../services/signing-keys.ts'), import('../services/trusted-roots.ts')]);
        const rows = (await signingKeys(ctx)).reverse();
        const own = rows.map((k, i) => [k.key_id, i === 0 ? 'signing' : 'retired (verifies old bundles)', k.valid_from, k.valid_until ?? '', 'this instance']);
        const trusted = (await trustedRoots(ctx)).flatMap((root) =>
          root.keys.map((k) => [k.keyId, `trusted for bundles (root ${root.id.slice(0, 12)})`, k.publicKey.validFor.start, k.publicKey.validFor.end ?? '', root.source]),
        );
        process.stdout.write(table(['KEY ID', 'STATE', 'VALID FROM', 'VALID UNTIL', 'FROM'], [...own, ...trusted]));
      });
    });
  keys
    .command('rotate')
    .description('make a new signing key; bundles signed by the old one keep verifying')
    .action(async () => {
      await run(async (ctx) => {
        const { rotateSigningKey } = await import('../services/signing-keys.ts');
        const { retired, current } = await rotateSigningKey(ctx);
        process.stdout.write(`new signing key ${current.key_id}${retired ? `; ${retired.key_id} stopped signing at ${retired.valid_until} and stays in the trusted root` : ''}\n`);
      });
    });
  keys
    .command('trust <url_or_file>')
    .description("trust another instance's keys for offline bundles: its trusted root (https://HOST/.well-known/wharf/trusted-root.json, or a copy in a file)")
    .action(async (source: string) => {
      await run(async (ctx) => {
        const { readTrustedRoot, trustRoot, TrustedRootRefused } = await import('../services/trusted-roots.ts');
        try {
          const { row, keys: found, added } = await trustRoot(ctx, source, await readTrustedRoot(ctx, source));
          process.stdout.write(
            `${added ? 'trusting' : 'already trusted:'} ${found.length} key(s) from ${source} (root ${row.id.slice(0, 12)}): ${found.map((k) => k.keyId).join(', ')}\n`,
          );
        } catch (err) {
          if (err instanceof TrustedRootRefused) throw new CliError(`not trusted: ${err.message}`);
          throw err;
        }
      });
    });
  keys
    .command('untrust <root_id>')
    .description('stop trusting a trusted root (its id, or its first 12 characters, as `wharf keys list` shows)')
    .action(async (id: string) => {
      await run(async (ctx) => {
        const { untrustRoot } = await import('../services/trusted-roots.ts');
        const removed = await untrustRoot(ctx, id);
        if (!removed) throw new CliError(`no trusted root has the id ${id}; \`wharf keys list\` shows them (give at least 12 characters)`);
        process.stdout.write(`no longer trusting ${removed.source} (root ${removed.id.slice(0, 12)})\n`);
      });
    });
}
