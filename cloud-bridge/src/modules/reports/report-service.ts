import { daysAround as around, localDate, localTime } from '@stile/config';
import type { Logger } from '../../core/log.js';
import type { SalesSite } from '../sales/sales.js';
import type { CloudStore } from '../../core/db/store.js';
import { buildDailyReport, type DailyReport, type ReportInput } from './daily-report.js';


/**
 * Daily reports: the store's sales, refunds and admissions of one local day, built by the
 * pure daily-report module and kept in `reports`. Generated on demand and, per site, once
 * a day at `reportAt` (local time) for that day.
 */
export class Reports {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly store: CloudStore,
    private readonly sites: (id: string) => SalesSite | undefined,
    private readonly siteIds: () => string[],
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async input(site: SalesSite, date: string): Promise<ReportInput> {
    const { from, to } = around(date);
    const db = this.store.db;
    const types = new Map(site.catalogue.ticketTypes.map((t) => [t.id, t.name]));
    const reasons = new Map(site.catalogue.refundReasons.map((r) => [r.code, r.label]));
    const paid = await db
      .selectFrom('orders')
      .select(['order_id', 'channel', 'type_id', 'persons', 'amount_fen', 'paid_at', 'refunded_at', 'refund_reason'])
      .where('site', '=', site.id)
      .where((eb) => eb.or([eb.and([eb('paid_at', '>=', from), eb('paid_at', '<', to)]), eb.and([eb('refunded_at', '>=', from), eb('refunded_at', '<', to)])]))
      .execute();
    const entries = await db.selectFrom('entries').select(['at', 'gate', 'persons']).where('site', '=', site.id).where('kind', '=', 'admit').where('anomaly', 'is', null).where('at', '>=', from).where('at', '<', to).execute();
    return {
      site: site.id,
      date,
      timeZone: site.catalogue.timeZone,
      capacity: site.capacity.daily,
      currency: 'CNY',
      sales: paid.filter((o) => o.paid_at).map((o) => ({ orderId: o.order_id, channel: o.channel, typeId: o.type_id, typeName: types.get(o.type_id) ?? o.type_id, persons: Number(o.persons), amountFen: Number(o.amount_fen), paidAt: o.paid_at! })),
      refunds: paid
        .filter((o) => o.refunded_at)
        .map((o) => ({ orderId: o.order_id, channel: o.channel, amountFen: Number(o.amount_fen), reason: o.refund_reason ?? 'unknown', reasonLabel: reasons.get(o.refund_reason ?? '') ?? o.refund_reason ?? 'unknown', at: o.refunded_at! })),
      entries: entries.map((e) => ({ at: e.at, gate: e.gate, persons: Number(e.persons), kind: 'admit' as const })),
    };
  }

  /** Build the day's report now and keep it (replacing an earlier one of that day). */
  async generate(siteId: string, date: string): Promise<DailyReport | undefined> {
    const site = this.sites(siteId);
    if (!site) return undefined;
    const report = buildDailyReport(await this.input(site, date), this.now());
    const row = { site: siteId, date, generated_at: report.generatedAt, report: JSON.stringify(report) };
    await this.store.db
      .insertInto('reports')
      .values(row)
      .onConflict((oc) => oc.columns(['site', 'date']).doUpdateSet({ generated_at: row.generated_at, report: row.report }))
      .execute();
    this.log.info({ site: siteId, date, orders: report.totals.orders, entries: report.totalEntries }, 'daily report generated');
    return report;
  }

  /**
   * The kept report of that day, or a fresh one when there is none. A fresh one is kept only
   * for a day that has ended: today's numbers at 15:00 must not stand in for the day.
   */
  async get(siteId: string, date: string): Promise<DailyReport | undefined> {
    const row = await this.store.db.selectFrom('reports').select('report').where('site', '=', siteId).where('date', '=', date).executeTakeFirst();
    if (row) return JSON.parse(row.report) as DailyReport;
    const site = this.sites(siteId);
    if (!site) return undefined;
    if (date < localDate(this.now(), site.catalogue.timeZone)) return this.generate(siteId, date);
    return buildDailyReport(await this.input(site, date), this.now());
  }

  /** The kept reports of a site, newest first: date, when made, the day's headline numbers. */
  async list(siteId: string, limit = 60): Promise<{ date: string; generatedAt: string; orders: number; revenueFen: number; entries: number }[]> {
    const rows = await this.store.db.selectFrom('reports').select(['date', 'generated_at', 'report']).where('site', '=', siteId).orderBy('date', 'desc').limit(limit).execute();
    return rows.map((r) => {
      const rep = JSON.parse(r.report) as DailyReport;
      return { date: r.date, generatedAt: r.generated_at, orders: rep.totals.orders, revenueFen: rep.totals.revenueFen, entries: rep.totalEntries };
    });
  }

  /** Once a minute: today's report after reportAt, and yesterday's final one once it has ended. */
  start(everyMs = 60_000): void {
    const tick = async (): Promise<void> => {
      for (const id of this.siteIds()) {
        const site = this.sites(id);
        if (!site) continue;
        const now = this.now();
        const tz = site.catalogue.timeZone;
        const today = localDate(now, tz);
        // Yesterday's final report: made (again) once the day has ended, so sales after
        // reportAt count, and a day the bridge was down at reportAt still gets one.
        const yesterday = localDate(new Date(now.getTime() - 86_400_000), tz);
        const kept = await this.store.db.selectFrom('reports').select('generated_at').where('site', '=', id).where('date', '=', yesterday).executeTakeFirst();
        if (!kept || localDate(new Date(kept.generated_at), tz) <= yesterday) await this.generate(id, yesterday);
        // Today's at reportAt, for the evening round.
        if (localTime(now, tz) < (site.reportAt ?? '22:00')) continue;
        const exists = await this.store.db.selectFrom('reports').select('date').where('site', '=', id).where('date', '=', today).executeTakeFirst();
        if (!exists) await this.generate(id, today);
      }
    };
    this.timer = setInterval(() => void tick().catch((err: unknown) => this.log.warn({ err }, 'scheduled daily report failed; next try in a minute')), everyMs);
    this.timer.unref();
    void tick().catch((err: unknown) => this.log.warn({ err }, 'scheduled daily report failed; next try in a minute'));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
