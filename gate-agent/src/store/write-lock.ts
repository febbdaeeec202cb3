import type Database from 'better-sqlite3';

/** How often a waiting admission asks for the write lock again (ms). */
const RETRY_MS = 0.2;

/**
 * A prepared PRAGMA that changes a setting. SQLite applies such a PRAGMA when it is prepared
 * and at every run but the first (it re-prepares it; the first run changes nothing). So the
 * setting is read before, the first run is spent here, and the setting put back: after this,
 * each run() applies it.
 */
function settingStatement(db: Database.Database, name: string, value: number): Database.Statement {
  const before = db.pragma(name, { simple: true }) as number;
  const st = db.prepare(`PRAGMA ${name} = ${value}`);
  exec(st);
  db.pragma(`${name} = ${before}`);
  return st;
}

function exec(st: Database.Statement): void {
  if (st.reader) st.get();
  else st.run();
}

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
  private readonly noCheckpoint: Database.Statement;
  /** `PRAGMA wal_autocheckpoint = n` by n, made on first use (the setting is the connection's: usually 1000, 0 during an import). */
  private readonly restoreCheckpoint = new Map<number, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.timeoutMs = db.pragma('busy_timeout', { simple: true }) as number;
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.noWait = settingStatement(db, 'busy_timeout', 0);
    this.restoreWait = settingStatement(db, 'busy_timeout', this.timeoutMs);
    // The connection's own setting (FULL for a gate database) comes back after an unsynced commit.
    this.noSync = settingStatement(db, 'synchronous', 1);
    this.restoreSync = settingStatement(db, 'synchronous', db.pragma('synchronous', { simple: true }) as number);
    this.noCheckpoint = settingStatement(db, 'wal_autocheckpoint', 0);
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
    // Nor does this commit checkpoint the WAL (SQLite would, inside it, once the WAL is past its
    // autocheckpoint): the daemon checkpoints after the relay has moved (WalCheckpointer).
    // Read fresh: an import on this connection sets it to 0 for a while.
    const autocheckpoint = this.db.pragma('wal_autocheckpoint', { simple: true }) as number;
    exec(this.noSync);
    if (autocheckpoint !== 0) exec(this.noCheckpoint);
    try {
      return this.run(fn);
    } finally {
      exec(this.restoreSync);
      if (autocheckpoint !== 0) exec(this.checkpointSetting(autocheckpoint));
    }
  }

  private checkpointSetting(n: number): Database.Statement {
    let st = this.restoreCheckpoint.get(n);
    if (!st) this.restoreCheckpoint.set(n, (st = settingStatement(this.db, 'wal_autocheckpoint', n)));
    return st;
  }

  private acquire(): void {
    const deadline = performance.now() + this.timeoutMs;
    exec(this.noWait);
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
      exec(this.restoreWait);
    }
  }
}
