import { createHash, timingSafeEqual } from 'node:crypto';
import { localDate } from '@stile/config';
import type { Clock } from '../../core/clock.js';
import type { SplitLedgerTable } from '../../core/db/schema.js';
import type { Db } from '../../core/db/store.js';
import { CloudError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { OrderExtension, OrderFacts } from '../../core/ports.js';
import type { Combo, Partner } from '../../core/site-config/partners.js';
import type { SalesSite, SiteRegistry } from '../../core/sites.js';
import type { PartnersRepository } from './repository.js';
import { maskName, parsePeriod, splitPayment, type Period } from './split.js';
import { buildStatement, reconcile, type BillMismatch, type Reconciliation, type Statement, type StatementLine } from './statement.js';

export interface CombosDeps {
  repo: PartnersRepository;
  sites: Pick<SiteRegistry, 'ids' | 'config' | 'site'>;
  clock: Clock;
  log: Logger;
}

/** Who called the partner API: a partner of a site. */
export interface PartnerCaller {
  site: string;
  partner: Partner;
}

export interface Redemption {
  orderId: string;
  partner: string;
  part: string;
  partName: string;
  redeemedAt: string;
  /** True when this call redeemed it; false when it was redeemed before (a retry). */
  created: boolean;
  visitDate: string;
  persons: number;
  units: number;
  guest: string | null;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
/** The longest range of lines one call returns (a year and a day). */
const MAX_LINE_DAYS = 366;

/**
 * Combos: the split of each combo payment into partner and park lines (in the sale's
 * transaction), their reversal on refund, partners' redemptions, statements and the staff
 * reconciliation with the payments (docs/visitor-data/combos.md).
 */
export class Combos {
  constructor(private readonly d: CombosDeps) {}

  readonly extension: OrderExtension = {
    name: 'partners',
    paid: (trx, f) => this.paid(trx, f),
    refunding: (trx, f) => this.refunding(trx, f),
    refunded: (trx, f) => this.refunded(trx, f),
    // Rebooking moves the visit, not the money: the split stays as paid.
  };

  comboOf(site: Pick<SalesSite, 'catalogue'>, typeId: string): { combo: Combo; persons: number } | undefined {
    const t = site.catalogue.ticketTypes.find((x) => x.id === typeId);
    return t?.combo ? { combo: t.combo, persons: t.persons } : undefined;
  }

  private dateOf(site: SalesSite, iso: string): string {
    return localDate(new Date(iso), site.catalogue.timeZone);
  }

  /** pending → paid: one sale line per partner part and the park's, adding up to the amount paid. */
  private async paid(trx: Db, { site, order }: OrderFacts): Promise<void> {
    const found = this.comboOf(site, order.type_id);
    if (!found) return;
    // The sale transaction runs once per order; a line already there means it was split (never twice).
    if ((await this.d.repo.ledgerOfOrder(trx, site.id, order.order_id)).some((l) => l.kind === 'sale')) return;
    const units = Math.max(1, Math.round(Number(order.persons) / found.persons));
    const unitFen = (JSON.parse(order.pricing) as { unitFen: number }).unitFen;
    const paidFen = Number(order.amount_fen);
    const at = order.paid_at ?? this.d.clock().toISOString();
    const date = this.dateOf(site, at);
    const rows: SplitLedgerTable[] = splitPayment({ combo: found.combo, unitFen, units, paidFen }).map((l) => ({
      id: `${order.order_id}:sale:${l.partner}:${l.part}`,
      site: site.id,
      order_id: order.order_id,
      partner: l.partner,
      part: l.part,
      kind: 'sale',
      units,
      amount_fen: l.amountFen,
      at,
      date,
    }));
    await this.d.repo.insertLines(trx, rows);
    this.d.log.info({ site: site.id, orderId: order.order_id, units, paidFen, lines: rows.map((r) => `${r.partner}/${r.part}=${r.amount_fen}`) }, 'combo split');
  }

  /** A partner that delivered its part (the hotel checked the guest in) keeps the order from being refunded. */
  private async refunding(trx: Db, { site, order }: OrderFacts): Promise<void> {
    if (!this.comboOf(site, order.type_id)) return;
    const done = await this.d.repo.redemptionsOf(trx, site.id, order.order_id);
    if (done.length === 0) return;
    const list = done.map((r) => `${r.partner} redeemed "${r.part}" at ${r.redeemed_at}`).join('; ');
    throw new CloudError('combo_part_redeemed', `order ${order.order_id} is not refunded: ${list}; settle with the partner first`);
  }

  /** paid → refunded: a negative line for every sale line, so each partner's net is 0. */
  private async refunded(trx: Db, { site, order }: OrderFacts): Promise<void> {
    const lines = await this.d.repo.ledgerOfOrder(trx, site.id, order.order_id);
    if (lines.some((l) => l.kind === 'reversal')) return;
    const at = order.refunded_at ?? this.d.clock().toISOString();
    const date = this.dateOf(site, at);
    const rows = lines
      .filter((l) => l.kind === 'sale')
      .map(
        (l): SplitLedgerTable => ({
          id: `${order.order_id}:reversal:${l.partner}:${l.part}`,
          site: site.id,
          order_id: order.order_id,
          partner: l.partner,
          part: l.part,
          kind: 'reversal',
          units: -Number(l.units),
          amount_fen: -Number(l.amount_fen),
          at,
          date,
        }),
      );
    await this.d.repo.insertLines(trx, rows);
    if (rows.length > 0) this.d.log.info({ site: site.id, orderId: order.order_id, lines: rows.length }, 'combo split reversed');
  }

  /* ---------- partners ---------- */

  /** The partner whose API key this is (keys are configured as SHA-256 only). */
  partnerForKey(key: string | undefined): PartnerCaller | undefined {
    if (!key) return undefined;
    const got = sha256(key);
    for (const site of this.d.sites.ids) {
      for (const partner of this.d.sites.config(site)?.partners ?? []) {
        const want = Buffer.from(partner.apiKeySha256, 'hex');
        if (want.length === got.length && timingSafeEqual(want, got)) return { site, partner };
      }
    }
    return undefined;
  }

  partner(site: string, id: string): Partner | undefined {
    return this.d.sites.config(site)?.partners?.find((p) => p.id === id);
  }

  private salesSite(site: string): SalesSite {
    const s = this.d.sites.site(site);
    if (!s) throw new CloudError('unknown_site', `no site ${site} with sales`);
    return s;
  }

  private partName(site: SalesSite, typeId: string | undefined, part: string): string {
    return (typeId ? this.comboOf(site, typeId)?.combo.parts.find((p) => p.id === part)?.name : undefined) ?? part;
  }

  /** A partner redeems its part of a combo (the hotel checks the guest in). Idempotent: a retry answers the first redemption. */
  async redeem(caller: PartnerCaller, body: { orderId?: string | undefined; ticketCode?: string | undefined; part: string; by?: string | undefined }): Promise<Redemption> {
    const site = this.salesSite(caller.site);
    const { repo } = this.d;
    return repo.db.transaction().execute(async (trx) => {
      const orderId = body.orderId ?? (body.ticketCode ? await repo.orderOfTicket(trx, site.id, body.ticketCode.replace(/^ST1:/, '')) : undefined);
      const order = orderId ? await repo.lockOrder(trx, site.id, orderId) : undefined;
      if (!order) throw new CloudError('unknown_order', body.orderId ? `no order ${body.orderId} at this park` : `no order with ticket ${body.ticketCode} at this park`);
      const found = this.comboOf(site, order.type_id);
      const part = found?.combo.parts.find((p) => p.id === body.part);
      if (!found || !part) throw new CloudError('unknown_part', found ? `order ${order.order_id} has no part "${body.part}" (its parts: ${found.combo.parts.map((p) => p.id).join(', ')})` : `order ${order.order_id} is not a combo`);
      if (part.partner !== caller.partner.id) throw new CloudError('not_your_part', `part "${part.id}" of order ${order.order_id} is another partner's`);
      if (order.status !== 'paid') {
        const why = order.status === 'refunded' ? `was refunded at ${order.refunded_at}` : order.status === 'pending' ? 'is not paid yet' : 'was never paid (expired or cancelled)';
        throw new CloudError('part_not_redeemable', `order ${order.order_id} ${why}: its part "${part.id}" cannot be redeemed`);
      }
      const { row, created } = await repo.redeem(trx, { site: site.id, order_id: order.order_id, partner: caller.partner.id, part: part.id, redeemed_at: this.d.clock().toISOString(), redeemed_by: body.by ?? null });
      const lead = await trx.selectFrom('order_visitors').select('name').where('order_id', '=', order.order_id).where('idx', '=', 0).executeTakeFirst();
      if (created) this.d.log.info({ site: site.id, partner: caller.partner.id, orderId: order.order_id, part: part.id }, 'combo part redeemed');
      return {
        orderId: order.order_id,
        partner: caller.partner.id,
        part: part.id,
        partName: part.name,
        redeemedAt: row.redeemed_at,
        created,
        visitDate: order.visit_date,
        persons: Number(order.persons),
        units: Math.max(1, Math.round(Number(order.persons) / found.persons)),
        guest: lead ? maskName(lead.name) : null,
      };
    });
  }

  /** A partner's own lines between two park-local days (at most a year). */
  async lines(site: string, partner: string, from: string, to: string): Promise<StatementLine[]> {
    for (const d of [from, to]) if (!DAY_RE.test(d) || !parsePeriod(d)) throw new CloudError('invalid_date', `"${d}" is not a calendar date YYYY-MM-DD`);
    if (from > to) throw new CloudError('invalid_request', `from ${from} is after to ${to}`);
    const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
    if (days > MAX_LINE_DAYS) throw new CloudError('invalid_request', `at most ${MAX_LINE_DAYS} days per call (asked for ${days})`);
    const s = this.salesSite(site);
    const rows = await this.d.repo.partnerLines(site, partner, from, to);
    return rows.map((r) => ({
      orderId: r.order_id,
      date: r.date,
      at: r.at,
      kind: r.kind === 'sale' ? ('sale' as const) : ('reversal' as const),
      part: r.part,
      partName: this.partName(s, r.type_id ?? undefined, r.part),
      units: r.units,
      amountFen: r.amount_fen,
      visitDate: r.visit_date,
      persons: r.persons,
      guest: r.lead_name === null ? null : maskName(r.lead_name),
      redeemedAt: r.redeemed_at,
    }));
  }

  period(period: string): Period {
    const p = parsePeriod(period);
    if (!p) throw new CloudError('invalid_period', `"${period}" is neither a day YYYY-MM-DD nor a month YYYY-MM`);
    return p;
  }

  /** A partner's statement for a day or a month. */
  async statement(site: string, partnerId: string, period: string): Promise<Statement> {
    const p = this.period(period);
    const partner = this.partner(site, partnerId);
    if (!partner) throw new CloudError('unknown_partner', `no partner "${partnerId}" at site ${site}`);
    return buildStatement(site, { id: partner.id, name: partner.name }, p, await this.lines(site, partner.id, p.from, p.to));
  }

  /** Every combo order of the period: the amount paid (and the provider's bill) against its split lines, to the fen. */
  async reconciliation(siteId: string, period: string): Promise<Reconciliation> {
    const p = this.period(period);
    const site = this.salesSite(siteId);
    const { repo } = this.d;
    const comboTypes = site.catalogue.ticketTypes.filter((t) => t.combo).map((t) => t.id);
    // A day either side covers any park time zone; reconcile() keeps the park-local days of the period.
    const fromIso = new Date(Date.parse(`${p.from}T00:00:00Z`) - 86_400_000).toISOString();
    const toIso = new Date(Date.parse(`${p.to}T00:00:00Z`) + 2 * 86_400_000).toISOString();
    const ledger = await repo.ledgerBetween(siteId, p.from, p.to);
    const touched = await repo.ordersTouched(siteId, comboTypes, fromIso, toIso);
    const missing = [...new Set(ledger.map((l) => l.order_id))].filter((id) => !touched.some((o) => o.order_id === id));
    const orders = [...touched, ...(await repo.ordersByIds(siteId, missing))];
    const ids = orders.map((o) => o.order_id);
    const billDays = (await repo.billReconciliations(siteId, p.from, p.to)).map((r) => {
      const result = JSON.parse(r.result) as { providers?: { mismatches?: BillMismatch[] }[] };
      return { date: r.date, state: r.state, mismatches: (result.providers ?? []).flatMap((x) => x.mismatches ?? []) };
    });
    return reconcile({ site: siteId, period: p, timeZone: site.catalogue.timeZone, orders, ledger, bills: await repo.paymentBills(siteId, ids), refundBills: await repo.refundBills(siteId, ids), billDays });
  }
}
