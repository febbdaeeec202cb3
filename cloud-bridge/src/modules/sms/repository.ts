import { sql, type Selectable } from 'kysely';
import type { CloudStore } from '../../core/db/store.js';
import type { SmsMessagesTable } from '../../core/db/schema.js';
import type { CheckinOrder } from './templates.js';

/** sms_messages.state */
export type SmsState = 'queued' | 'sent' | 'delivered' | 'failed' | 'refused' | 'unknown';
export const SMS_STATES: readonly SmsState[] = ['queued', 'sent', 'delivered', 'failed', 'refused', 'unknown'];

/** A message about to be recorded (throttling decides queued or refused). */
export interface NewSms {
  id: string;
  site: string;
  orderId: string | null;
  provider: string;
  phoneHash: string;
  phoneMasked: string;
  kind: string;
  template: string;
  lang: string;
}

export interface PhoneLimits {
  perMinute: number;
  perHour: number;
  perDay: number;
}

export type Window = 'minute' | 'hour' | 'day';
const WINDOW_MS: Record<Window, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export type SmsRow = Selectable<SmsMessagesTable>;

/** Texts a receipt may still change: not yet delivered or failed. */
const OPEN: SmsState[] = ['queued', 'sent', 'unknown'];

/**
 * Every statement of the sms module: messages and their states, per-phone throttling, and
 * (read-only) the order a check-in text is about.
 */
export class SmsRepository {
  constructor(private readonly store: CloudStore) {}

