import type { CloudStore, Db } from '../../core/db/store.js';
import type { BookingCodesTable, BookingSessionsTable } from '../../core/db/schema.js';
import type { ThrottleWindow } from './throttle.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Every statement of the booking module: login codes, sessions and throttling windows. Rows
 * read to be changed are locked first (a no-op UPDATE … RETURNING takes PostgreSQL's row lock;
 * SQLite has one writer), so two requests for one phone take turns.
 */
export class BookingRepository {
  constructor(private readonly store: CloudStore) {}

  transaction<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    return this.store.db.transaction().execute(work);
  }

  // ---- throttling windows ------------------------------------------------------------------

  /** The window of `key`, locked to the end of the transaction (undefined: never used). */
  async lockWindow(trx: Db, key: string): Promise<ThrottleWindow | undefined> {
    // A blank row first, so there is a row to lock even for the first request ever.
    await trx.insertInto('booking_throttle').values({ key, window_start: iso(0), count: 0, last_at: iso(0) }).onConflict((oc) => oc.column('key').doNothing()).execute();
    const row = await trx
      .updateTable('booking_throttle')
      .set((eb) => ({ count: eb.ref('count') }))
      .where('key', '=', key)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (Number(row.count) === 0) return undefined;
    return { windowStart: Date.parse(row.window_start), count: Number(row.count), lastAt: Date.parse(row.last_at) };
  }

  async saveWindow(trx: Db, key: string, w: ThrottleWindow): Promise<void> {
    await trx.updateTable('booking_throttle').set({ window_start: iso(w.windowStart), count: w.count, last_at: iso(w.lastAt) }).where('key', '=', key).execute();
  }

  // ---- login codes ---------------------------------------------------------------------------

  /** The phone's new code replaces any earlier one (wrong tries start again at 0). */
  async putCode(trx: Db, row: BookingCodesTable): Promise<void> {
    await trx
      .insertInto('booking_codes')
      .values(row)
      .onConflict((oc) => oc.columns(['site', 'phone_hash']).doUpdateSet({ code_hash: row.code_hash, created_at: row.created_at, expires_at: row.expires_at, wrong_tries: 0 }))
      .execute();
  }

  lockCode(trx: Db, site: string, phoneHash: string): Promise<BookingCodesTable | undefined> {
    return trx
      .updateTable('booking_codes')
      .set((eb) => ({ wrong_tries: eb.ref('wrong_tries') }))
      .where('site', '=', site)
      .where('phone_hash', '=', phoneHash)
      .returningAll()
      .executeTakeFirst();
  }

  async setWrongTries(trx: Db, site: string, phoneHash: string, n: number): Promise<void> {
    await trx.updateTable('booking_codes').set({ wrong_tries: n }).where('site', '=', site).where('phone_hash', '=', phoneHash).execute();
  }

  async deleteCode(trx: Db, site: string, phoneHash: string): Promise<void> {
    await trx.deleteFrom('booking_codes').where('site', '=', site).where('phone_hash', '=', phoneHash).execute();
  }

  // ---- sessions ------------------------------------------------------------------------------

  async insertSession(trx: Db, row: BookingSessionsTable): Promise<void> {
    await trx.insertInto('booking_sessions').values(row).execute();
  }

  session(tokenHash: string): Promise<BookingSessionsTable | undefined> {
    return this.store.db.selectFrom('booking_sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  }

  async deleteSession(tokenHash: string): Promise<boolean> {
    const r = await this.store.db.deleteFrom('booking_sessions').where('token_hash', '=', tokenHash).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Drop what can no longer be used: expired sessions and codes, windows older than `windowsBefore`. */
  async purge(now: number, windowsBefore: number): Promise<{ sessions: number; codes: number; windows: number }> {
    const db = this.store.db;
    const s = await db.deleteFrom('booking_sessions').where('expires_at', '<=', iso(now)).executeTakeFirst();
    const c = await db.deleteFrom('booking_codes').where('expires_at', '<=', iso(now)).executeTakeFirst();
    const w = await db.deleteFrom('booking_throttle').where('last_at', '<', iso(windowsBefore)).executeTakeFirst();
    return { sessions: Number(s.numDeletedRows), codes: Number(c.numDeletedRows), windows: Number(w.numDeletedRows) };
  }
}
