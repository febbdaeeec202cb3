/**
 * The kiosk's durable journal (SQLite, better-sqlite3): the sale machine's journal entries and
 * the cash journal (every note in or out, coin paid, money owed), each row committed with
 * `synchronous = FULL` before the effect that acts on it runs (the reducer's contract: money
 * first, then the device). After a crash the open sales are read back for `sale.recover()`.
 *
 *   journal   every JournalEntry, in order (seq)
 *   open_sales  sales with entries and no sale_closed yet (so recovery never scans the day)
 *   cash      note_in / note_out / coins_out / owed / owed_settled / unexpected, in fen
 *   attempts  provider payment attempts: which order, which provider (written before the call)
 *   meta      small counters: the hopper's coin count
 *   audit     staff and technician actions (window lookups, prints, refunds; reprints, refills)
 *   day_close one row per closed day (kioskctl close-day): expected, counted, the report
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { JournalEntry } from '../sale/events.js';
import { migrateKioskFile, refuseIfNewer } from './versions.js';

/** `refill`: coins loaded into the hopper (kioskctl refill); `refund_cash`: a window refund handed back from the till. */
export type CashKind = 'note_in' | 'note_out' | 'coins_out' | 'owed' | 'owed_settled' | 'unexpected' | 'refill' | 'refund_cash';

/** A staff or technician action outside the sale machine (window lookups, prints, refunds; kioskctl reprints, refills), with who did it. */
export interface AuditRow {
  seq: number;
  at: number;
  staff: string | null;
  action: string;
  saleId: string | null;
  detail: Record<string, unknown>;
}

/** A day closed by kioskctl close-day: what was expected and counted, and the report as printed. */
export interface DayClose {
  date: string;
  at: number;
  staff: string | null;
  expectedFen: number;
  countedFen: number;
  report: Record<string, unknown>;
}

export interface CashRow {
  seq: number;
  at: number;
  saleId: string;
  kind: CashKind;
  fen: number;
  detail: string | null;
}

export interface AttemptRow {
  attemptId: string;
  saleId: string;
  orderId: string;
  provider: 'wechat' | 'alipay';
  method: 'code' | 'qr';
}

/** Versions of kiosk.db (versions.ts): append a step for every change, never edit one. */
export const JOURNAL_SCHEMA: readonly string[] = [
  `
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, sale_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL, entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_sale_ix ON journal (sale_id, seq);
CREATE TABLE IF NOT EXISTS open_sales (sale_id TEXT PRIMARY KEY, first_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cash (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sale_id TEXT NOT NULL, kind TEXT NOT NULL, fen INTEGER NOT NULL, detail TEXT);
CREATE TABLE IF NOT EXISTS attempts (attempt_id TEXT PRIMARY KEY, sale_id TEXT NOT NULL, order_id TEXT NOT NULL, provider TEXT NOT NULL, method TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_at_ix ON journal (at);
CREATE INDEX IF NOT EXISTS cash_at_ix ON cash (at);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, staff TEXT, action TEXT NOT NULL, sale_id TEXT, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at_ix ON audit (at);
CREATE TABLE IF NOT EXISTS day_close (date TEXT PRIMARY KEY, at INTEGER NOT NULL, staff TEXT, expected_fen INTEGER NOT NULL, counted_fen INTEGER NOT NULL, report TEXT NOT NULL);
`,
];

/** Journal entries that move cash, and the cash row each one is. */
function cashRowOf(e: JournalEntry): { kind: CashKind; fen: number } | undefined {
  switch (e.kind) {
    case 'owed':
      return { kind: 'owed', fen: e.amountFen };
    case 'owed_settled':
      return { kind: 'owed_settled', fen: e.amountFen };
    case 'cash_unexpected':
      return { kind: 'unexpected', fen: e.valueFen };
    default:
      return undefined;
  }
}

