import type { Logger } from 'pino';
import type { EntriesMessage, EntryEvent } from '@stile/config';
import type { SyncStatus } from './status.js';

/** The outbox table as the drain uses it (the gate's GateStore; the kiosk's outbox reuses the drain). */
export interface OutboxRows {
  outboxBatch(afterSeq: number, limit: number): { seq: number; payload: string }[];
  deleteOutbox(fromSeq: number, toSeq: number): number;
  outboxDepth(): number;
}

export interface DrainDeps<M = EntriesMessage> {
  store: OutboxRows;
  site: string;
  gate: string;
  batchSize: number;
  outboxMax: number;
  /** Resolves on PUBACK, rejects when the message could not be delivered. */
  publish(message: M): Promise<void>;
  /** The message of a batch from its rows' payloads; default the gate's EntriesMessage. */
  message?(payloads: string[]): M;
  /** How long a sent batch may wait for the cloud's receipt before the outbox is sent again. */
  receiptTimeoutMs?: number;
  status: Pick<SyncStatus, 'outboxDepth' | 'outboxFull' | 'lastReceiptAt' | 'eventsSent'>;
  log: Logger;
  /** Called when outboxFull changes (the gate's status message shows it). */
  onAlert?(full: boolean): void;
}

/** Batches published but not yet acknowledged, at most this many (DESIGN §5 rule 6). */
export const MAX_IN_FLIGHT = 2;

/** Sent batches without the cloud's receipt after this long are sent again. */
export const RECEIPT_TIMEOUT_MS = 15_000;

/**
 * Publishes the outbox in seq order as QoS 1 batches. A PUBACK frees the in-flight slot;
 * the rows are deleted only when the cloud's receipt (`entries/ack`, sent after its
 * database commit) names them. DESIGN §5 rule 1 said "after PUBACK", but the fault tests
 * showed a broker that restarts without persistence, or has no subscriber yet, PUBACKs and
 * then loses the batch. The outbox table is the only queue: after a reconnect or a receipt
 * timeout everything still in it is sent again (the cloud is idempotent on eventId).
 */
export class OutboxDrain<M = EntriesMessage> {
  private online = false;
  /** Highest seq handed to publish() on this connection. */
  private cursor = 0;
  private inFlight = 0;
  /** Bumped on every (re)connect: acks for an older connection still delete their rows, but do not steer this one. */
  private generation = 0;
  private draining = false;
  private depthAt = 0;
  private depthTimer: NodeJS.Timeout | undefined;
  /** Oldest batch sent on this connection whose receipt has not come: [sentAt, from]. */
  private unreceipted: { at: number; from: number; to: number }[] = [];
  private receiptTimer: NodeJS.Timeout | undefined;

  constructor(private readonly d: DrainDeps<M>) {}

  connected(): void {
    this.generation++;
    this.online = true;
    this.cursor = 0;
    this.inFlight = 0;
    this.unreceipted = [];
    clearInterval(this.receiptTimer);
    this.receiptTimer = setInterval(() => this.checkReceipts(), Math.min(1000, this.d.receiptTimeoutMs ?? RECEIPT_TIMEOUT_MS));
    this.receiptTimer.unref();
    this.kick();
  }

  /** The cloud has committed entries from..to: they may leave the outbox. */
  receipt(from: number, to: number): void {
    let deleted: number;
    try {
      deleted = this.d.store.deleteOutbox(from, to);
    } catch (err) {
      this.d.log.error({ event: 'outbox_delete_failed', from, to, err: (err as Error).message }, 'could not delete receipted outbox rows; they will be sent again');
      return;
    }
    this.unreceipted = this.unreceipted.filter((b) => b.to > to || b.from < from);
    this.d.status.lastReceiptAt = new Date().toISOString();
    this.d.status.eventsSent += deleted;
    this.d.log.debug({ event: 'entries_receipted', from, to, deleted }, 'cloud stored entries');
    this.refreshDepth(true);
  }

  /** No receipt for too long (the broker lost it, or the cloud is down): send the outbox again from its oldest row. */
  private checkReceipts(): void {
    const oldest = this.unreceipted[0];
    if (!this.online || !oldest || Date.now() - oldest.at < (this.d.receiptTimeoutMs ?? RECEIPT_TIMEOUT_MS)) return;
    this.d.log.warn({ event: 'entries_unreceipted', from: oldest.from, pending: this.unreceipted.length }, 'no receipt from the cloud; sending the outbox again');
    this.unreceipted = [];
    this.cursor = 0;
    this.kick();
  }

  disconnected(): void {
    this.online = false;
    clearInterval(this.receiptTimer);
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
        const message = this.d.message ? this.d.message(rows.map((r) => r.payload)) : (this.entries(rows) as M);
        const count = rows.length;
        const from = rows[0]!.seq;
        const to = rows[rows.length - 1]!.seq;
        this.cursor = to;
        this.inFlight++;
        const gen = this.generation;
        this.d
          .publish(message)
          .then(
            () => this.acked(gen, from, to, count),
            (err: Error) => this.failed(gen, from, to, err),
          );
      }
    } catch (err) {
      this.d.log.error({ event: 'outbox_read_failed', err: (err as Error).message }, 'could not read the outbox');
    } finally {
      this.draining = false;
    }
  }

  private entries(rows: { payload: string }[]): EntriesMessage {
    return { v: 1, site: this.d.site, gate: this.d.gate, events: rows.map((r) => JSON.parse(r.payload) as EntryEvent) };
  }

  private acked(gen: number, from: number, to: number, count: number): void {
    // The broker has it; the rows stay until the cloud's receipt.
    this.d.log.debug({ event: 'entries_puback', from, to, count }, 'entries batch acknowledged by the broker');
    if (gen !== this.generation) return;
    this.unreceipted.push({ at: Date.now(), from, to });
    this.inFlight--;
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
    if (!force && now - this.depthAt < 1000) {
      // Counted once more when the second is up, so a burst's last rows show in status and metrics.
      this.depthTimer ??= setTimeout(() => {
        this.depthTimer = undefined;
        this.refreshDepth();
      }, 1000 - (now - this.depthAt)).unref();
      return;
    }
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
