import { newTicketId, normalizeIdNumber, type WhitelistChange, type WhitelistDelta } from '@stile/config';
import { rebookDeadline, type Channel } from '../../core/catalogue.js';
import type { Clock } from '../../core/clock.js';
import type { OrdersTable } from '../../core/db/schema.js';
import type { Db } from '../../core/db/store.js';
import { CloudError } from '../../core/errors.js';
import type { SiteEvents } from '../../core/events.js';
import { refusalReply, type Reply } from '../../core/http/refusals.js';
import type { CreateOrderBody, PayBody, RebookBody, RefundBody } from './schemas.js';
import type { Logger } from '../../core/log.js';
import type { SmsSender } from '../../core/notify/sms.js';
import type { ConfirmPaidResult, OrderColumns, OrderCreating, OrderExtension, OrderPaymentClosing, OwedRefund, PayableOrder, ProviderPayment, RefundState, TicketLedger, VisitorColumns } from '../../core/ports.js';
import type { SalesSite, SiteRegistry } from '../../core/sites.js';
import { noEffects, type IdempotentWrites, type WriteEffects } from './idempotent-writes.js';
import { NO_SLOT, type Places } from './places.js';
import { priceFor } from './pricing.js';
import type { SalesRepository } from './repository.js';
import { realNameVisitors, type SaleRules } from './rules.js';
import { issueTickets, maxEntries, receiptText, smsText } from './tickets.js';

/** How long an unpaid order holds its places. */
export const HOLD_MS = 15 * 60_000;

const unknownOrder = (orderId: string): CloudError => new CloudError('unknown_order', `no order ${orderId} on this channel`);
const providerPaid = (orderId: string): CloudError =>
  new CloudError('payment_by_provider', `order ${orderId} is paid through WeChat Pay / Alipay: create a payment with POST /v1/channel/orders/${orderId}/payments; it is paid when the provider confirms`);

export interface OrdersDeps {
  repo: SalesRepository;
  sites: Pick<SiteRegistry, 'site'>;
  places: Places;
  rules: SaleRules;
  writes: IdempotentWrites;
  ledger: TicketLedger;
  sms: SmsSender;
  /** Closes a provider-mode order's open payments at the provider before it is cancelled. */
  payments?: OrderPaymentClosing;
  /** Feature modules that take part in an order's changes, in its transaction (core/ports.ts OrderExtension). */
  extensions?: readonly OrderExtension[];
  clock: Clock;
  events: SiteEvents;
  log: Logger;
  /** This instance committed a change to the sold counts of a site and date (availability.ts). */
  soldChanged: (site: string, date: string) => void;
}

/**
 * An order's life: created (places held), paid (tickets issued: a whitelist delta in the
 * same transaction), refunded or rebooked, or expired when it was not paid within the hold.
 */
export class Orders {
  constructor(private readonly d: OrdersDeps) {}

  private get extensions(): readonly OrderExtension[] {
    return this.d.extensions ?? [];
  }

  /** Every extension's additions to a new order, merged (discounts add up). */
  private async extendCreating(trx: Db, o: OrderCreating): Promise<{ discountFen: number; order: OrderColumns; visitors: Map<number, VisitorColumns> }> {
    const merged = { discountFen: 0, order: {} as OrderColumns, visitors: new Map<number, VisitorColumns>() };
    for (const e of this.extensions) {
      const a = await e.creating?.(trx, o);
      if (!a) continue;
      merged.discountFen += a.discountFen ?? 0;
      Object.assign(merged.order, a.order);
      for (const [idx, cols] of a.visitors ?? []) merged.visitors.set(idx, { ...merged.visitors.get(idx), ...cols });
    }
    return merged;
  }

  /** An unpaid order ended (hold over or cancelled): extensions give back what it held (a coupon). */
  private async released(trx: Db, row: OrdersTable): Promise<void> {
    const site = this.d.sites.site(row.site);
    if (site) for (const e of this.extensions) await e.released?.(trx, { site, order: row });
  }

