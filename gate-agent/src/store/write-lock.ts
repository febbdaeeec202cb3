import type Database from 'better-sqlite3';

/** How often a waiting admission asks for the write lock again (ms). */
const RETRY_MS = 0.2;

/**
 * BEGIN IMMEDIATE for the admission path, retried every RETRY_MS instead of in SQLite's
 * busy handler. That handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms
 * between tries, so a lock held for 3 ms at a time (a snapshot import's slices) could
 * keep an admission waiting for 50 ms and more; retrying this often, it gets the lock
 * within a fraction of a millisecond of its release. The connection's busy_timeout stays
 * the deadline; every other statement keeps SQLite's own busy handler.
 */
export class WriteLock {
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly noWait: Database.Statement;
  private readonly restoreWait: Database.Statement;
  private readonly timeoutMs: number;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  private readonly noSync: Database.Statement;
  private readonly restoreSync: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.timeoutMs = db.pragma('busy_timeout', { simple: true }) as number;
    // The connection's own setting (FULL for a gate database) comes back after an unsynced
    // commit. SQLite applies a PRAGMA when it is prepared and again at every run but the first
    // (it re-prepares it; the first run changes nothing): read the setting before preparing,
    // and prepare the restoring one last.
    const sync = db.pragma('synchronous', { simple: true }) as number;
    this.noSync = db.prepare('PRAGMA synchronous = NORMAL');
    this.restoreSync = db.prepare(`PRAGMA synchronous = ${sync}`);
    // Spend the no-op first runs here, so the first admission already commits unsynced.
    this.noSync.run();
    this.restoreSync.run();
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.noWait = db.prepare('PRAGMA busy_timeout = 0');
    this.restoreWait = db.prepare(`PRAGMA busy_timeout = ${this.timeoutMs}`);
    // As above: the first runs change nothing, and the first admission would wait in SQLite's busy handler.
    this.noWait.get();
    this.restoreWait.get();
  }

  /** Run `fn` in an IMMEDIATE transaction (a savepoint inside an open one), committed before it returns. */
  run<T>(fn: () => T): T {
    if (this.db.inTransaction) return this.db.transaction(fn)();
    this.acquire();
    try {
      const result = fn();
      this.commit.run();
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      throw err;
    }
  }

  /**
   * run(), but COMMIT does not wait for the disk (synchronous = NORMAL for this one commit):
   * the transaction is committed and survives a crash of the process, and becomes durable
   * against power loss once the caller has synced the WAL (GateStore.syncWal). Inside an open
   * transaction it is a savepoint, as run(), and the outer commit decides.
   */
  runUnsynced<T>(fn: () => T): T {
    if (this.db.inTransaction) return this.db.transaction(fn)();
    this.noSync.run();
    try {
      return this.run(fn);
    } finally {
      this.restoreSync.run();
    }
  }

  private acquire(): void {
    const deadline = performance.now() + this.timeoutMs;
    this.noWait.get();
    try {
      for (;;) {
        try {
          this.begin.run();
          return;
        } catch (err) {
          if (!String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY') || performance.now() >= deadline) throw err;
        }
        Atomics.wait(this.sleeper, 0, 0, RETRY_MS);
      }
    } finally {
      this.restoreWait.get();
    }
  }
}
