/**
 * @module services/trusted-roots
 * Whose signatures this instance accepts on offline bundles (docs/mirrors.md): its own signing
 * keys (every generation, services/signing-keys.ts) and the keys of other instances' trusted roots
 * an operator added with `wharf keys trust URL_OR_FILE` — the same document those instances serve
 * at `/.well-known/wharf/trusted-root.json` for their release attestations. A trusted root is
 * taken as it is read: whoever adds it vouches for the channel it came over.
 */
import { createHash } from 'node:crypto';
import type { AppContext } from '../context.ts';
import type { TrustedRootRow } from '../db/schema.ts';
import { deleteTrustedRoot, insertTrustedRoot, listTrustedRoots } from '../db/repos/bundles-repo.ts';
import { listSigningKeys } from '../db/repos/attestations-repo.ts';
import { trustedRootJson, type WharfSigningKeyJson, type WharfTrustedRootJson } from '../attestations/trusted-root.ts';
import { AttestationRefused, trustMaterialOf } from '../attestations/verify-bundle.ts';
import { keyIdOf } from '../attestations/key-material.ts';
import { createPublicKey } from 'node:crypto';
import { OutboundPolicy } from '../net/outbound-policy.ts';
import { outboundRequest } from '../net/outbound-request.ts';
import { isoSeconds } from '../util/time.ts';

/** A document that is not a usable trusted root, or could not be read. */
export class TrustedRootRefused extends Error {}

const MAX_DOCUMENT_BYTES = 1024 * 1024;

/** The signing keys a trusted-root document lists, each checked to be the key its id names. */
export function keysOfTrustedRoot(text: string): WharfSigningKeyJson[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TrustedRootRefused('the document is not JSON');
  }
  try {
    trustMaterialOf(json);
  } catch (err) {
    throw new TrustedRootRefused(err instanceof AttestationRefused ? err.message : String(err));
  }
  const keys = (json as { wharfSigningKeys?: unknown }).wharfSigningKeys;
  if (!Array.isArray(keys) || keys.length === 0) throw new TrustedRootRefused('the document lists no signing keys (wharfSigningKeys): it is not a Wharf trusted root');
  const out: WharfSigningKeyJson[] = [];
  for (const entry of keys as WharfSigningKeyJson[]) {
    let id: string;
    try {
      id = keyIdOf(createPublicKey(entry.pem));
    } catch {
      throw new TrustedRootRefused(`key ${String(entry?.keyId)} has no readable public key (pem)`);
    }
    // The id is what signatures name: one that is not its key's would let a document pass off another key.
    if (id !== entry.keyId) throw new TrustedRootRefused(`key ${String(entry.keyId)} is not the key its pem holds (${id})`);
    out.push(entry);
  }
  return out;
}

/** Reads a trusted root from a URL (under the outbound address rules) or a file. */
export async function readTrustedRoot(ctx: Pick<AppContext, 'config'>, source: string): Promise<string> {
  if (/^https?:\/\//i.test(source)) {
    const res = await outboundRequest(new OutboundPolicy(ctx.config.outboundAllowedHosts), {
      method: 'GET',
      url: source,
      headers: { accept: 'application/json' },
      timeoutMs: 30_000,
      maxResponseBytes: MAX_DOCUMENT_BYTES + 1,
    }).catch((err: unknown) => {
      throw new TrustedRootRefused(`cannot fetch ${source}: ${(err as Error).message}`);
    });
    if (res.status !== 200) throw new TrustedRootRefused(`${source} answered ${res.status}, not the trusted root`);
    if (res.body.length > MAX_DOCUMENT_BYTES) throw new TrustedRootRefused(`${source} is larger than a trusted root can be`);
    return res.body.toString('utf8');
  }
  const { readFile, stat } = await import('node:fs/promises');
  const info = await stat(source).catch(() => null);
  if (!info?.isFile()) throw new TrustedRootRefused(`there is no file ${source}`);
  if (info.size > MAX_DOCUMENT_BYTES) throw new TrustedRootRefused(`${source} is larger than a trusted root can be`);
  return readFile(source, 'utf8');
}

/** Trusts the keys of `document` for bundles; `added` is false when it was trusted already. */
export async function trustRoot(ctx: Pick<AppContext, 'db'>, source: string, document: string): Promise<{ row: TrustedRootRow; keys: WharfSigningKeyJson[]; added: boolean }> {
  const keys = keysOfTrustedRoot(document);
  const row = { id: createHash('sha256').update(document).digest('hex'), source, document, added_at: isoSeconds() };
  const added = await insertTrustedRoot(ctx.db, row);
  return { row, keys, added };
}

export async function trustedRoots(ctx: Pick<AppContext, 'db'>): Promise<Array<TrustedRootRow & { keys: WharfSigningKeyJson[] }>> {
  return (await listTrustedRoots(ctx.db)).map((row) => ({ ...row, keys: keysOfTrustedRoot(row.document) }));
}

/** Stops trusting the document whose id (or its first 12 characters or more) is `idPrefix`. */
export async function untrustRoot(ctx: Pick<AppContext, 'db'>, idPrefix: string): Promise<TrustedRootRow | null> {
  if (idPrefix.length < 12) return null;
  const match = (await listTrustedRoots(ctx.db)).filter((r) => r.id.startsWith(idPrefix.toLowerCase()));
  if (match.length !== 1) return null;
  await deleteTrustedRoot(ctx.db, match[0]!.id);
  return match[0]!;
}

/**
 * One trusted root holding every key this instance accepts bundles from: its own keys and those of
 * the roots it trusts. `origins` maps each key id to where it came from (`this instance` or the source).
 */
export async function bundleTrust(ctx: Pick<AppContext, 'db'>): Promise<{ root: WharfTrustedRootJson; origins: Map<string, string> }> {
  const own = await listSigningKeys(ctx.db);
  const root = trustedRootJson(own.map((k) => ({ keyId: k.key_id, publicKeyPem: k.public_key_pem, validFrom: k.valid_from, validUntil: k.valid_until })));
  const origins = new Map(own.map((k) => [k.key_id, 'this instance']));
  for (const trusted of await trustedRoots(ctx)) {
    for (const key of trusted.keys) {
      if (origins.has(key.keyId)) continue;
      root.wharfSigningKeys.push(key);
      origins.set(key.keyId, trusted.source);
    }
  }
  return { root, origins };
}
