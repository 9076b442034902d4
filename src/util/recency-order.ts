/**
 * @module util/recency-order
 * Least-recently-used order for a long-lived Map, without re-inserting an entry on every use. The
 * Map's insertion order is the eviction order (oldest first); each entry carries its place in that
 * order, and a used entry is moved last only once it has left the newer half, that is once more
 * than half the entries were put last after it. What goes first is always something no one used
 * while half the entries were put in after it.
 *
 * Why not move on every use: a delete and a set cost the Map a new hash table every few uses,
 * which V8 allocates in the old generation, as long-lived as the Map itself: under load megabytes
 * a second of garbage there, and a full collection every few seconds
 * (docs/performance.md#the-read-cache). The read cache, the SQLite statement cache, the image
 * proxy's cache and the rendered notes' cache keep their order with this.
 */

/** An entry of a Map kept in this order: its place in it, oldest first. */
export interface Ordered {
  order: number;
}

export class RecencyOrder {
  /** Entries put last in the order so far (kept or moved there). */
  #last = 0;

  /** The place of an entry put last now: a new one, or one replaced. */
  next(): number {
    return ++this.#last;
  }

  /** `entry`, under `key` in `map`, was used: moved last once it has left the newer half. */
  used<K, V extends Ordered>(map: Map<K, V>, key: K, entry: V): void {
    if (this.#last - entry.order > map.size >> 1) {
      map.delete(key);
      entry.order = ++this.#last;
      map.set(key, entry);
    }
  }
}
