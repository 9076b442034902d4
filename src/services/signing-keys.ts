/**
 * @module services/signing-keys
 * The instance's attestation signing keys (docs/immutable-releases.md): ECDSA P-256, the first
 * made when Wharf first starts, a new one by `wharf keys rotate`. They live in the database,
 * the private half sealed with the instance key (`WHARF_INSTANCE_KEY_FILE`, the key that already
 * seals webhook secrets): every node of a cluster shares both already, a database copy alone
 * signs nothing, and a backup of the database carries the keys. Old keys stay listed, with the
 * moment they were rotated out, so bundles they signed keep verifying against the trusted root.
 */
import type { AppContext } from '../context.ts';
import type { SigningKeyRow } from '../db/schema.ts';
import { currentSigningKey, insertSigningKey, listSigningKeys, retireSigningKey } from '../db/repos/attestations-repo.ts';
import { generateSigningKey, privateKeyFromPem } from '../attestations/key-material.ts';
import type { SigningKey } from '../attestations/sign-bundle.ts';
import { trustedRootJson, type WharfTrustedRootJson } from '../attestations/trusted-root.ts';
import { secretBoxAt } from '../util/secret-box.ts';
import { isUniqueViolation } from './db-errors.ts';

/** A signing key whose private half cannot be opened with this instance key. */
export class SigningKeyUnavailable extends Error {}

function newRow(ctx: Pick<AppContext, 'config'>, generation: number, now: string): SigningKeyRow {
  const key = generateSigningKey();
  return {
    generation,
    key_id: key.keyId,
    public_key_pem: key.publicKeyPem,
    private_key_sealed: secretBoxAt(ctx.config.instanceKeyFile).seal(key.privateKeyPem),
    valid_from: now,
    valid_until: null,
  };
}

/**
 * Makes the first key if there is none (at start-up), and checks that the signing key opens with
 * this instance key, so a wrong `WHARF_INSTANCE_KEY_FILE` is found at start rather than at a publish.
 */
export async function ensureSigningKey(ctx: Pick<AppContext, 'config' | 'db'>): Promise<void> {
  if (!(await currentSigningKey(ctx.db))) {
    try {
      await insertSigningKey(ctx.db, newRow(ctx, 1, new Date().toISOString()));
    } catch (err) {
      // Another node made the first key at the same moment: theirs is the key.
      if (!isUniqueViolation(err)) throw err;
    }
  }
  await signingKey(ctx);
}

/** The key that signs now, opened. */
export async function signingKey(ctx: Pick<AppContext, 'config' | 'db'>): Promise<SigningKey> {
  const row = await currentSigningKey(ctx.db);
  if (!row) throw new SigningKeyUnavailable('there is no attestation signing key yet (Wharf makes one when it starts)');
  let pem: string;
  try {
    pem = secretBoxAt(ctx.config.instanceKeyFile).open(row.private_key_sealed);
  } catch {
    throw new SigningKeyUnavailable(
      `the attestation signing key ${row.key_id.slice(0, 16)}… cannot be opened with the instance key ${ctx.config.instanceKeyFile}: restore the instance key this database was used with, or make a new signing key with \`wharf keys rotate\``,
    );
  }
  return { keyId: row.key_id, privateKey: privateKeyFromPem(pem), publicKeyPem: row.public_key_pem };
}

/**
 * Makes a new signing key; the previous one stops signing now but stays in the trusted root.
 * Needs no private key of the old one, so it is also the way out of a lost instance key.
 */
export async function rotateSigningKey(ctx: Pick<AppContext, 'config' | 'db'>): Promise<{ retired: SigningKeyRow | null; current: SigningKeyRow }> {
  const now = new Date().toISOString();
  return ctx.db.transaction().execute(async (trx) => {
    const previous = (await currentSigningKey(trx)) ?? null;
    const row = newRow(ctx, (previous?.generation ?? 0) + 1, now);
    await insertSigningKey(trx, row);
    if (previous) await retireSigningKey(trx, previous.generation, now);
    return { retired: previous ? { ...previous, valid_until: now } : null, current: row };
  });
}

export async function signingKeys(ctx: Pick<AppContext, 'db'>): Promise<SigningKeyRow[]> {
  return listSigningKeys(ctx.db);
}

/** The trusted root every verifier needs: every key that ever signed, with its validity. */
export async function instanceTrustedRoot(ctx: Pick<AppContext, 'db'>): Promise<WharfTrustedRootJson> {
  const keys = await listSigningKeys(ctx.db);
  return trustedRootJson(keys.map((k) => ({ keyId: k.key_id, publicKeyPem: k.public_key_pem, validFrom: k.valid_from, validUntil: k.valid_until })));
}