  /** A new real-name order, inside the caller's transaction (under its idempotency key). */
  readonly create = async (trx: Db, site: SalesSite, channel: Channel, body: CreateOrderBody, fx: WriteEffects): Promise<Reply> => {
    const { repo, places, rules } = this.d;
    await this.checkNotPaused(trx, site, channel);
    const today = rules.today(site);
    rules.checkSaleDay(site, channel, body.typeId, body.date, body.slotId, today);
    const visitors = realNameVisitors(site, body.visitors, today);
    const quote = priceFor(site.catalogue, { typeId: body.typeId, channelId: channel.id, visitDate: body.date, ...(body.slotId !== undefined ? { slotId: body.slotId } : {}), ...(body.entry ? { entry: body.entry } : {}) });
    if (!quote.ok) throw new CloudError(quote.reason, quote.message);
    if (visitors.length % quote.persons !== 0) throw new CloudError('package_size', `"${body.typeId}" is sold for ${quote.persons} visitors per ticket; ${visitors.length} visitors do not fill whole tickets`);
    const slotId = body.slotId ?? NO_SLOT;
    await places.reserve(trx, site, channel, body.date, slotId, visitors.length);
    await places.checkVisitorsFree(
      trx,
      site,
      body.date,
      visitors.map((v) => v.idHash),
    );
    fx.dates.add(body.date);
    const orderId = `O${newTicketId()}`;
    const priceFen = quote.unitFen * (visitors.length / quote.persons);
    const added = await this.extendCreating(trx, {
      site,
      channel,
      orderId,
      typeId: body.typeId,
      date: body.date,
      persons: visitors.length,
      amountFen: priceFen,
      priceDiscounts: quote.discounts,
      contactPhone: body.contactPhone,
      ...(body.couponCode !== undefined ? { couponCode: body.couponCode } : {}),
      ...(body.marketingConsent !== undefined ? { marketingConsent: body.marketingConsent } : {}),
      today,
      visitors: visitors.map((v, idx) => ({ idx, idHash: v.idHash, idNumber: normalizeIdNumber(body.visitors[idx]!.idNumber) })),
    });
    const amountFen = Math.max(0, priceFen - added.discountFen);
    const pricing = { unitFen: quote.unitFen, baseFen: quote.baseFen, discounts: quote.discounts, ...(quote.entryWindow ? { entryWindow: quote.entryWindow } : {}) };
    await repo.insertOrder(
      trx,
      {
        order_id: orderId,
        site: site.id,
        channel: channel.id,
        status: 'pending',
        type_id: body.typeId,
        gate_type_id: quote.gateTypeId,
        visit_date: body.date,
        slot_id: slotId,
        persons: visitors.length,
        amount_fen: amountFen,
        pricing: JSON.stringify(pricing),
        contact_phone: body.contactPhone,
        created_at: this.d.clock().toISOString(),
        paid_at: null,
        payment_ref: null,
        refunded_at: null,
        refund_reason: null,
        payment_mode: channel.payment,
        refund_state: null,
        refund_no: null,
        lang: body.lang ?? null,
        ...added.order,
        discount_fen: priceFen - amountFen,
      },
      visitors.map((v, idx) => ({ ...v, ...added.visitors.get(idx) })),
    );
    this.d.log.info({ site: site.id, channel: channel.id, orderId, persons: visitors.length, amountFen, date: body.date, slotId }, 'order created');
    return { status: 201, body: { orderId, status: 'pending', typeId: body.typeId, date: body.date, slotId: body.slotId ?? null, persons: visitors.length, amountFen, ...(amountFen !== priceFen ? { discountFen: priceFen - amountFen, couponCode: added.order.coupon_code ?? null } : {}), pricing, visitors: visitors.map((v) => ({ name: v.name, idMasked: v.idMasked })) } };
  };