  /**
   * Record a text, throttled per phone, in one transaction: the phone's texts of the last
   * minute, hour and day are counted (refused ones do not count; 0 turns a window off) and
   * the new row is queued, or refused naming the window it would exceed. On PostgreSQL a
   * per-phone advisory lock makes two instances take turns, so both cannot pass the same count.
   */
  async reserve(m: NewSms, limits: PhoneLimits, now: Date, refuseAs?: string): Promise<{ state: 'queued' } | { state: 'refused'; reason: string; limit?: Window; retryAfterSec?: number }> {
    return this.store.db.transaction().execute(async (trx) => {
      if (this.store.dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(5459283, hashtext(${m.phoneHash}))`.execute(trx);
      const t = now.getTime();
      const iso = (ms: number) => new Date(t - ms).toISOString();
      const row = await trx
        .selectFrom('sms_messages')
        .select([
          sql<number | string>`COALESCE(SUM(CASE WHEN created_at > ${iso(60_000)} THEN 1 ELSE 0 END), 0)`.as('minute'),
          sql<number | string>`COALESCE(SUM(CASE WHEN created_at > ${iso(3_600_000)} THEN 1 ELSE 0 END), 0)`.as('hour'),
          sql<number | string>`COUNT(*)`.as('day'),
        ])
        .where('phone_hash', '=', m.phoneHash)
        .where('created_at', '>', iso(86_400_000))
        .where('state', '<>', 'refused')
        .executeTakeFirst();
      const used = { minute: Number(row?.minute ?? 0), hour: Number(row?.hour ?? 0), day: Number(row?.day ?? 0) };
      const max: Record<Window, number> = { minute: limits.perMinute, hour: limits.perHour, day: limits.perDay };
      const over = (['minute', 'hour', 'day'] as const).find((w) => max[w] > 0 && used[w] >= max[w]);
      const reason = refuseAs ?? (over ? `throttled_${over}` : undefined);
      const at = now.toISOString();
      await trx
        .insertInto('sms_messages')
        .values({
          id: m.id,
          site: m.site,
          order_id: m.orderId,
          provider: m.provider,
          provider_message_id: null,
          phone_hash: m.phoneHash,
          phone_masked: m.phoneMasked,
          kind: m.kind,
          template: m.template,
          lang: m.lang,
          state: reason ? 'refused' : 'queued',
          error_code: reason ?? null,
          error_message: over && !refuseAs ? `${used[over]} text(s) to this phone in the last ${over}; the limit is ${max[over]}` : null,
          created_at: at,
          done_at: reason ? at : null,
          updated_at: at,
        })
        .execute();
      if (!reason) return { state: 'queued' as const };
      if (!over || refuseAs) return { state: 'refused' as const, reason };
      // When the phone may have a text again: every full window must let go of enough of its texts.
      let retryAfterSec = 1;
      for (const w of ['minute', 'hour', 'day'] as const) {
        if (max[w] === 0 || used[w] < max[w]) continue;
        const span = WINDOW_MS[w];
        const freeing = await trx
          .selectFrom('sms_messages')
          .select('created_at')
          .where('phone_hash', '=', m.phoneHash)
          .where('created_at', '>', iso(span))
          .where('state', '<>', 'refused')
          .orderBy('created_at')
          .offset(used[w] - max[w])
          .limit(1)
          .executeTakeFirst();
        if (freeing) retryAfterSec = Math.max(retryAfterSec, Math.ceil((Date.parse(freeing.created_at) + span - t) / 1000));
      }
      return { state: 'refused' as const, reason, limit: over, retryAfterSec };
    });
  }

  /** A refusal before anything could be counted (no template, not a mainland number…). */
  async recordRefused(m: NewSms, reason: string, message: string, now: Date): Promise<void> {
    const at = now.toISOString();
    await this.store.db
      .insertInto('sms_messages')
      .values({ id: m.id, site: m.site, order_id: m.orderId, provider: m.provider, provider_message_id: null, phone_hash: m.phoneHash, phone_masked: m.phoneMasked, kind: m.kind, template: m.template, lang: m.lang, state: 'refused', error_code: reason, error_message: message, created_at: at, done_at: at, updated_at: at })
      .execute();
  }

  async markSent(id: string, providerMessageId: string, attempts: number, now: Date): Promise<void> {
    const at = now.toISOString();
    // A receipt that overtook the answer already closed it: keep its state, add the id.
    await this.store.db
      .updateTable('sms_messages')
      .set({ provider_message_id: providerMessageId, attempts, sent_at: at, updated_at: at, state: sql<string>`CASE WHEN state IN ('delivered', 'failed') THEN state ELSE 'sent' END` })
      .where('id', '=', id)
      .execute();
  }

  /** failed (surely not sent), unknown (may have been sent) or refused (never tried). */
  async markEnded(id: string, state: 'failed' | 'unknown' | 'refused', code: string, message: string, attempts: number, now: Date): Promise<void> {
    const at = now.toISOString();
    await this.store.db
      .updateTable('sms_messages')
      .set({ state, error_code: code, error_message: message.slice(0, 300), attempts, done_at: state === 'unknown' ? null : at, updated_at: at })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .execute();
  }

  /** The message a receipt names: by the provider's id, or (Alibaba echoes OutId) by ours. */
  async forReceipt(provider: string, providerMessageId: string, ref: string | undefined): Promise<SmsRow | undefined> {
    const byId = await this.store.db.selectFrom('sms_messages').selectAll().where('provider', '=', provider).where('provider_message_id', '=', providerMessageId).executeTakeFirst();
    if (byId || ref === undefined) return byId;
    const byRef = await this.store.db.selectFrom('sms_messages').selectAll().where('provider', '=', provider).where('id', '=', ref).executeTakeFirst();
    // Our id with another provider id is not this message.
    return byRef && (byRef.provider_message_id === null || byRef.provider_message_id === providerMessageId) ? byRef : undefined;
  }

  /** delivered or failed, once: a receipt for a closed message changes nothing (false). */
  async applyReceipt(id: string, providerMessageId: string, delivered: boolean, code: string, description: string | undefined, at: Date, now: Date): Promise<boolean> {
    const r = await this.store.db
      .updateTable('sms_messages')
      .set({
        state: delivered ? 'delivered' : 'failed',
        provider_message_id: providerMessageId,
        error_code: delivered ? null : code.slice(0, 64),
        error_message: delivered ? null : (description ?? code).slice(0, 300),
        done_at: at.toISOString(),
        updated_at: now.toISOString(),
      })
      .where('id', '=', id)
      .where('state', 'in', OPEN)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** A site's texts, newest first. */
  async recent(site: string, limit: number, state?: SmsState): Promise<SmsRow[]> {
    let q = this.store.db.selectFrom('sms_messages').selectAll().where('site', '=', site);
    if (state) q = q.where('state', '=', state);
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  /** A site's texts since `since` by state. */
  async countsSince(site: string, since: Date): Promise<Record<SmsState, number>> {
    const rows = await this.store.db.selectFrom('sms_messages').select(['state', sql<number | string>`COUNT(*)`.as('n')]).where('site', '=', site).where('created_at', '>=', since.toISOString()).groupBy('state').execute();
    const out = Object.fromEntries(SMS_STATES.map((s) => [s, 0])) as Record<SmsState, number>;
    for (const r of rows) if ((SMS_STATES as readonly string[]).includes(r.state)) out[r.state as SmsState] = Number(r.n);
    return out;
  }

  async get(id: string): Promise<SmsRow | undefined> {
    return this.store.db.selectFrom('sms_messages').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The order a check-in text is about, with its tickets (sales wrote them in the commit before the text). */
  async checkinOrder(orderId: string): Promise<CheckinOrder | undefined> {
    const o = await this.store.db.selectFrom('orders').select(['order_id', 'site', 'status', 'visit_date', 'slot_id']).where('order_id', '=', orderId).executeTakeFirst();
    if (!o) return undefined;
    const visitors = await this.store.db.selectFrom('order_visitors').select(['ticket_id']).where('order_id', '=', orderId).orderBy('idx').execute();
    const ticketIds = [...new Set(visitors.map((v) => v.ticket_id).filter((t): t is string => t !== null))];
    return { orderId: o.order_id, site: o.site, status: o.status, visitDate: o.visit_date, slotId: o.slot_id, ticketIds };
  }
}
