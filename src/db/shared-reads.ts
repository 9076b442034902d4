/**
 * @module db/shared-reads
 * One database read shared by the requests that ask for the same value at about the same time,
 * without ever answering a request with a read that began before it asked. Used for the
 * read-cache generations on PostgreSQL (`repos/generations-repo.ts`), where every read is a round
 * trip to a server process competing for the same cores, and sixteen pollers of one repository
 * each made their own.
 *
 * The rule that keeps every node's answers fresh ("a change committed anywhere is seen by the next
 * request") holds: a read under way may have begun before a change committed, so a request that
 * asks while it runs does not take its result; it waits for the next read, begun after it asked
 * (when the one under way ends), and shares that one with every request that asked meanwhile. So
 * each request's value comes from a statement started after the request asked, as if it had made
 * the read itself; at most two reads of one key are outstanding at a time (one running, one
 * waiting to start).
 */
export class SharedReads<T> {
  private readonly running = new Map<string, Promise<T>>();
  private readonly waiting = new Map<string, Promise<T>>();

  /** The value under `key`, from a read by `run` that begins no earlier than this call. */
  read(key: string, run: () => Promise<T>): Promise<T> {
    const next = this.waiting.get(key);
    if (next) return next;
    const current = this.running.get(key);
    if (!current) return this.start(key, run);
    const after = current.then(ignore, ignore).then(() => {
      this.waiting.delete(key);
      return this.start(key, run);
    });
    this.waiting.set(key, after);
    return after;
  }

  private start(key: string, run: () => Promise<T>): Promise<T> {
    const read = run();
    this.running.set(key, read);
    const done = () => {
      if (this.running.get(key) === read) this.running.delete(key);
    };
    read.then(done, done);
    return read;
  }
}

function ignore(): void {}
