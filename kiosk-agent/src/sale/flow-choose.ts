/*
 * Before any money: choose (type, date, slot, count) against availability → real-name (an ID
 * card or a typed number per visitor) → quote → review (pick a way to pay) → place the order.
 * Full ID numbers live in the state only until the order is placed.
 */
import { addDays, idNumberProblem, maskIdNumber, normalizeIdNumber } from '@stile/config';
import type { SaleEvent } from './events.js';
import { startCash } from './flow-cash.js';
import { startProvider } from './flow-provider.js';
import { emptyMoney, type PayMethod } from './model.js';
import type { TextKey } from './text.js';
import { yuan } from './text.js';
import { couponCodeOf, endSale, personsOf, totalOf, type Tx } from './tx.js';

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const NAME_MAX = 40;

export function startSale(tx: Tx, ev: Extract<SaleEvent, { kind: 'start' }>): void {
  const { config, catalogue } = tx.ctx;
  if (config.mode === 'window' && !tx.s.staff) return tx.say('staff_required');
  if (!tx.s.dev.printerReady) return tx.say('out_of_service');
  if (!DATE_RE.test(ev.today) || !ev.saleId) return void tx.ignore('bad_start');
  const only = <T>(xs: T[]): T | undefined => (xs.length === 1 ? xs[0] : undefined);
  tx.s.sale = {
    id: ev.saleId,
    today: ev.today,
    date: ev.today,
    typeId: only(catalogue.types)?.id,
    slotId: only(catalogue.slots)?.id,
    count: 1,
    visitors: [],
    attempts: 0,
    money: emptyMoney(),
    printCopies: 0,
    recordTries: 0,
    lastTryAt: ev.at,
  };
  tx.journal({ kind: 'sale_started', date: ev.today });
  tx.go('choosing');
  tx.say('choose');
  tx.emit({ kind: 'request_availability', date: ev.today });
}

/** What keeps the current choice from going on to real-name, or undefined. */
function choiceProblem(tx: Tx): [TextKey, Record<string, string | number>?] | undefined {
  const sale = tx.sale;
  const { catalogue, config } = tx.ctx;
  if (!sale.typeId) return ['choose_type'];
  if (catalogue.slots.length > 0 && !sale.slotId) return ['choose_slot'];
  const persons = personsOf(tx);
  if (persons > config.maxPersons) return ['too_many_persons', { max: config.maxPersons }];
  const a = sale.availability;
  if (!a || a.date !== sale.date) return ['availability_pending'];
  if (a.level === 'red') return ['capacity_red'];
  if (persons > a.remaining) return ['not_enough_places', { remaining: Math.max(0, a.remaining) }];
  if (sale.slotId) {
    const left = a.slots.find((s) => s.slotId === sale.slotId)?.remaining ?? 0;
    if (persons > left) return ['slot_full', { remaining: Math.max(0, left) }];
  }
  return undefined;
}

/** Capacity said out loud: at orange the kiosk sells its reserve, at red nothing. */
function sayLevel(tx: Tx): void {
  const a = tx.sale.availability;
  if (a?.level === 'red') tx.say('capacity_red');
  else if (a?.level === 'orange') tx.say('capacity_orange_kiosk', { remaining: Math.max(0, a.remaining) });
}

