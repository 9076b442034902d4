/**
 * @module cli/keys-commands
 * `wharf keys list` and `wharf keys rotate`: the instance's attestation signing keys
 * (services/signing-keys.ts). Rotating makes a new key that signs from now on; the old one
 * stays in the trusted root, marked with the moment it stopped signing, so its bundles keep
 * verifying.
 */
import type { Command } from 'commander';
import type { AppContext } from '../context.ts';
import { table } from './table.ts';

export function registerKeysCommands(program: Command, run: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): void {
  const keys = program.command('keys').description('the attestation signing keys of the instance');
  keys
    .command('list')
    .description('list every signing key with its validity (the newest signs)')
    .action(async () => {
      await run(async (ctx) => {
        const { signingKeys } = await import('../services/signing-keys.ts');
        const rows = (await signingKeys(ctx)).reverse();
        process.stdout.write(
          table(
            ['KEY ID', 'STATE', 'VALID FROM', 'VALID UNTIL'],
            rows.map((k, i) => [k.key_id, i === 0 ? 'signing' : 'retired (verifies old bundles)', k.valid_from, k.valid_until ?? '']),
          ),
        );
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
}
