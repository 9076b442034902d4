/**
 * @module services/write-reads
 * Reads that a write's own checks and the refs door's rules would each make in one request (is
 * the repository a mirror or an import? is the tag name reserved by an immutable release?), made
 * once. Creating a published release asks both before its tag is made; both ask before the
 * release's transaction and neither holds a lock, so the second read guarded nothing the first
 * did not. One `WriteReads` lives for one request, never longer: nothing is remembered across
 * requests.
 */
export class WriteReads {
  readonly #made = new Map<string, Promise<unknown>>();

  /** `read()`'s answer, read once per `key` for the life of this object. */
  once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let made = this.#made.get(key) as Promise<T> | undefined;
    if (!made) {
      made = read();
      this.#made.set(key, made);
    }
    return made;
  }
}

/** `read()` through `reads` when the caller shares its reads, else read now. */
export function readOnce<T>(reads: WriteReads | undefined, key: string, read: () => Promise<T>): Promise<T> {
  return reads ? reads.once(key, read) : read();
}