export function onChoosing(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  const { catalogue, config } = tx.ctx;
  switch (ev.kind) {
    case 'choose_type': {
      const type = catalogue.types.find((t) => t.id === ev.typeId);
      if (!type) return tx.say('unknown_choice'), true;
      sale.typeId = type.id;
      sale.count = Math.max(1, Math.min(sale.count, Math.floor(config.maxPersons / type.persons)));
      return true;
    }
    case 'choose_date': {
      const last = addDays(sale.today, catalogue.realName.bookingHorizonDays);
      if (!DATE_RE.test(ev.date) || ev.date < sale.today || ev.date > last) return tx.say('date_invalid', { last }), true;
      if (ev.date !== sale.date) {
        sale.date = ev.date;
        delete sale.availability;
        tx.emit({ kind: 'request_availability', date: ev.date });
      }
      return true;
    }
    case 'choose_slot':
      if (!catalogue.slots.some((s) => s.id === ev.slotId)) return tx.say('unknown_choice'), true;
      sale.slotId = ev.slotId;
      return true;
    case 'set_count': {
      if (!Number.isInteger(ev.count) || ev.count < 1) return tx.say('unknown_choice'), true;
      const prev = sale.count;
      sale.count = ev.count;
      if (personsOf(tx) > config.maxPersons) {
        sale.count = prev;
        tx.say('too_many_persons', { max: config.maxPersons });
      }
      return true;
    }
    case 'confirm': {
      const problem = choiceProblem(tx);
      if (problem) {
        if (problem[0] === 'availability_pending') tx.emit({ kind: 'request_availability', date: sale.date });
        return tx.say(...problem), true;
      }
      sale.visitors = sale.visitors.slice(0, personsOf(tx));
      tx.go('identifying');
      afterVisitors(tx);
      return true;
    }
    case 'back':
      return endSale(tx, 'cancelled', 'cancelled'), true;
    default:
      return false;
  }
}

/** Availability for the sale's date: kept and said, in any phase before the order is placed. */
export function onAvailability(tx: Tx, ev: Extract<SaleEvent, { kind: 'availability' | 'availability_failed' }>): boolean {
  const sale = tx.s.sale;
  if (!sale || sale.orderId || !['choosing', 'identifying', 'quoting', 'review'].includes(tx.s.phase)) return false;
  if (ev.kind === 'availability_failed') return tx.say('availability_failed'), true;
  const a = ev.availability;
  if (a.date !== sale.date || !Number.isInteger(a.remaining) || !Array.isArray(a.slots)) return tx.ignore('stale_availability');
  sale.availability = structuredClone(a);
  sayLevel(tx);
  // Past choosing, a level that no longer allows the choice sends the visitor back to it.
  if (tx.s.phase !== 'choosing' && choiceProblem(tx)) {
    tx.go('choosing');
    if (a.level !== 'red') tx.say('capacity_changed');
  }
  return true;
}

function afterVisitors(tx: Tx): void {
  const sale = tx.sale;
  const total = personsOf(tx);
  if (sale.visitors.length >= total) return startQuote(tx);
  tx.say('tap_id_card', { index: sale.visitors.length + 1, total });
}

function startQuote(tx: Tx): void {
  const sale = tx.sale;
  delete sale.quote;
  tx.go('quoting');
  tx.emit({ kind: 'request_quote', typeId: sale.typeId as string, date: sale.date, ...(sale.slotId ? { slotId: sale.slotId } : {}), count: sale.count });
}

const ID_TEXT = { format: 'invalid_id_format', check_digit: 'invalid_id_check_digit', region: 'invalid_id_region', birth_date: 'invalid_id_birth_date' } as const;

export function onIdentifying(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  switch (ev.kind) {
    case 'id_card_read':
    case 'id_typed': {
      if (sale.visitors.length >= personsOf(tx)) return tx.say('visitors_complete'), true;
      const name = typeof ev.name === 'string' ? ev.name.trim() : '';
      if (!name || name.length > NAME_MAX) return tx.say('name_required'), true;
      const raw = typeof ev.idNumber === 'string' ? ev.idNumber : '';
      const problem = idNumberProblem(raw, sale.today);
      if (problem) return tx.say(ID_TEXT[problem]), true;
      const idNumber = normalizeIdNumber(raw);
      if (sale.visitors.some((v) => v.idNumber === idNumber)) return tx.say('duplicate_visitor'), true;
      sale.visitors.push({ name, idNumber, idMasked: maskIdNumber(idNumber), source: ev.kind === 'id_card_read' ? 'card' : 'typed' });
      afterVisitors(tx);
      return true;
    }
    case 'id_card_removed':
      return tx.say('card_removed'), true;
    case 'coupon_entered':
      return enterCoupon(tx, ev.code), true;
    case 'remove_visitor':
      if (!Number.isInteger(ev.index) || ev.index < 0 || ev.index >= sale.visitors.length) return tx.ignore('no_such_visitor');
      sale.visitors.splice(ev.index, 1);
      afterVisitors(tx);
      return true;
    case 'confirm':
      afterVisitors(tx);
      return true;
    case 'back':
      tx.go('choosing');
      tx.say('choose');
      return true;
    default:
      return false;
  }
}