  async pay(site: SalesSite, channel: Channel, key: string, orderId: string, body: PayBody): Promise<Reply> {
    return this.d.writes.run(site, channel, key, { op: 'pay', orderId, body }, async (trx, fx) => {
      // Money through WeChat Pay / Alipay is confirmed by the provider only, never by a claim.
      if (channel.payment === 'provider') throw providerPaid(orderId);
      const order = await this.lockOrder(trx, site, channel, orderId);
      if (order.payment_mode === 'provider') throw providerPaid(orderId);
      if (order.status === 'paid' && order.payment_ref === body.paymentRef) return { status: 200, body: await this.view(order, trx) };
      if (order.status === 'expired') throw new CloudError('order_expired', order.cancelled_at ? `order ${orderId} was cancelled at ${order.cancelled_at}; its places were released` : `order ${orderId} was not paid within ${HOLD_MS / 60_000} minutes; its places were released`);
      if (order.status !== 'pending') throw new CloudError(order.status === 'paid' ? 'already_paid' : 'not_payable', `order ${orderId} is ${order.status}`);
      if (body.amountFen !== Number(order.amount_fen)) throw new CloudError('amount_mismatch', `the order costs ${order.amount_fen} fen, the payment says ${body.amountFen}`);
      const paid = await this.markPaidAndIssue(trx, site, order, body.paymentRef, fx);
      if (!paid) throw new CloudError('not_payable', `order ${orderId} changed meanwhile`);
      return { status: 200, body: { ...(await this.view(paid.order, trx)), whitelistSeq: paid.seq } };
    });
  }

  /** pending → paid: tickets issued, their whitelist delta staged, the delta and the SMS sent after the commit. Undefined when the order is no longer pending. */
  private async markPaidAndIssue(trx: Db, site: SalesSite, order: OrdersTable, paymentRef: string, fx: WriteEffects): Promise<{ order: OrdersTable; seq: string } | undefined> {
    const updated = await this.d.repo.markPaid(trx, order.order_id, this.d.clock().toISOString(), paymentRef);
    if (!updated) return undefined;
    const { tickets, snapshot } = await issueTickets(this.d.repo, trx, site, updated);
    for (const e of this.extensions) await e.paid?.(trx, { site, order: updated });
    const delta = await this.d.ledger.stageChanges(
      trx,
      site.id,
      snapshot.map((ticket): WhitelistChange => ({ op: 'upsert', ticket })),
      maxEntries(site, updated, tickets),
    );
    this.announceAfter(fx, delta, order, smsText(site, order, tickets));
    this.d.log.info({ site: site.id, orderId: order.order_id, tickets: tickets.length, seq: delta.seq }, 'order paid, tickets issued');
    return { order: updated, seq: delta.seq };
  }

  async refund(site: SalesSite, channel: Channel, key: string, orderId: string, body: RefundBody): Promise<Reply> {
    return this.d.writes.run(site, channel, key, { op: 'refund', orderId, body }, async (trx, fx) => {
      const reason = site.catalogue.refundReasons.find((r) => r.code === body.reason);
      if (!reason) throw new CloudError('unknown_refund_reason', `refund reason "${body.reason}" is not one of: ${site.catalogue.refundReasons.map((r) => r.code).join(', ')}`);
      const order = await this.lockOrder(trx, site, channel, orderId);
      if (order.status === 'refunded') throw new CloudError('already_refunded', `order ${orderId} was refunded at ${order.refunded_at}`);
      if (order.status !== 'paid') throw new CloudError('not_paid', `order ${orderId} is ${order.status}; only paid orders are refunded`);
      for (const e of this.extensions) await e.refunding?.(trx, { site, order });
      const ticketIds = await this.unusedTickets(trx, site, orderId);
      const done = await this.d.repo.markRefunded(trx, orderId, this.d.clock().toISOString(), reason.code);
      if (!done) throw new CloudError('already_refunded', `order ${orderId} changed meanwhile`);
      for (const e of this.extensions) await e.refunded?.(trx, { site, order: done });
      await this.d.places.release(trx, site.id, order.visit_date, order.slot_id, Number(order.persons));
      fx.dates.add(order.visit_date);
      const delta = await this.d.ledger.stageChanges(
        trx,
        site.id,
        ticketIds.map((ticketId): WhitelistChange => ({ op: 'refund', ticketId })),
      );
      fx.after.push(() => this.d.ledger.announce(delta));
      // Provider mode: the money goes back through the provider. The refund is recorded here, in
      // the same transaction (refund_state requested); the payments module sends it after the
      // commit and reports its state. A lost event is found again (OrderPayments.refundsOwed).
      let provider: { refundState: 'requested' } | undefined;
      if (order.payment_mode === 'provider') {
        const outRefundNo = `${orderId}R`;
        await this.d.repo.setRefundRequested(trx, orderId, outRefundNo);
        const event = { site: site.id, orderId, amountFen: Number(order.amount_fen), reason: reason.code, outRefundNo };
        fx.after.push(() => Promise.resolve(this.d.events.emit('refund', event)));
        provider = { refundState: 'requested' };
      }
      this.d.log.info({ site: site.id, orderId, reason: reason.code, seq: delta.seq, mode: order.payment_mode, ...(body.staff ? { staff: body.staff } : {}) }, 'order refunded');
      return { status: 200, body: { orderId, status: 'refunded', refundFen: Number(order.amount_fen), reason: reason.code, whitelistSeq: delta.seq, ...provider } };
    });
  }

