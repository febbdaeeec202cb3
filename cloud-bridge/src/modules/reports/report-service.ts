import { daysAround as around, localDate, localTime } from '@stile/config';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { InsightView, ReconciliationView } from '../../core/ports.js';
import type { SalesSite, SiteRegistry } from '../../core/sites.js';
import { buildDailyReport, type DailyReport, type ReportInput } from './daily-report.js';
import type { ReportsRepository } from './repository.js';

/** What Reports takes from its module context (a ModuleContext fits). */
export interface ReportsContext {
  sites: Pick<SiteRegistry, 'site' | 'salesIds'>;
  clock: Clock;
  log: Logger;
}

/**
 * Daily reports: the store's sales, refunds and admissions of one local day, built by the
 * pure daily-report module and kept in `reports`. Generated on demand and, per site, once
 * a day at `reportAt` (local time) for that day.
 */
export class Reports {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly repo: ReportsRepository,
    private readonly ctx: ReportsContext,
    /** The payments' reconciliation of a day (absent: the section shows only the cash and partner channels). */
    private readonly reconciliation?: ReconciliationView,
    /** The insight module's part of a day (absent: no insight section). */
    private readonly insight?: InsightView,
  ) {}

  async input(site: SalesSite, date: string): Promise<ReportInput> {
    const window = around(date);
    const types = new Map(site.catalogue.ticketTypes.map((t) => [t.id, t.name]));
    const reasons = new Map(site.catalogue.refundReasons.map((r) => [r.code, r.label]));
    const channelNames = Object.fromEntries(site.catalogue.channels.flatMap((c) => (c.name ? [[c.id, c.name] as const] : [])));
    const paid = await this.repo.paidOrRefunded(site.id, window);
    const entries = await this.repo.admissions(site.id, window);
    const recon = await this.reconciliation?.reconciliation(site.id, date);
    const insight = await this.insight?.day(site.id, date);
    const name = site.catalogue.name;
    return {
      site: site.id,
      // Kept in both languages: the page, CSV or JSON picks the reader's (localizeReport).
      ...(name ? { siteName: name['zh-CN'], siteNames: name } : {}),
      channelNames,
      date,
      timeZone: site.catalogue.timeZone,
      capacity: site.capacity.daily,
      currency: 'CNY',
      sales: paid
        .filter((o) => o.paid_at)
        .map((o) => {
          const names = types.get(o.type_id);
          return { orderId: o.order_id, channel: o.channel, typeId: o.type_id, typeName: names?.['zh-CN'] ?? o.type_id, ...(names ? { typeNames: names } : {}), persons: Number(o.persons), amountFen: Number(o.amount_fen), paidAt: o.paid_at! };
        }),
      refunds: paid
        .filter((o) => o.refunded_at)
        .map((o) => {
          const labels = reasons.get(o.refund_reason ?? '');
          return { orderId: o.order_id, channel: o.channel, amountFen: Number(o.amount_fen), reason: o.refund_reason ?? 'unknown', reasonLabel: labels?.['zh-CN'] ?? o.refund_reason ?? 'unknown', ...(labels ? { reasonLabels: labels } : {}), at: o.refunded_at! };
        }),
      entries: entries.map((e) => ({ at: e.at, gate: e.gate, persons: Number(e.persons), kind: 'admit' as const })),
      reconciliation: { channels: site.catalogue.channels.map((c) => ({ id: c.id, kind: c.kind, payment: c.payment, ...(c.name ? { name: c.name } : {}) })), ...(recon ? { result: recon } : {}) },
      ...(insight ? { insight } : {}),
    };
  }

  /** Build the day's report now and keep it (replacing an earlier one of that day). */
  async generate(siteId: string, date: string): Promise<DailyReport | undefined> {
    const site = this.ctx.sites.site(siteId);
    if (!site) return undefined;
    const report = buildDailyReport(await this.input(site, date), this.ctx.clock());
    await this.repo.keep(siteId, { date, generatedAt: report.generatedAt, report: JSON.stringify(report) });
    this.ctx.log.info({ site: siteId, date, orders: report.totals.orders, entries: report.totalEntries }, 'daily report generated');
    return report;
  }

  /**
   * The kept report of that day, or a fresh one when there is none. A fresh one is kept only
   * for a day that has ended: today's numbers at 15:00 must not stand in for the day.
   */
  async get(siteId: string, date: string): Promise<DailyReport | undefined> {
    const kept = await this.repo.report(siteId, date);
    if (kept !== undefined) {
      const report = JSON.parse(kept) as DailyReport;
      // Kept at midnight, before the providers' bills came: made again once the reconciliation has (re)run.
      const recon = await this.reconciliation?.reconciliation(siteId, date);
      if (!recon || recon.ranAt === report.reconciliation?.ranAt) return report;
      return (await this.generate(siteId, date)) ?? report;
    }
    const site = this.ctx.sites.site(siteId);
    if (!site) return undefined;
    if (date < localDate(this.ctx.clock(), site.catalogue.timeZone)) return this.generate(siteId, date);
    return buildDailyReport(await this.input(site, date), this.ctx.clock());
  }

  /** The kept reports of a site, newest first: date, when made, the day's headline numbers. */
  async list(siteId: string, limit = 60): Promise<{ date: string; generatedAt: string; orders: number; revenueFen: number; entries: number }[]> {
    const rows = await this.repo.list(siteId, limit);
    return rows.map((r) => {
      const rep = JSON.parse(r.report) as DailyReport;
      return { date: r.date, generatedAt: r.generatedAt, orders: rep.totals.orders, revenueFen: rep.totals.revenueFen, entries: rep.totalEntries };
    });
  }

  /** Once a minute: today's report after reportAt, and yesterday's final one once it has ended. */
  start(everyMs = 60_000): void {
    const tick = async (): Promise<void> => {
      for (const id of this.ctx.sites.salesIds) {
        const site = this.ctx.sites.site(id);
        if (!site) continue;
        const now = this.ctx.clock();
        const tz = site.catalogue.timeZone;
        const today = localDate(now, tz);
        // Yesterday's final report: made (again) once the day has ended, so sales after
        // reportAt count, and a day the bridge was down at reportAt still gets one.
        const yesterday = localDate(new Date(now.getTime() - 86_400_000), tz);
        const kept = await this.repo.generatedAt(id, yesterday);
        if (kept === undefined || localDate(new Date(kept), tz) <= yesterday) await this.generate(id, yesterday);
        // Today's at reportAt, for the evening round.
        if (localTime(now, tz) < (site.reportAt ?? '22:00')) continue;
        if ((await this.repo.generatedAt(id, today)) === undefined) await this.generate(id, today);
      }
    };
    this.timer = setInterval(() => void tick().catch((err: unknown) => this.ctx.log.warn({ err }, 'scheduled daily report failed; next try in a minute')), everyMs);
    this.timer.unref();
    void tick().catch((err: unknown) => this.ctx.log.warn({ err }, 'scheduled daily report failed; next try in a minute'));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