export function onQuoting(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  if (ev.kind === 'quote') {
    const q = ev.quote;
    const matches = q.typeId === sale.typeId && q.date === sale.date && (q.slotId ?? undefined) === sale.slotId && q.count === sale.count;
    if (!matches) return tx.ignore('stale_quote');
    if (!Number.isInteger(q.unitFen) || q.unitFen < 0 || q.unitFen > 10_000_000) return tx.ignore('bad_quote');
    sale.quote = structuredClone(q);
    tx.go('review');
    tx.say('choose_payment', { total: yuan(totalOf(sale)) });
    return true;
  }
  if (ev.kind === 'quote_failed') {
    tx.go('identifying');
    tx.say('quote_failed');
    return true;
  }
  if (ev.kind === 'back') {
    tx.go('identifying');
    tx.say('visitors_complete');
    return true;
  }
  return false;
}

/** Whether a way to pay can be offered now, or the word for why not. */
function methodProblem(tx: Tx, method: PayMethod): TextKey | undefined {
  const { config } = tx.ctx;
  if (!config.methods.includes(method)) return 'method_unavailable';
  if ((method === 'code' || method === 'qr') && !tx.s.dev.online) return 'offline_cash_only';
  if (method === 'cash' && !tx.s.dev.validatorReady) return 'method_unavailable';
  if (!tx.s.dev.printerReady) return 'out_of_service';
  return undefined;
}

/** A coupon for the sale (before its order is placed): kept and sent with the order; '' takes it off. */
function enterCoupon(tx: Tx, raw: unknown): void {
  const sale = tx.sale;
  if (sale.orderId) return void tx.say('order_held');
  if (typeof raw === 'string' && raw.trim() === '') {
    delete sale.couponCode;
    return void tx.say('coupon_removed');
  }
  const code = typeof raw === 'string' ? couponCodeOf(raw) : undefined;
  if (!code) return void tx.say('coupon_invalid');
  sale.couponCode = code;
  tx.say('coupon_added', { code });
}

export function onReview(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  if (ev.kind === 'coupon_entered') return enterCoupon(tx, ev.code), true;
  if (ev.kind === 'choose_method') {
    const problem = methodProblem(tx, ev.method);
    if (problem) return tx.say(problem), true;
    sale.method = ev.method;
    if (sale.orderId) return startPayment(tx), true;
    tx.go('placing');
    tx.emit({
      kind: 'place_order',
      saleId: sale.id,
      method: ev.method,
      typeId: sale.typeId as string,
      date: sale.date,
      ...(sale.slotId ? { slotId: sale.slotId } : {}),
      count: sale.count,
      persons: personsOf(tx),
      unitFen: sale.quote?.unitFen ?? 0,
      totalFen: totalOf(sale),
      visitors: sale.visitors.map((v) => ({ name: v.name, idNumber: v.idNumber ?? '' })),
      ...(sale.couponCode ? { couponCode: sale.couponCode } : {}),
    });
    return true;
  }
  if (ev.kind === 'back') {
    if (sale.orderId) return tx.say('order_held'), true;
    tx.go('identifying');
    tx.say('visitors_complete');
    return true;
  }
  return false;
}