  async rebook(site: SalesSite, channel: Channel, key: string, orderId: string, body: RebookBody): Promise<Reply> {
    return this.d.writes.run(site, channel, key, { op: 'rebook', orderId, body }, async (trx, fx) => {
      const { repo, places } = this.d;
      const order = await this.lockOrder(trx, site, channel, orderId);
      if (order.status !== 'paid') throw new CloudError(order.status === 'refunded' ? 'already_refunded' : 'not_paid', `order ${orderId} is ${order.status}; only paid orders are rebooked`);
      await this.checkNotPaused(trx, site, channel);
      this.d.rules.checkSaleDay(site, channel, order.type_id, body.date, body.slotId);
      const newSlot = body.slotId ?? NO_SLOT;
      if (body.date === order.visit_date && newSlot === order.slot_id) throw new CloudError('same_date_and_slot', 'the order is already for that date and slot');
      // A free-rebooking type (#19) rebooks only until N hours before the booked slot or day.
      const type = site.catalogue.ticketTypes.find((t) => t.id === order.type_id);
      const deadline = type && rebookDeadline(site.catalogue, type, order.visit_date, order.slot_id);
      if (deadline && this.d.clock() >= deadline) throw new CloudError('rebook_too_late', `${type!.id} rebooks free until ${type!.rebooking!.freeUntilHoursBefore} h before the visit (${deadline.toISOString()})`, { deadline: deadline.toISOString() });
      const ticketIds = await this.unusedTickets(trx, site, orderId);
      // The price stays what was paid; the type must still be sold on the new day and slot.
      // An early/night ticket keeps its window: the new slot must meet it.
      const entry = order.gate_type_id.endsWith('@early') ? 'early' : order.gate_type_id.endsWith('@night') ? 'night' : undefined;
      const quote = priceFor(site.catalogue, { typeId: order.type_id, channelId: channel.id, visitDate: body.date, ...(body.slotId !== undefined ? { slotId: body.slotId } : {}), ...(entry ? { entry } : {}) });
      if (!quote.ok) throw new CloudError(quote.reason, quote.message);
      // A discount earned by the old slot (early, night) does not carry over to a dearer one.
      const paidUnit = (JSON.parse(order.pricing) as { unitFen: number }).unitFen;
      if (quote.unitFen > paidUnit) throw new CloudError('price_higher', `the new date/slot costs ${quote.unitFen} fen per ticket, ${paidUnit} was paid: refund and buy again`);
      // Same day: only the slot counts move (the day's total does not change, so a full day
      // must not refuse it, and the day row is not locked at all).
      const sameDay = body.date === order.visit_date;
      await places.reserve(trx, site, channel, body.date, newSlot, Number(order.persons), { day: !sameDay });
      // Another day: the visitors must not already hold the park's limit there (same day: nothing changes for them).
      if (!sameDay) {
        const ids = await repo.visitorHashes(trx, orderId);
        await places.checkVisitorsFree(
          trx,
          site,
          body.date,
          ids.map((r) => r.id_hash),
          orderId,
        );
      }
      fx.dates.add(body.date).add(order.visit_date);
      if (sameDay) {
        if (order.slot_id !== NO_SLOT) await places.release(trx, site.id, order.visit_date, order.slot_id, Number(order.persons), false);
      } else {
        await places.release(trx, site.id, order.visit_date, order.slot_id, Number(order.persons));
      }
      const moved = await repo.moveOrder(trx, orderId, body.date, newSlot);
      for (const e of this.extensions) await e.rebooked?.(trx, { site, order: moved, from: order.visit_date });
      const { tickets, snapshot } = await issueTickets(repo, trx, site, moved);
      // New ticket ids: the old codes stop working at every gate as soon as the delta lands.
      const changes = ticketIds.map((ticketId, i): WhitelistChange => ({ op: 'rebook', ticketId, newTicket: snapshot[i]! }));
      const extra = snapshot.slice(ticketIds.length).map((ticket): WhitelistChange => ({ op: 'upsert', ticket }));
      const delta = await this.d.ledger.stageChanges(trx, site.id, [...changes, ...extra], maxEntries(site, moved, tickets));
      this.announceAfter(fx, delta, order, smsText(site, moved, tickets));
      this.d.log.info({ site: site.id, orderId, from: order.visit_date, to: body.date, seq: delta.seq }, 'order rebooked');
      return { status: 200, body: { ...(await this.view(moved, trx)), whitelistSeq: delta.seq } };
    });
  }

