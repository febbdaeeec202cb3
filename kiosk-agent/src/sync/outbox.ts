import Database from 'better-sqlite3';
import type { KioskRecord, KioskRecordInput } from '@stile/config';
import type { OutboxRows } from '@stile/gate-agent';
import { migrateKioskFile, refuseIfNewer } from '../store/versions.js';

/** Versions of the outbox file (store/versions.ts): append a step for every change, never edit one. */
export const OUTBOX_SCHEMA: readonly string[] = [
  `
      CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, sale_id TEXT NOT NULL, payload TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS offline_sold (date TEXT PRIMARY KEY, persons INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS kiosk_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
];

/**
 * The kiosk's outbox: every sale, print and cash movement, numbered by a durable seq
 * (AUTOINCREMENT: never reused), until the cloud's signed receipt names it. Its own SQLite
 * file, WAL with synchronous=FULL like the gate's: a sale recorded before the ticket prints
 * survives a power cut. It also keeps the offline counter per local day and the last good
 * offline pack, so an offline sale, its count and its record commit together.
 */
export class KioskOutbox implements OutboxRows {
  readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    refuseIfNewer(this.db, path, OUTBOX_SCHEMA.length);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    migrateKioskFile(this.db, { path, steps: OUTBOX_SCHEMA });
  }

  /** Append a record; it gets the next seq. Runs inside a caller's transaction when there is one. */
  enqueue(record: KioskRecordInput): KioskRecord {
    // The seq is the row's own: insert, then write the payload that names it.
    const info = this.db.prepare('INSERT INTO outbox (sale_id, payload) VALUES (?, ?)').run(record.saleId, '');
    const seq = String(info.lastInsertRowid);
    const full = { ...record, seq } as KioskRecord;
    this.db.prepare('UPDATE outbox SET payload = ? WHERE seq = ?').run(JSON.stringify(full), info.lastInsertRowid);
    return full;
  }

  outboxBatch(afterSeq: number, limit: number): { seq: number; payload: string }[] {
    return this.db.prepare<[number, number], { seq: number; payload: string }>('SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit);
  }

  deleteOutbox(fromSeq: number, toSeq: number): number {
    return this.db.prepare('DELETE FROM outbox WHERE seq >= ? AND seq <= ?').run(fromSeq, toSeq).changes;
  }

  outboxDepth(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  }

  /** The saleId of the record at `seq`, if it is still in the outbox (receipts must name it). */
  saleIdAt(seq: number): string | undefined {
    return (this.db.prepare<[number], { sale_id: string }>('SELECT sale_id FROM outbox WHERE seq = ?').get(seq))?.sale_id;
  }

  /** Persons sold offline on a local date. */
  offlineSold(date: string): number {
    return this.db.prepare<[string], { persons: number }>('SELECT persons FROM offline_sold WHERE date = ?').get(date)?.persons ?? 0;
  }

  addOfflineSold(date: string, persons: number): void {
    this.db.prepare('INSERT INTO offline_sold (date, persons) VALUES (?, ?) ON CONFLICT(date) DO UPDATE SET persons = persons + excluded.persons').run(date, persons);
  }

  meta(key: string): string | undefined {
    return this.db.prepare<[string], { value: string }>('SELECT value FROM kiosk_meta WHERE key = ?').get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO kiosk_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** One write transaction (BEGIN IMMEDIATE): all of `fn` or nothing. */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    this.db.close();
  }
}
