/**
 * Values read from the store and kept in memory, each current with this instance's own
 * writes and at most `ttlMs` old for everyone else's.
 *
 * - `invalidate(key)` after a committed change of this instance (sale, refund, rebooking,
 *   expiry, pause): the next read loads again. A load that was already running when the
 *   change committed is not kept (its generation is older), so a value read before the
 *   commit is never served after it.
 * - Other instances sharing the store: their changes reach this one when the entry is
 *   older than `ttlMs` (taken from when its load started): the next read starts a load and
 *   is answered from the old entry meanwhile, so they show within `ttlMs` plus one load.
 *   Change notifications between instances would need a channel SQLite does not have
 *   (PostgreSQL LISTEN/NOTIFY) or an MQTT round trip; a 1 s bound is what a visitor
 *   looking at "places left" can tell apart, and the sale itself is always decided by
 *   the store's guarded update, never by this view.
 * - One load per key at a time: concurrent reads of a stale key wait for the same load.
 */
export class FreshCache<T> {
  private readonly entries = new Map<string, { value: T; gen: number; at: number; version: number }>();
  private readonly gens = new Map<string, number>();
  private readonly loading = new Map<string, { gen: number; p: Promise<{ value: T; version: number }> }>();
  private static versions = 0;

  constructor(
    private readonly load: (key: string) => Promise<T>,
    private readonly ttlMs: number,
    private readonly clock: () => number = () => performance.now(),
    /** Entries kept at most; beyond it the oldest loads are dropped. */
    private readonly maxEntries = 5000,
  ) {}

  /** This instance committed a change to what `key` holds. */
  invalidate(key: string): void {
    this.gens.set(key, (this.gens.get(key) ?? 0) + 1);
    this.entries.delete(key);
  }

  /** Drop everything (tests, a catalogue reload). */
  clear(): void {
    for (const k of [...this.entries.keys(), ...this.loading.keys()]) this.invalidate(k);
  }

  /**
   * The value and a version that changes whenever the value may have (for caches built on
   * top of this one).
   */
  get(key: string): Promise<{ value: T; version: number }> | { value: T; version: number } {
    const gen = this.gens.get(key) ?? 0;
    const e = this.entries.get(key);
    const current = e !== undefined && e.gen === gen;
    if (current && this.clock() - e.at < this.ttlMs) return e;
    const running = this.loading.get(key);
    // Only old (not changed here): answer with it while one load runs in the background, so
    // a slow store delays no reader; changed here: wait for the load.
    if (current) {
      if (!running || running.gen !== gen) this.startLoad(key, gen).catch(() => undefined);
      return e;
    }
    if (running && running.gen === gen) return running.p;
    return this.startLoad(key, gen);
  }

  private startLoad(key: string, gen: number): Promise<{ value: T; version: number }> {
    const at = this.clock();
    const p = this.load(key).then((value) => {
      const entry = { value, gen, at, version: ++FreshCache.versions };
      if ((this.gens.get(key) ?? 0) === gen) {
        if (this.entries.size >= this.maxEntries) this.evict();
        this.entries.set(key, entry);
      }
      return entry;
    });
    this.loading.set(key, { gen, p });
    const done = (): void => {
      if (this.loading.get(key)?.p === p) this.loading.delete(key);
    };
    p.then(done, done);
    return p;
  }

  private evict(): void {
    const now = this.clock();
    for (const [k, e] of this.entries) if (now - e.at >= this.ttlMs) this.entries.delete(k);
    // Still full of fresh entries: drop the oldest half (Map keeps insertion order).
    if (this.entries.size >= this.maxEntries) {
      let n = Math.floor(this.maxEntries / 2);
      for (const k of this.entries.keys()) {
        if (n-- <= 0) break;
        this.entries.delete(k);
      }
    }
  }
}