  /**
   * A pending order cancelled by its channel (the visitor gave up, a kiosk sale ended): it
   * becomes `expired` with cancelled_at, and its places are for sale again at once — the same
   * release as at the end of the hold. A provider-mode order's open payments are closed at the
   * provider first (outside any transaction: network calls), as the sweep does at the deadline;
   * paid meanwhile, the payment wins: 409 already_paid with the order. A provider that does not
   * answer: 503 payment_unavailable, not stored under the key (a retry closes again), the
   * places still held (the sweep closes at the deadline). Cancelling a cancelled or expired
   * order answers it as it is.
   */
  async cancel(site: SalesSite, channel: Channel, key: string, orderId: string): Promise<Reply> {
    const { repo, log } = this.d;
    const before = await repo.order(site.id, channel.id, orderId);
    if (before?.status === 'pending' && before.payment_mode === 'provider') {
      const closing = this.d.payments ? await this.d.payments.closeAll(site.id, orderId) : 'unavailable';
      if (closing === 'unavailable' && (await repo.order(site.id, channel.id, orderId))?.status === 'pending') {
        log.warn({ site: site.id, channel: channel.id, orderId }, 'order not cancelled: a payment of it could not be closed at the provider; it keeps its places');
        return refusalReply(new CloudError('payment_unavailable', `a payment of order ${orderId} could not be closed at the provider: the order keeps its places; try again (it is closed at its deadline otherwise)`));
      }
    }
    return this.d.writes.run(site, channel, key, { op: 'cancel', orderId }, async (trx, fx) => {
      const order = await this.lockOrder(trx, site, channel, orderId);
      // Paid (also by a payment the close found): the money bought the tickets; a refund gives it back.
      if (order.status === 'paid') return { status: 409, body: { error: 'already_paid', message: `order ${orderId} is paid: refund it instead`, order: await this.view(order, trx) } };
      if (order.status === 'refunded') throw new CloudError('already_refunded', `order ${orderId} was refunded at ${order.refunded_at}`);
      if (order.status === 'expired') return { status: 200, body: await this.view(order, trx) };
      const row = order.status === 'pending' ? await repo.markCancelled(trx, orderId, this.d.clock().toISOString()) : undefined;
      if (!row) throw new CloudError('not_payable', `order ${orderId} is ${order.status}`);
      await this.d.places.release(trx, site.id, row.visit_date, row.slot_id, Number(row.persons));
      await this.released(trx, row);
      fx.dates.add(row.visit_date);
      log.info({ site: site.id, channel: channel.id, orderId, persons: Number(row.persons), mode: row.payment_mode }, 'order cancelled; its places are for sale again');
      return { status: 200, body: await this.view(row, trx) };
    });
  }

  /**
   * Unpaid orders give their places back after `holdMs` (status `expired`): an abandoned
   * checkout must not keep the last tickets from other visitors. Returns how many expired.
   */
  async expireHolds(holdMs = HOLD_MS): Promise<number> {
    const { repo, places } = this.d;
    const cutoff = new Date(this.d.clock().getTime() - holdMs).toISOString();
    const stale = await repo.staleHolds(cutoff);
    let expired = 0;
    for (const o of stale) {
      let date: string | undefined;
      await repo.transaction(async (trx) => {
        const row = await repo.markExpired(trx, o.order_id);
        if (!row) return; // paid meanwhile
        await places.release(trx, row.site, row.visit_date, row.slot_id, Number(row.persons));
        await this.released(trx, row);
        expired++;
        date = row.visit_date;
      });
      if (date !== undefined) this.d.soldChanged(o.site, date);
      this.d.events.emit('changed', { site: o.site });
    }
    if (expired > 0) this.d.log.info({ expired }, 'unpaid orders expired; their places are for sale again');
    return expired;
  }

