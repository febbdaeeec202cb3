interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: items submitted while a group is being written wait and are written
 * together in the next one, so a burst costs one transaction (one fsync) instead of one
 * per item. A failed group is retried item by item, so one item the database refuses
 * cannot hold back the others; only that item's promise rejects.
 */
export class GroupCommit<T, R> {
  private queue: Pending<T, R>[] = [];
  private running = false;

  constructor(
    /** Writes the group in one transaction; results in the order of the items. */
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly maxGroup = 32,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // Let the event loop read what the sockets hold first: a synchronous database
        // (better-sqlite3) blocks it for the whole write, so without this nothing else
        // ever arrives to join the group.
        await new Promise<void>((r) => setImmediate(r));
        const group = this.queue.splice(0, this.maxGroup);
        try {
          const results = await this.write(group.map((p) => p.item));
          group.forEach((p, i) => p.resolve(results[i]!));
        } catch (err) {
          if (group.length === 1) group[0]!.reject(err);
          else await this.oneByOne(group);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async oneByOne(group: Pending<T, R>[]): Promise<void> {
    for (const p of group) {
      try {
        const [r] = await this.write([p.item]);
        p.resolve(r!);
      } catch (err) {
        p.reject(err);
      }
    }
  }
}