export function onPlacing(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  if (ev.kind === 'order_placed') {
    if (typeof ev.orderId !== 'string' || !ev.orderId) return tx.ignore('bad_order_id');
    // A coupon took money off: the cloud's amount is what the visitor pays (never more than quoted).
    const quoted = totalOf(sale);
    if (sale.couponCode && typeof ev.amountFen === 'number' && Number.isInteger(ev.amountFen) && ev.amountFen >= 0 && ev.amountFen < quoted) sale.discountFen = quoted - ev.amountFen;
    sale.orderId = ev.orderId;
    tx.journal({
      kind: 'order_placed',
      orderId: ev.orderId,
      method: sale.method ?? 'cash',
      typeId: sale.typeId as string,
      date: sale.date,
      ...(sale.slotId ? { slotId: sale.slotId } : {}),
      count: sale.count,
      persons: personsOf(tx),
      totalFen: totalOf(sale),
      visitors: sale.visitors.map((v) => ({ name: v.name, idMasked: v.idMasked })),
    });
    // The order holds the places now: the full numbers are no longer needed.
    for (const v of sale.visitors) delete v.idNumber;
    if (sale.ending) return endSale(tx, sale.ending, sale.ending === 'timeout' ? 'idle_timeout' : 'cancelled'), true;
    startPayment(tx);
    return true;
  }
  if (ev.kind === 'order_refused') {
    if (sale.ending) return endSale(tx, sale.ending, sale.ending === 'timeout' ? 'idle_timeout' : 'cancelled'), true;
    const i = ev.visitor;
    const hasVisitor = i !== undefined && Number.isInteger(i) && i >= 0 && i < sale.visitors.length;
    if ((ev.reason === 'id_limit' || ev.reason === 'invalid_id') && hasVisitor) {
      sale.visitors.splice(i, 1);
      tx.go('identifying');
      if (ev.reason === 'id_limit') tx.say('id_limit_reached', { limit: tx.ctx.catalogue.realName.ticketsPerIdPerDay });
      else tx.say('invalid_id_format');
      return true;
    }
    if (ev.reason === 'coupon') {
      // The coupon is dropped; the visitor sees why and may pay without it or enter another.
      delete sale.couponCode;
      tx.go('review');
      tx.say(couponRefusalText(ev.code));
      return true;
    }
    if (ev.reason === 'capacity') {
      delete sale.availability;
      tx.go('choosing');
      tx.say('capacity_changed');
      tx.emit({ kind: 'request_availability', date: sale.date });
      return true;
    }
    tx.go('review');
    tx.say('order_refused');
    return true;
  }
  return false;
}

const COUPON_TEXT: Partial<Record<string, TextKey>> = { coupon_unknown: 'coupon_unknown', coupon_used: 'coupon_used', coupon_in_use: 'coupon_used', coupon_expired: 'coupon_expired', coupon_not_yet_valid: 'coupon_expired', coupon_not_applicable: 'coupon_not_applicable', coupon_not_for_channel: 'coupon_not_applicable', coupon_not_stackable: 'coupon_not_applicable', coupon_min_spend: 'coupon_not_applicable', coupon_offline: 'coupon_offline' };

/** The words for a coupon refusal code from the cloud; a code this kiosk does not know yet gets the plain one. */
export function couponRefusalText(code: string | undefined): TextKey {
  return (code && COUPON_TEXT[code]) || 'coupon_refused';
}

export function startPayment(tx: Tx): void {
  const sale = tx.sale;
  switch (sale.method) {
    case 'cash':
      return startCash(tx);
    case 'staff_cash':
      tx.go('staff_cash');
      return tx.say('staff_cash_enter', { total: yuan(sale.money.totalFen) });
    case 'qr':
      return startProvider(tx, 'qr');
    case 'code':
    default:
      tx.go('code_wait');
      return tx.say('scan_payment_code');
  }
}