  // ---- provider-mode payment (the OrderPayments port, core/ports.ts) -------------------

  /** The payable view of an order of the site (any channel). */
  async payable(siteId: string, orderId: string): Promise<PayableOrder | undefined> {
    const site = this.d.sites.site(siteId);
    const o = site ? await this.d.repo.orderOfSite(siteId, orderId) : undefined;
    if (!site || !o) return undefined;
    return {
      site: siteId,
      orderId,
      channel: o.channel,
      mode: o.payment_mode === 'provider' ? 'provider' : 'partner',
      status: o.status as PayableOrder['status'],
      amountFen: Number(o.amount_fen),
      description: receiptText(site, o),
      deadline: new Date(Date.parse(o.created_at) + HOLD_MS),
      paymentRef: o.payment_ref,
      refundState: (o.refund_state as RefundState | null) ?? null,
    };
  }

  /**
   * The provider verifiably took `payment` for the order (a verified notification or an active
   * query, never a claim): pending → paid with tickets, in one transaction, idempotent by the
   * transaction id. A pending order past its hold is still paid (the money was taken before the
   * sweep closed it at the provider, and its places are still held); an expired one is not.
   */
  async confirmPaid(siteId: string, orderId: string, payment: ProviderPayment, record?: (db: Db, result: ConfirmPaidResult) => Promise<void>): Promise<ConfirmPaidResult> {
    const site = this.d.sites.site(siteId);
    const fx = noEffects();
    const decide = async (trx: Db): Promise<ConfirmPaidResult> => {
      const order = site ? await this.d.repo.lockOrderOfSite(trx, siteId, orderId) : undefined;
      if (!site || !order || order.payment_mode !== 'provider') return 'not_payable';
      if (order.status === 'paid') return order.payment_ref === payment.transactionId ? 'already_paid' : 'not_payable';
      if (order.status === 'expired') return 'expired';
      if (order.status !== 'pending') return 'not_payable';
      if (payment.amountFen !== Number(order.amount_fen)) return 'amount_mismatch';
      return (await this.markPaidAndIssue(trx, site, order, payment.transactionId, fx)) ? 'paid' : 'not_payable';
    };
    const result = await this.d.repo.transaction(async (trx): Promise<ConfirmPaidResult> => {
      fx.after.length = 0;
      const r = await decide(trx);
      await record?.(trx, r);
      return r;
    });
    if (result === 'paid') await this.d.writes.committed(siteId, { status: 200, body: {} }, fx);
    this.d.log.info({ site: siteId, orderId, provider: payment.provider, transactionId: payment.transactionId, amountFen: payment.amountFen, result }, 'provider payment confirmed');
    return result;
  }

  /** Pending provider-mode orders whose hold ended before `now`. */
  async overdue(now: Date, limit = 200): Promise<{ site: string; orderId: string }[]> {
    const rows = await this.d.repo.staleHolds(new Date(now.getTime() - HOLD_MS).toISOString(), limit, 'provider');
    return rows.map((r) => ({ site: r.site, orderId: r.order_id }));
  }

  /** One unpaid order gives its places back (pending → expired); false when it was not pending. */
  async expireOne(siteId: string, orderId: string): Promise<boolean> {
    const row = await this.d.repo.transaction(async (trx) => {
      const r = await this.d.repo.markExpired(trx, orderId);
      if (!r) return undefined;
      if (r.site !== siteId) throw new CloudError('internal', `order ${orderId} is not of site ${siteId}`);
      await this.d.places.release(trx, r.site, r.visit_date, r.slot_id, Number(r.persons));
      await this.released(trx, r);
      return r;
    });
    if (!row) return false;
    this.d.soldChanged(siteId, row.visit_date);
    this.d.events.emit('changed', { site: siteId });
    this.d.log.info({ site: siteId, orderId }, 'unpaid order expired; its places are for sale again');
    return true;
  }

