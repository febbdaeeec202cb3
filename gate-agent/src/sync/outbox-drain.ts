import type { Logger } from 'pino';
import type { EntriesMessage, EntryEvent } from '@stile/config';
import type { GateStore } from '../store/index.js';
import type { SyncStatus } from './status.js';

export interface DrainDeps {
  store: GateStore;
  site: string;
  gate: string;
  batchSize: number;
  outboxMax: number;
  /** Resolves on PUBACK, rejects when the message could not be delivered. */
  publish(message: EntriesMessage): Promise<void>;
  status: SyncStatus;
  log: Logger;
  /** Called when outboxFull changes (the gate's status message shows it). */
  onAlert?(full: boolean): void;
}

/** Batches published but not yet acknowledged, at most this many (DESIGN §5 rule 6). */
export const MAX_IN_FLIGHT = 2;

/**
 * Publishes the outbox in seq order as QoS 1 batches and deletes a batch's rows only
 * after its PUBACK (DESIGN §5 rule 1). The outbox table is the only queue: nothing is
 * kept in memory across a reconnect, so a restart or a lost connection resends from
 * the oldest row still there (the cloud is idempotent on eventId).
 */
export class OutboxDrain {
  private online = false;
  /** Highest seq handed to publish() on this connection. */
  private cursor = 0;
  private inFlight = 0;
  /** Bumped on every (re)connect: acks for an older connection still delete their rows, but do not steer this one. */
  private generation = 0;
  private draining = false;
  private depthAt = 0;

  constructor(private readonly d: DrainDeps) {}

  connected(): void {
    this.generation++;
    this.online = true;
    this.cursor = 0;
    this.inFlight = 0;
    this.kick();
  }

  disconnected(): void {
    this.online = false;
  }

  /** Something may have been added to the outbox (or acked): publish what fits. */
  kick(): void {
    this.refreshDepth();
    if (this.d.status.outboxDepth === 0) this.refreshDepth(true);
    if (!this.online || this.draining) return;
    this.draining = true;
    try {
      while (this.online && this.inFlight < MAX_IN_FLIGHT) {
        const rows = this.d.store.outboxBatch(this.cursor, this.d.batchSize);
        if (rows.length === 0) break;
        const events = rows.map((r) => JSON.parse(r.payload) as EntryEvent);
        const from = rows[0]!.seq;
        const to = rows[rows.length - 1]!.seq;
        this.cursor = to;
        this.inFlight++;
        const gen = this.generation;
        this.d
          .publish({ v: 1, site: this.d.site, gate: this.d.gate, events })
          .then(
            () => this.acked(gen, from, to, events.length),
            (err: Error) => this.failed(gen, from, to, err),
          );
      }
    } catch (err) {
      this.d.log.error({ event: 'outbox_read_failed', err: (err as Error).message }, 'could not read the outbox');
    } finally {
      this.draining = false;
    }
  }

  private acked(gen: number, from: number, to: number, count: number): void {
    try {
      this.d.store.deleteOutbox(from, to);
    } catch (err) {
      // The rows stay and are sent again later; the cloud ignores the duplicates.
      this.d.log.error({ event: 'outbox_delete_failed', from, to, err: (err as Error).message }, 'could not delete acknowledged outbox rows');
    }
    this.d.status.lastPubackAt = new Date().toISOString();
    this.d.status.eventsSent += count;
    this.d.log.debug({ event: 'entries_acked', from, to, count }, 'entries acknowledged');
    if (gen === this.generation) this.inFlight--;
    this.kick();
  }

  private failed(gen: number, from: number, to: number, err: Error): void {
    this.d.log.warn({ event: 'entries_publish_failed', from, to, err: err.message }, 'entries batch not acknowledged; it stays in the outbox');
    if (gen !== this.generation) return;
    // Resend from the oldest unacknowledged row after the next connect.
    this.inFlight--;
    this.cursor = Math.min(this.cursor, from - 1);
  }

  /** count(*) walks the table, so at most once a second (and whenever asked to force it). */
  refreshDepth(force = false): void {
    const now = Date.now();
    if (!force && now - this.depthAt < 1000) return;
    this.depthAt = now;
    let depth: number;
    try {
      depth = this.d.store.outboxDepth();
    } catch {
      return;
    }
    this.d.status.outboxDepth = depth;
    const full = depth >= this.d.outboxMax;
    if (full !== this.d.status.outboxFull) {
      this.d.status.outboxFull = full;
      if (full) this.d.log.error({ event: 'outbox_full', depth, max: this.d.outboxMax }, 'outbox full: the cloud has not taken entries for a long time; the gate keeps admitting and keeps every entry — call staff');
      else this.d.log.info({ event: 'outbox_ok', depth }, 'outbox below its limit again');
      this.d.onAlert?.(full);
    }
  }
}
