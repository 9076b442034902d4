/**
 * @module git/ref-files
 * Reads one ref straight from a bare repository's files, as git's `files` ref backend stores it:
 * a loose file `refs/…` holding an object id (or `ref: <other ref>`), else a line of
 * `packed-refs`. Release creation asks for a handful of exact ref names per request (does the tag
 * exist? where is the target branch? is there a branch named like the new tag?); reading two
 * small files answers that without starting a git process, which on a loaded machine costs far
 * more than the request's database work.
 *
 * Reading the loose file first and `packed-refs` second is git's own order, and is safe against
 * `git pack-refs` running meanwhile: it writes `packed-refs` before it removes loose files, so a
 * ref missing from the first read is in the second. `packed-refs` is parsed once per version of
 * the file (its inode, size and modification time: git replaces it by renaming a new file over
 * it), for a few repositories at a time. A `packed-refs` larger than `MAX_PACKED_REFS_BYTES` (a
 * repository with hundreds of thousands of tags) is neither read nor kept: the caller's `askGit`
 * answers for the refs it holds, so one such repository cannot make each cache entry tens of MB.
 */
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isValidRefName } from './ref-format.ts';

const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
/** Symbolic refs followed before giving up (git's own limit is 5). */
const MAX_SYMREF_DEPTH = 5;
/** Repositories whose parsed `packed-refs` is kept. */
const PACKED_CACHE_SIZE = 16;
/** Largest `packed-refs` parsed and kept (about 40,000 refs); bigger ones are left to git. */
export const MAX_PACKED_REFS_BYTES = 4 * 1024 * 1024;

let maxPackedBytes = MAX_PACKED_REFS_BYTES;

/** Changes the `packed-refs` size cap (tests make a small repository cross it); returns the previous one. */
export function setMaxPackedRefsBytes(bytes: number): number {
  const previous = maxPackedBytes;
  maxPackedBytes = bytes;
  packedCache.clear();
  return previous;
}

/** Resolves a ref that is not a loose file, by asking git (used when `packed-refs` is over the cap). */
export type AskGit = (fullRef: string) => Promise<string | null>;

interface PackedRefs {
  version: string;
  refs: Map<string, string>;
}

const packedCache = new Map<string, PackedRefs>();

/**
 * The object id `fullRef` (e.g. `refs/tags/v1.0`) points at, following symbolic refs; null when
 * there is no such ref, it is broken (not an object id) or its name is not a valid ref name (no
 * such ref can exist, and the name must not become a path outside the repository).
 */
export async function readRefFile(gitDir: string, fullRef: string, askGit: AskGit): Promise<string | null> {
  let ref = fullRef;
  for (let depth = 0; depth <= MAX_SYMREF_DEPTH; depth++) {
    if (!ref.startsWith('refs/') || !isValidRefName(ref)) return null;
    const loose = readLoose(gitDir, ref);
    if (loose === null) {
      const packed = await packedRefs(gitDir);
      return packed ? (packed.get(ref) ?? null) : askGit(ref);
    }
    if (OBJECT_ID.test(loose)) return loose;
    const target = /^ref: (\S+)$/.exec(loose);
    if (!target) return null;
    ref = target[1]!;
  }
  return null;
}

/**
 * The trimmed content of the loose ref file, or null when there is none (a directory is not a ref).
 * Read synchronously, as the `packed-refs` stat below: a ref file is 41 bytes in the page cache,
 * and Node's promise-based `readFile` (open, fstat, read, close, each a trip through the thread
 * pool) cost about eight times the CPU of the same system calls made at once, three times per
 * release created. Most refs asked for are not loose files (a tag about to be created, a branch
 * named like it, a branch `git pack-refs` packed), and a failed read costs an exception (an Error
 * with its stack, about eight times the system call); `statSync` without `throwIfNoEntry` answers
 * "no such file" (ENOENT, ENOTDIR) without one. A file removed between the two calls is still
 * caught below, and any other error still throws.
 */
function readLoose(gitDir: string, ref: string): string | null {
  const file = path.join(gitDir, ref);
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat || stat.isDirectory()) return null;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
    throw err;
  }
}

/** The refs of `packed-refs` (empty when there is none); null when it is over the size cap. */
async function packedRefs(gitDir: string): Promise<Map<string, string> | null> {
  const file = path.join(gitDir, 'packed-refs');
  // A repository that never packed its refs has no `packed-refs`: answered without an exception.
  const s = statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!s) return new Map();
  if (s.size > BigInt(maxPackedBytes)) return null;
  const version = `${s.ino}:${s.size}:${s.mtimeNs}`;
  const cached = packedCache.get(file);
  if (cached?.version === version) {
    packedCache.delete(file);
    packedCache.set(file, cached);
    return cached.refs;
  }
  let text: string;
  try {
    // Read after the stat: the content is at least as new as the version it is kept under.
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  // Replaced by a bigger file between the stat and the read.
  if (text.length > maxPackedBytes) return null;
  const refs = parsePackedRefs(text);
  packedCache.set(file, { version, refs });
  if (packedCache.size > PACKED_CACHE_SIZE) packedCache.delete(packedCache.keys().next().value!);
  return refs;
}

/** `packed-refs` lines are `<id> <ref>`; `#` starts the header, `^<id>` peels the ref above. */
export function parsePackedRefs(text: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.startsWith('^')) continue;
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const id = line.slice(0, space);
    if (OBJECT_ID.test(id)) refs.set(line.slice(space + 1), id);
  }
  return refs;
}