  async refundsOwed(limit = 100): Promise<OwedRefund[]> {
    const rows = await this.d.repo.refundsRequested(limit);
    return rows.map((o) => ({ site: o.site, orderId: o.order_id, outRefundNo: o.refund_no ?? `${o.order_id}R`, amountFen: Number(o.amount_fen), reason: o.refund_reason ?? '' }));
  }

  async refundUpdate(siteId: string, orderId: string, outRefundNo: string, state: Exclude<RefundState, 'requested'>): Promise<void> {
    // Forward only: requested → processing → succeeded; failed from requested or processing.
    const from = state === 'processing' ? ['requested'] : ['requested', 'processing'];
    if (await this.d.repo.setRefundState(siteId, orderId, outRefundNo, state, from)) this.d.events.emit('changed', { site: siteId });
  }

  async get(site: SalesSite, channel: Channel, orderId: string): Promise<Reply> {
    const order = await this.d.repo.order(site.id, channel.id, orderId);
    if (!order) return refusalReply(unknownOrder(orderId));
    return { status: 200, body: await this.view(order) };
  }

  private async view(o: OrdersTable, db?: Db): Promise<Record<string, unknown>> {
    const visitors = await this.d.repo.visitors(o.order_id, db);
    const tickets = [...new Set(visitors.map((v) => v.ticket_id).filter((t): t is string => t !== null))].map((ticketId) => ({
      ticketId,
      code: `ST1:${ticketId}`,
      persons: visitors.filter((v) => v.ticket_id === ticketId).length,
    }));
    return {
      orderId: o.order_id,
      status: o.status,
      typeId: o.type_id,
      date: o.visit_date,
      slotId: o.slot_id === NO_SLOT ? null : o.slot_id,
      persons: Number(o.persons),
      amountFen: Number(o.amount_fen),
      pricing: JSON.parse(o.pricing) as unknown,
      visitors: visitors.map((v) => ({ name: v.name, idMasked: v.id_masked, ticketId: v.ticket_id })),
      tickets: o.status === 'paid' ? tickets : [],
      paidAt: o.paid_at,
      refundedAt: o.refunded_at,
      refundReason: o.refund_reason,
      ...(o.payment_mode === 'provider' ? { paymentMode: 'provider', refundState: o.refund_state } : {}),
      ...(o.cancelled_at ? { cancelledAt: o.cancelled_at } : {}),
    };
  }

  private async checkNotPaused(trx: Db, site: SalesSite, channel: Channel): Promise<void> {
    if ((await this.d.repo.channelPause(site.id, channel.id, trx)).paused) throw new CloudError('channel_paused', `sales on ${channel.id} are paused by park staff`);
  }

  /**
   * The order, locked for the rest of the transaction, so two changes to one order (a
   * refund racing a rebooking) take turns instead of both giving its places back.
   */
  private async lockOrder(trx: Db, site: SalesSite, channel: Channel, orderId: string): Promise<OrdersTable> {
    const row = await this.d.repo.lockOrder(trx, site.id, channel.id, orderId);
    if (!row) throw unknownOrder(orderId);
    return row;
  }

  /** The tickets of a paid order, or a refusal when a gate has already let one in. */
  private async unusedTickets(trx: Db, site: SalesSite, orderId: string): Promise<string[]> {
    const ticketIds = await this.d.repo.ticketIds(trx, orderId);
    const used = ticketIds.length === 0 ? [] : await this.d.repo.usedTickets(trx, site.id, ticketIds);
    if (used.length > 0) throw new CloudError('ticket_used', `${used.length} ticket(s) of order ${orderId} already entered the park`);
    return ticketIds;
  }

  private announceAfter(fx: WriteEffects, delta: WhitelistDelta, order: OrdersTable, text: string): void {
    fx.after.push(() => this.d.ledger.announce(delta));
    const lang = order.lang === 'en' || order.lang === 'zh-CN' ? { lang: order.lang as 'en' | 'zh-CN' } : {};
    // Whether the text was taken does not change the sale (the code is in the order view too).
    fx.after.push(async () => void (await this.d.sms.send({ to: order.contact_phone, text, orderId: order.order_id, ...lang })));
  }
}