export class KioskJournal {
  private readonly db: Database.Database;
  private readonly st: Record<string, Database.Statement>;
  private readonly appendTx: (e: JournalEntry) => void;
  readonly migratedFrom: string | undefined;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    // A kiosk.db from a newer Stile is refused before anything writes to it.
    refuseIfNewer(this.db, path, JOURNAL_SCHEMA.length);
    this.db.pragma('journal_mode = WAL');
    // Every row here is money or what money depends on: durable at commit, power cut or not.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    /** The copy taken before this file was migrated (`<db>.pre-migrate-v<from>-<time>`), if it was. */
    this.migratedFrom = migrateKioskFile(this.db, { path, steps: JOURNAL_SCHEMA });
    const p = (sql: string) => this.db.prepare(sql);
    this.st = {
      insert: p('INSERT INTO journal (sale_id, kind, at, entry) VALUES (?, ?, ?, ?)'),
      open: p('INSERT OR IGNORE INTO open_sales (sale_id, first_seq) VALUES (?, ?)'),
      close: p('DELETE FROM open_sales WHERE sale_id = ?'),
      openEntries: p('SELECT j.entry FROM journal j JOIN open_sales o ON o.sale_id = j.sale_id ORDER BY j.seq'),
      saleEntries: p('SELECT entry FROM journal WHERE sale_id = ? ORDER BY seq'),
      cash: p('INSERT INTO cash (at, sale_id, kind, fen, detail) VALUES (?, ?, ?, ?, ?)'),
      cashRows: p('SELECT seq, at, sale_id AS saleId, kind, fen, detail FROM cash WHERE seq > ? ORDER BY seq'),
      attempt: p('INSERT OR REPLACE INTO attempts (attempt_id, sale_id, order_id, provider, method, at) VALUES (?, ?, ?, ?, ?, ?)'),
      getAttempt: p('SELECT attempt_id AS attemptId, sale_id AS saleId, order_id AS orderId, provider, method FROM attempts WHERE attempt_id = ?'),
      lastAttempt: p('SELECT attempt_id AS attemptId, sale_id AS saleId, order_id AS orderId, provider, method FROM attempts WHERE sale_id = ? ORDER BY at DESC, rowid DESC LIMIT 1'),
      getMeta: p('SELECT value FROM meta WHERE key = ?'),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      count: p('SELECT COUNT(*) AS n FROM journal'),
      entriesBetween: p('SELECT entry FROM journal WHERE at >= ? AND at < ? ORDER BY seq'),
      cashBetween: p('SELECT seq, at, sale_id AS saleId, kind, fen, detail FROM cash WHERE at >= ? AND at < ? ORDER BY seq'),
      openIds: p('SELECT sale_id AS saleId FROM open_sales ORDER BY first_seq'),
      audit: p('INSERT INTO audit (at, staff, action, sale_id, detail) VALUES (?, ?, ?, ?, ?)'),
      auditBetween: p('SELECT seq, at, staff, action, sale_id AS saleId, detail FROM audit WHERE at >= ? AND at < ? ORDER BY seq'),
      auditOfSale: p('SELECT seq, at, staff, action, sale_id AS saleId, detail FROM audit WHERE sale_id = ? ORDER BY seq'),
      dayClose: p('SELECT date, at, staff, expected_fen AS expectedFen, counted_fen AS countedFen, report FROM day_close WHERE date = ?'),
      closeDay: p('INSERT OR IGNORE INTO day_close (date, at, staff, expected_fen, counted_fen, report) VALUES (?, ?, ?, ?, ?, ?)'),
    };
    this.appendTx = this.db.transaction((e: JournalEntry) => {
      const r = this.st.insert!.run(e.saleId, e.kind, e.at, JSON.stringify(e));
      if (e.saleId !== 'none' && !e.saleId.startsWith('refund:')) {
        if (e.kind === 'sale_closed') this.st.close!.run(e.saleId);
        else this.st.open!.run(e.saleId, r.lastInsertRowid);
      }
      const cash = cashRowOf(e);
      if (cash) this.st.cash!.run(e.at, e.saleId, cash.kind, cash.fen, e.kind === 'owed' ? e.purpose : null);
    });
  }

  /** Persist one entry of the sale machine (and its cash row), durably, before the caller acts on it. */
  append(entry: JournalEntry): void {
    this.appendTx(entry);
  }

  /** A cash movement the devices reported (a note stacked or handed back, coins paid). */
  cash(at: number, saleId: string, kind: CashKind, fen: number, detail?: string): void {
    this.st.cash!.run(at, saleId, kind, fen, detail ?? null);
  }

  cashSince(seq = 0): CashRow[] {
    return this.st.cashRows!.all(seq) as CashRow[];
  }

  /** Entries of every sale not closed yet, oldest first: what `sale.recover()` needs after a restart. */
  openEntries(): JournalEntry[] {
    return (this.st.openEntries!.all() as { entry: string }[]).map((r) => JSON.parse(r.entry) as JournalEntry);
  }

  saleEntries(saleId: string): JournalEntry[] {
    return (this.st.saleEntries!.all(saleId) as { entry: string }[]).map((r) => JSON.parse(r.entry) as JournalEntry);
  }

  /** Written before the provider is asked, so a restart knows which order and provider an attempt was. */
  recordAttempt(a: AttemptRow, at: number): void {
    this.st.attempt!.run(a.attemptId, a.saleId, a.orderId, a.provider, a.method, at);
  }

  attempt(attemptId: string): AttemptRow | undefined {
    return this.st.getAttempt!.get(attemptId) as AttemptRow | undefined;
  }

  lastAttemptOf(saleId: string): AttemptRow | undefined {
    return this.st.lastAttempt!.get(saleId) as AttemptRow | undefined;
  }

  /** Coins in the hopper as the kiosk counts them (set at refill, less every coin paid); undefined before the first count. */
  hopperCoins(): number | undefined {
    const row = this.st.getMeta!.get('hopper_coins') as { value: string } | undefined;
    return row ? Number(row.value) : undefined;
  }

  setHopperCoins(n: number): void {
    this.st.setMeta!.run('hopper_coins', String(Math.max(0, Math.trunc(n))));
  }

  /** Journal entries written in [from, to) (ms), in order: a day's sales for kioskctl. */
  entriesBetween(from: number, to: number): JournalEntry[] {
    return (this.st.entriesBetween!.all(from, to) as { entry: string }[]).map((r) => JSON.parse(r.entry) as JournalEntry);
  }

  cashBetween(from: number, to: number): CashRow[] {
    return this.st.cashBetween!.all(from, to) as CashRow[];
  }

  /** Sales with entries and no sale_closed yet, oldest first. */
  openSaleIds(): string[] {
    return (this.st.openIds!.all() as { saleId: string }[]).map((r) => r.saleId);
  }

  audit(a: Omit<AuditRow, 'seq'>): void {
    this.st.audit!.run(a.at, a.staff, a.action, a.saleId, JSON.stringify(a.detail));
  }

  auditBetween(from: number, to: number): AuditRow[] {
    return (this.st.auditBetween!.all(from, to) as (Omit<AuditRow, 'detail'> & { detail: string })[]).map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }

  auditOfSale(saleId: string): AuditRow[] {
    return (this.st.auditOfSale!.all(saleId) as (Omit<AuditRow, 'detail'> & { detail: string })[]).map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }

  /** Coins loaded into the hopper: the cash row and the new count in one transaction. Returns the count after. */
  refill(at: number, coins: number, coinFen: number, staff: string | null): number {
    return this.db.transaction(() => {
      const after = (this.hopperCoins() ?? 0) + coins;
      this.st.cash!.run(at, 'none', 'refill', coins * coinFen, `coins=${coins}`);
      this.setHopperCoins(after);
      this.audit({ at, staff, action: 'refill', saleId: null, detail: { coins, coinFen, after } });
      return after;
    })();
  }

  dayClose(date: string): DayClose | undefined {
    const r = this.st.dayClose!.get(date) as (Omit<DayClose, 'report'> & { report: string }) | undefined;
    return r ? { ...r, report: JSON.parse(r.report) as Record<string, unknown> } : undefined;
  }

  /** Record a day's close once; false when the day was closed already (the first close stands). */
  closeDay(c: DayClose): boolean {
    return this.st.closeDay!.run(c.date, c.at, c.staff, c.expectedFen, c.countedFen, JSON.stringify(c.report)).changes === 1;
  }

  get entryCount(): number {
    return (this.st.count!.get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}
