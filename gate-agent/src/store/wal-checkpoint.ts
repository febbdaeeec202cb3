import type Database from 'better-sqlite3';
import type { Logger } from 'pino';

export interface CheckpointPolicy {
  /** Checkpoint once this many rows were written on the connection since the last one (an admission writes 3)... */
  everyChanges: number;
  /** ...or, from the heartbeat, once this long has passed since the last one (ms) and anything was written. */
  idleMs: number;
}

export const DEFAULT_CHECKPOINTS: CheckpointPolicy = { everyChanges: 150, idleMs: 30_000 };

/**
 * The daemon's WAL checkpoints, off the scan path (docs/footprint.md). SQLite's automatic
 * checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages: the pages are copied
 * into the database with two fsyncs before that commit returns, i.e. before that visitor's
 * relay can move (the slowest scans of the scan→relay bench). Admissions (and the heartbeat)
 * commit with it off (WriteLock.runUnsynced); this checkpoints (PASSIVE: never waits for
 * readers or writers) right after an admission is on disk once enough was written — that
 * visitor is walking through, the next scan is far off — and from the heartbeat (every 2 s),
 * now and then, for the heartbeat's own rows. Every other commit (whitelist deltas, receipts,
 * commands) keeps SQLite's own automatic checkpoint, so a flood of deltas cannot grow the WAL
 * between two heartbeats. What was written is counted in rows (SQLite's total_changes()), a
 * close enough stand-in for WAL pages.
 */
export class WalCheckpointer {
  private readonly totalChanges: Database.Statement<[], number>;
  private changesAt: number;
  private lastAt: number;
  private scheduled = false;
  private closed = false;
  checkpoints = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly log: Logger,
    private readonly policy: CheckpointPolicy = DEFAULT_CHECKPOINTS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastAt = now();
    this.totalChanges = db.prepare<[], number>('SELECT total_changes()').pluck();
    this.changesAt = this.totalChanges.get()!;
  }

  private written(): number {
    return this.totalChanges.get()! - this.changesAt;
  }

  /** An admission is on disk: checkpoint on the next turn of the event loop once enough was written. */
  admitted(): void {
    if (this.scheduled || this.written() < this.policy.everyChanges) return;
    this.scheduled = true;
    setImmediate(() => this.checkpoint());
  }

  /** The heartbeat: what the sync wrote meanwhile, and the heartbeat's own rows now and then. */
  tick(): void {
    const written = this.written();
    if (written >= this.policy.everyChanges || (written > 0 && this.now() - this.lastAt >= this.policy.idleMs)) this.checkpoint();
  }

  checkpoint(): void {
    this.scheduled = false;
    if (this.closed || this.db.memory || !this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
      this.checkpoints++;
    } catch (err) {
      // SQLITE_BUSY (another checkpoint running) or an I/O error: the next one tries again.
      this.log.warn({ event: 'wal_checkpoint_failed', err: (err as Error).message }, 'WAL checkpoint failed; retried later');
    }
    this.changesAt = this.totalChanges.get()!;
    this.lastAt = this.now();
  }

  /** No more checkpoints (the store is closing; SQLite checkpoints on the last close itself). */
  close(): void {
    this.closed = true;
  }
}
