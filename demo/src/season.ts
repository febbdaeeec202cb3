/**
 * The demo park's generated season (#19 point 6, docs/visitor-data/demo.md): the days before
 * today as the cloud would have recorded them, so every report and chart of the visitor-data
 * modules has something to show on a fresh `npm start`. Deterministic (a seeded PRNG: the same
 * seed and dates give the same rows); season-store.ts writes it once, in one transaction of bulk
 * inserts.
 *
 * What it makes, each fact consistent with the others: paid and refunded orders over the
 * catalogue's types (family package, combos, the free-rebooking type), their visitors with
 * coarse attributes (age band, gender, GB/T 2260 city), tickets and admissions (an hourly
 * profile that moves earlier once the early-bird offer "started"), refund reasons (schedule
 * conflict the most common), visits and profiles (repeat visitors, members), POS lines
 * (restaurants, shops, culture), coupons issued and redeemed, and the combos' split ledger
 * (a row per partner and one for the park, summing to the amount paid; reversed on refund).
 *
 * Privacy as in production: the synthetic ID numbers exist only inside `generateSeason` (hashed
 * with the site key and masked, as sales does); analytics tables get no number and no phone.
 */
import { hashIdNumber, maskIdNumber } from '@stile/config';
import type { Catalogue } from '@stile/cloud-bridge/catalogue';
import { addDays, ageBand, at, CITIES, GIVEN, idNumberOf, pick, prng, SURNAMES, token, TZ_OFFSET_H, weekday, type Person } from './season-parts.js';

export { ageBand, CITIES, prng } from './season-parts.js';

type Row<T extends keyof TableMap> = TableMap[T];
interface TableMap {
  orders: Record<string, unknown> & { order_id: string; amount_fen: number; status: string; type_id: string };
  order_visitors: Record<string, unknown>;
  tickets: Record<string, unknown>;
  entries: Record<string, unknown>;
  visitor_visits: Record<string, unknown>;
  visitor_profiles: Record<string, unknown>;
  pos_lines: Record<string, unknown>;
  coupons: Record<string, unknown>;
  coupon_grants: Record<string, unknown>;
  split_ledger: Record<string, unknown> & { order_id: string; amount_fen: number };
  partner_redemptions: Record<string, unknown>;
  audit_log: Record<string, unknown>;
}
export type SeasonTable = keyof TableMap;

export interface SeasonOptions {
  site: string;
  /** The site's ID-hash key (the hashes are the ones a real sale of that person would make). */
  idHashKey: string;
  /** The park's local date today; the season is the `days` before it (today itself is left to the live demo). */
  today: string;
  /** Days of history, default 120. */
  days?: number;
  /** Visits (person-visits) over the season, about; default 30,000. */
  visits?: number;
  seed?: number;
  /**
   * The day the early-bird offer started (admissions move earlier from then; before it the early
   * slot sold at full price). Default: the first day of last month, so last month's report
   * compared with the month before shows the shift.
   */
  earlyBirdFrom?: string;
  /** The site's gates (entries name them); default east-1 and west-1. */
  gates?: readonly string[];
}

export interface SeasonSummary {
  from: string;
  to: string;
  earlyBirdFrom: string;
  counts: Record<SeasonTable, number>;
}

export interface Season extends SeasonSummary {
  rows: { [T in SeasonTable]: Row<T>[] };
}

/** The marker row (audit_log) that says a season was written: never twice into one store. */
export const SEASON_MARKER = { actor: 'demo', action: 'demo.season' } as const;
/** Entry seqs of generated admissions start here, far above anything a real gate reaches. */
const SEQ_BASE = 9_000_000_000_000n;

/* ---------- the generator ---------- */

interface OrderPlan {
  typeId: string;
  persons: number;
  tickets: number;
  unitFen: number;
}

/**
 * The season's rows, table by table. Pure: the same options give the same rows (the only
 * inputs are the options and the catalogue; nothing reads the clock).
 */
export function generateSeason(catalogue: Catalogue, o: SeasonOptions): Season {
  const rnd = prng(o.seed ?? 20260301);
  const days = o.days ?? 120;
  const target = o.visits ?? 30_000;
  const gates = o.gates ?? ['east-1', 'west-1'];
  const from = addDays(o.today, -days);
  const to = addDays(o.today, -1);
  const lastMonth = new Date(Date.UTC(Number(o.today.slice(0, 4)), Number(o.today.slice(5, 7)) - 2, 1)).toISOString().slice(0, 10);
  const earlyBirdFrom = o.earlyBirdFrom ?? (lastMonth > from ? lastMonth : addDays(from, Math.floor(days / 2)));
  const types = new Map(catalogue.ticketTypes.map((t) => [t.id, t]));
  const has = (id: string) => types.has(id);
  const channels = catalogue.channels.map((c) => c.id);
  const reasonCodes = new Set(catalogue.refundReasons.map((r) => r.code));
  const rows: Season['rows'] = { orders: [], order_visitors: [], tickets: [], entries: [], visitor_visits: [], visitor_profiles: [], pos_lines: [], coupons: [], coupon_grants: [], split_ledger: [], partner_redemptions: [], audit_log: [] };

  // A population about 70 % the size of the visits: repeat visitors make up the rest.
  const people: Person[] = [];
  const population = Math.max(50, Math.round(target * 0.7));
  for (let i = 0; i < population; i++) {
    const region = pick(rnd, CITIES);
    const female = rnd() < 0.52;
    const age = pick(rnd, [[4 + Math.floor(rnd() * 8), 14], [12 + Math.floor(rnd() * 6), 6], [18 + Math.floor(rnd() * 12), 22], [30 + Math.floor(rnd() * 15), 30], [45 + Math.floor(rnd() * 15), 16], [60 + Math.floor(rnd() * 20), 12]] as const);
    const year = Number(o.today.slice(0, 4)) - age;
    const birth = `${year}-${String(1 + Math.floor(rnd() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rnd() * 28)).padStart(2, '0')}`;
    const id = idNumberOf(`${region}`, birth, i, female);
    // The phone's home region is mostly the ID's city (people live where they were registered), sometimes Hangzhou or Shanghai.
    const phoneRegion = rnd() < 0.8 ? region : pick(rnd, [['3301', 3], ['3101', 2]] as const);
    people.push({
      idHash: hashIdNumber(o.idHashKey, id),
      idMasked: maskIdNumber(id),
      name: SURNAMES[Math.floor(rnd() * SURNAMES.length)]! + GIVEN[Math.floor(rnd() * GIVEN.length)]!,
      birth,
      gender: female ? 'f' : 'm',
      region,
      phone: `1${pick(rnd, [['38', 3], ['39', 3], ['58', 2], ['86', 2], ['37', 1]] as const)}${String(Math.floor(rnd() * 1e8)).padStart(8, '0')}`,
      phoneRegion,
      loyalty: rnd() < 0.12 ? 6 : rnd() < 0.3 ? 2 : 1,
      consent: rnd() < 0.38,
    });
  }
  const ageOf = (p: Person) => Number(o.today.slice(0, 4)) - Number(p.birth.slice(0, 4));
  const adults = people.filter((p) => ageOf(p) >= 18);
  const children = people.filter((p) => ageOf(p) < 12);
  const seniors = people.filter((p) => ageBand(p.birth, o.today) === '60+');
  // Loyal people are drawn more often: an index list weighted by loyalty.
  const drawFrom = (pool: Person[]) => {
    const idx: Person[] = [];
    for (const p of pool) for (let k = 0; k < p.loyalty; k++) idx.push(p);
    return idx;
  };
  const adultDraw = drawFrom(adults);
  const childDraw = drawFrom(children.length ? children : adults);
  const seniorDraw = drawFrom(seniors.length ? seniors : adults);

  // Profiles accumulate as visits are made.
  interface Acc { p: Person; visits: number; orders: Set<string>; ticketFen: number; posFen: number; first: string; last: string; lastOrder: string; consentAt: string | null; consentSource: string | null; memberSince: string | null }
  const acc = new Map<string, Acc>();
  const byDateBusy = new Map<string, Set<string>>();

  let seq = 0;
  let orderN = 0;
  let posN = 0;
  let couponN = 0;
  // A rule grants a visitor at most one coupon per period (coupon_grants' key), as marketing does.
  const granted = new Set<string>();
  const grant = (rule: string, idHash: string, period: string) => {
    const key = `${rule}/${idHash}/${period}`;
    if (granted.has(key)) return false;
    granted.add(key);
    return true;
  };
  const coupon = (prefix: string) => `${prefix}${String(++couponN).padStart(5, '0')}${token(rnd, 3).toUpperCase()}`;
  const dayWeights: number[] = [];
  for (let d = 0; d < days; d++) {
    const date = addDays(from, d);
    const wd = weekday(date);
    const weekend = wd === 0 || wd === 6 ? 1.9 : 1;
    // A gentle rise towards the present (the season building up) and some weather.
    dayWeights.push(weekend * (0.75 + (0.5 * d) / days) * (0.7 + rnd() * 0.6));
  }
  const weightSum = dayWeights.reduce((s, w) => s + w, 0);

  const slotOf = (minute: number) => catalogue.slots.find((s) => toMin(s.start) <= minute && minute < toMin(s.end));
  const price = (typeId: string, channel: string, slotId: string | undefined, date: string): { unit: number; discounts: { kind: string; percentOff?: number }[] } => {
    const t = types.get(typeId)!;
    const cp = catalogue.pricing.find((r) => r.kind === 'channelPrice' && r.channel === channel && r.type === typeId);
    let unit = cp && cp.kind === 'channelPrice' ? cp.priceFen : t.priceFen;
    const discounts: { kind: string; percentOff?: number }[] = [];
    const applies = (types?: readonly string[]) => !types || types.includes(typeId);
    for (const r of catalogue.pricing) {
      if (r.kind === 'earlyBird' && slotId === 'early' && date >= earlyBirdFrom && applies(r.types)) {
        unit = Math.round((unit * (100 - r.percentOff)) / 100);
        discounts.push({ kind: 'earlyBird', percentOff: r.percentOff });
      } else if (r.kind === 'night' && slotId === 'night' && applies(r.types)) {
        unit = Math.round((unit * (100 - r.percentOff)) / 100);
        discounts.push({ kind: 'night', percentOff: r.percentOff });
      }
    }
    return { unit, discounts };
  };

  // The free-rebooking type came in the second half of the season.
  const flexFrom = addDays(from, Math.floor(days / 2));
  const typeMix = (date: string): (readonly [string, number])[] => {
    const weekend = [0, 6].includes(weekday(date));
    const mix: [string, number][] = [
      ['adult', 34],
      ['child', 6],
      ['senior', 9],
      ['family', 36],
      ['weekend', weekend ? 10 : 0],
      ['hotel', 5],
      ['farmstay', 6],
      ['flex', date >= flexFrom ? 9 : 0],
    ];
    return mix.filter(([id, w]) => w > 0 && has(id));
  };

  for (let d = 0; d < days; d++) {
    const date = addDays(from, d);
    const busy = new Set<string>();
    byDateBusy.set(date, busy);
    const earlyBird = date >= earlyBirdFrom;
    const mix = typeMix(date);
    let todo = Math.round((target * dayWeights[d]!) / weightSum);
    while (todo > 0) {
      const typeId = pick(rnd, mix);
      const t = types.get(typeId)!;
      const plan: OrderPlan = { typeId, persons: t.persons, tickets: 1, unitFen: t.priceFen };
      if (t.persons === 1) plan.tickets = plan.persons = typeId === 'adult' ? pick(rnd, [[1, 3], [2, 5], [3, 2], [4, 1]] as const) : pick(rnd, [[1, 3], [2, 2]] as const);
      else if (typeId === 'family' && rnd() < 0.15) {
        plan.tickets = 2;
        plan.persons = t.persons * 2;
      }
      todo -= plan.persons;
      const channel = pick(
        rnd,
        ([['wechat', 40], ['meituan', 25], ['web', 15], ['kiosk', 20]] as const).filter(([c]) => channels.includes(c) && (!t.channels || t.channels.includes(c))),
      );
      // Who: the family's adults and a child, a senior's companions, or adults.
      const party: Person[] = [];
      for (let k = 0; k < plan.persons && party.length < plan.persons; k++) {
        const draw = typeId === 'family' ? (k % 3 === 2 ? childDraw : adultDraw) : typeId === 'child' ? childDraw : typeId === 'senior' ? seniorDraw : adultDraw;
        for (let tries = 0; tries < 6; tries++) {
          const p = draw[Math.floor(rnd() * draw.length)]!;
          if (!busy.has(p.idHash) && !party.includes(p)) {
            party.push(p);
            break;
          }
        }
      }
      if (party.length < plan.persons) continue; // everybody is already here today: no order
      for (const p of party) busy.add(p.idHash);

      // When: an entry time from the day's hourly profile; the early-bird offer pulls it earlier.
      const hour = pick(rnd, earlyBird
        ? ([[6, 5], [7, 12], [8, 16], [9, 17], [10, 15], [11, 10], [12, 7], [13, 6], [14, 5], [15, 3], [16, 2], [18, 2]] as const)
        : ([[6, 1], [7, 3], [8, 9], [9, 16], [10, 22], [11, 16], [12, 9], [13, 8], [14, 7], [15, 4], [16, 3], [18, 2]] as const));
      const minute = hour * 60 + (hour === 6 ? 30 + Math.floor(rnd() * 30) : Math.floor(rnd() * 60));
      const slot = catalogue.slots.length ? slotOf(minute) : undefined;
      const q = price(typeId, channel, slot?.id, date);
      plan.unitFen = q.unit;
      const priceFen = q.unit * plan.tickets;
      const orderId = `OH${String(++orderN).padStart(6, '0')}-${token(rnd, 8)}`;
      const paidAt = at(addDays(date, -pick(rnd, [[0, 5], [1, 3], [2, 2], [5, 1], [10, 1]] as const)), 8 * 60 + Math.floor(rnd() * 12 * 60), Math.floor(rnd() * 60));
      const createdAt = new Date(Date.parse(paidAt) - (30 + Math.floor(rnd() * 300)) * 1000).toISOString();
      const payer = party[0]!;

      // Refunds: about 7 %, schedule conflicts the most common (fewer once the free-rebooking type exists).
      const refunded = rnd() < (typeId === 'flex' ? 0.02 : 0.075);
      const reason = refunded
        ? pick(rnd, ([['schedule', has('flex') && date >= flexFrom ? 36 : 42], ['weather', 22], ['changed_plans', 18], ['illness', 12], ['duplicate_order', 6]] as const).filter(([c]) => reasonCodes.has(c)))
        : null;
      const refundedAt = refunded ? new Date(Math.min(Date.parse(at(date, 7 * 60)), Date.parse(paidAt) + (1 + Math.floor(rnd() * 40)) * 3600_000)).toISOString() : null;

      // A coupon on the ticket: a member's third-visit half price, or an off-season weekend offer.
      const a0 = acc.get(payer.idHash);
      let discount = 0;
      let couponCode: string | null = null;
      if (!refunded && a0 && a0.visits >= 2 && rnd() < 0.35 && plan.tickets === 1 && t.persons === 1 && grant('third-visit-half', payer.idHash, date.slice(0, 7))) {
        couponCode = coupon('HALF');
        discount = Math.floor(priceFen / 2);
        rows.coupons.push({ site: o.site, code: couponCode, rule_id: 'third-visit-half', id_hash: payer.idHash, kind: 'percent', percent_off: 50, amount_fen: null, item: null, applies_to: 'ticket', valid_from: addDays(date, -20), valid_to: addDays(date, 40), channels: null, stacking: 'exclusive', state: 'redeemed', issued_at: at(addDays(date, -20), 9 * 60), held_order: null, redeemed_at: paidAt, redeemed_via: channel, redeemed_ref: orderId, discount_fen: discount });
        rows.coupon_grants.push({ site: o.site, rule_id: 'third-visit-half', id_hash: payer.idHash, period: date.slice(0, 7), code: couponCode });
      }
      const amount = priceFen - discount;
      const ticketsOfOrder: { id: string; persons: number; members: Person[] }[] = [];
      for (let k = 0; k < plan.tickets; k++) ticketsOfOrder.push({ id: token(rnd, 22), persons: t.persons, members: party.slice(k * t.persons, (k + 1) * t.persons) });
      const admitted = !refunded && rnd() > 0.03; // a few no-shows
      const status = refunded ? 'refunded' : 'paid';
      rows.orders.push({
        order_id: orderId,
        site: o.site,
        channel,
        status,
        type_id: typeId,
        gate_type_id: typeId,
        visit_date: date,
        slot_id: slot?.id ?? '',
        persons: plan.persons,
        amount_fen: amount,
        pricing: JSON.stringify({ unitFen: q.unit, baseFen: t.priceFen, discounts: q.discounts }),
        contact_phone: payer.phone,
        created_at: createdAt,
        paid_at: paidAt,
        payment_ref: `season-${orderId}`,
        refunded_at: refundedAt,
        refund_reason: reason,
        // Recorded as partner-mode: no provider trade exists for history, so reconciliation leaves them alone.
        payment_mode: 'partner',
        refund_state: null,
        refund_no: null,
        lang: 'zh-CN',
        cancelled_at: null,
        phone_region: payer.phoneRegion,
        coupon_code: couponCode,
        discount_fen: discount,
        marketing_consent: channel === 'web' || channel === 'wechat' ? (payer.consent ? 1 : 0) : null,
      });
      let idx = 0;
      const entryAt = at(date, minute, Math.floor(rnd() * 60));
      for (const tk of ticketsOfOrder) {
        rows.tickets.push({ site: o.site, ticket_id: tk.id, type_id: typeId, status: refunded ? 'refunded' : admitted ? 'used' : 'valid', visit_date: date, slot_start: slot?.start ?? null, slot_end: slot?.end ?? null, persons: tk.persons, entries_used: admitted ? 1 : 0, max_entries: 1, id_hash: tk.members.length === 1 ? tk.members[0]!.idHash : null, updated_seq: null });
        if (admitted) {
          const gate = gates[Math.floor(rnd() * gates.length)]!;
          const s = SEQ_BASE + BigInt(++seq);
          rows.entries.push({ event_id: `season-${s}`, site: o.site, gate, seq: String(s), epoch: 0, kind: 'admit', ref_seq: null, ticket_id: tk.id, type_id: typeId, credential: rnd() < 0.3 ? 'idcard' : 'qr', persons: tk.persons, at: entryAt, received_at: entryAt, anomaly: null });
        }
        for (const p of tk.members) {
          rows.order_visitors.push({ order_id: orderId, idx: idx++, name: p.name, id_hash: p.idHash, id_masked: p.idMasked, ticket_id: tk.id, age_band: ageBand(p.birth, date), gender: p.gender, region: p.region });
        }
      }
      // Visits: one per visitor of the order, their share of the amount (the remainder to the first).
      const share = Math.floor(amount / plan.persons);
      party.forEach((p, i) => {
        rows.visitor_visits.push({ site: o.site, order_id: orderId, id_hash: p.idHash, visit_date: date, channel, type_id: typeId, party_size: plan.persons, amount_fen: share + (i === 0 ? amount - share * plan.persons : 0), admitted_at: admitted ? entryAt : null, refunded: refunded ? 1 : 0 });
        if (refunded) return;
        const a = acc.get(p.idHash) ?? { p, visits: 0, orders: new Set<string>(), ticketFen: 0, posFen: 0, first: date, last: date, lastOrder: orderId, consentAt: null, consentSource: null, memberSince: null };
        a.visits++;
        a.orders.add(orderId);
        a.ticketFen += share + (i === 0 ? amount - share * plan.persons : 0);
        a.last = date;
        a.lastOrder = orderId;
        if (i === 0 && p.consent && !a.consentAt && (channel === 'web' || channel === 'wechat')) {
          a.consentAt = paidAt;
          a.consentSource = channel;
        }
        if (a.visits === 3 && !a.memberSince) a.memberSince = date;
        acc.set(p.idHash, a);
      });

      // The combos' split as the partners module writes it: a sale line per partner part and the
      // park's remainder, adding up to what was paid; a refund reverses every line. A hotel whose
      // guest came has redeemed its part (checked the guest in).
      if (t.combo) {
        const localDay = (iso: string) => new Date(Date.parse(iso) + TZ_OFFSET_H * 3600_000).toISOString().slice(0, 10);
        const lines: { partner: string; part: string; fen: number }[] = t.combo.parts.map((part) => ({ partner: part.partner, part: part.id, fen: ('percent' in part.share ? Math.floor((q.unit * part.share.percent) / 100) : part.share.fixedFen) * plan.tickets }));
        lines.push({ partner: 'park', part: 'park', fen: amount - lines.reduce((s, l) => s + l.fen, 0) });
        for (const l of lines) rows.split_ledger.push({ id: `${orderId}:sale:${l.partner}:${l.part}`, site: o.site, order_id: orderId, partner: l.partner, part: l.part, kind: 'sale', units: plan.tickets, amount_fen: l.fen, at: paidAt, date: localDay(paidAt) });
        if (refundedAt) for (const l of lines) rows.split_ledger.push({ id: `${orderId}:reversal:${l.partner}:${l.part}`, site: o.site, order_id: orderId, partner: l.partner, part: l.part, kind: 'reversal', units: -plan.tickets, amount_fen: -l.fen, at: refundedAt, date: localDay(refundedAt) });
        if (admitted) for (const part of t.combo.parts) rows.partner_redemptions.push({ site: o.site, order_id: orderId, partner: part.partner, part: part.id, redeemed_at: at(date, 17 * 60), redeemed_by: `${part.partner}-frontdesk` });
      }

      // Spending inside: about half of the admitted parties eat, buy or visit the museum; linked by ticket, member code or phone.
      if (admitted) {
        const lines = rnd() < 0.55 ? 1 + Math.floor(rnd() * 3) : 0;
        for (let k = 0; k < lines; k++) {
          const who = party[Math.floor(rnd() * party.length)]!;
          const [category, source, items, lo, hi] = pick(rnd, [
            [['restaurant', 'lakeside-restaurant', ['午餐套餐', '鱼头砂锅', '茶点'], 3800, 16000], 5],
            [['shop', 'visitor-centre-shop', ['纪念品', '文创笔记本', '明信片套装'], 1500, 12000], 3],
            [['culture', 'culture-museum', ['非遗体验课', '竹编工坊'], 2000, 8000], 2],
          ] as const);
          const lineAt = at(date, Math.min(20 * 60, minute + 40 + Math.floor(rnd() * 300)), Math.floor(rnd() * 60));
          const link = pick(rnd, [['ticket', 6], ['phone', 2], ['member', (acc.get(who.idHash)?.memberSince ? 4 : 0)]] as const);
          rows.pos_lines.push({ site: o.site, source, line_id: `L${String(++posN).padStart(7, '0')}`, at: lineAt, visit_date: date, amount_fen: lo + Math.floor((rnd() * (hi - lo)) / 100) * 100, category, item: items[Math.floor(rnd() * items.length)]!, id_hash: who.idHash, order_id: orderId, link, coupon_code: null, discount_fen: 0, received_at: lineAt });
        }
        // Ticket-only visitors get a restaurant coupon before they leave; about a quarter use it on a later visit.
        if (lines === 0 && rnd() < 0.6 && grant('ticket-only-restaurant', payer.idHash, date)) {
          const code = coupon('EAT');
          const issuedAt = at(date, Math.min(20 * 60, minute + 180));
          const used = rnd() < 0.22;
          rows.coupons.push({ site: o.site, code, rule_id: 'ticket-only-restaurant', id_hash: payer.idHash, kind: 'fixed', percent_off: null, amount_fen: 1000, item: null, applies_to: 'pos', valid_from: date, valid_to: addDays(date, 60), channels: null, stacking: 'exclusive', state: used ? 'redeemed' : 'issued', issued_at: issuedAt, held_order: null, redeemed_at: used ? at(date, Math.min(20 * 60 + 30, minute + 200)) : null, redeemed_via: used ? 'pos:lakeside-restaurant' : null, redeemed_ref: null, discount_fen: used ? 1000 : null });
          rows.coupon_grants.push({ site: o.site, rule_id: 'ticket-only-restaurant', id_hash: payer.idHash, period: date, code });
          if (used) {
            const lineId = `L${String(++posN).padStart(7, '0')}`;
            const redeemedAt = at(date, Math.min(20 * 60 + 30, minute + 200));
            rows.coupons.at(-1)!.redeemed_ref = lineId;
            rows.pos_lines.push({ site: o.site, source: 'lakeside-restaurant', line_id: lineId, at: redeemedAt, visit_date: date, amount_fen: 4800 + Math.floor(rnd() * 60) * 100, category: 'restaurant', item: '午餐套餐', id_hash: payer.idHash, order_id: orderId, link: 'ticket', coupon_code: code, discount_fen: 1000, received_at: redeemedAt });
          }
        }
      }
    }
  }

  // POS spend into the profiles.
  for (const l of rows.pos_lines) {
    const a = acc.get(l.id_hash as string);
    if (a) a.posFen += (l.amount_fen as number) - (l.discount_fen as number);
  }
  let member = 0;
  for (const a of acc.values()) {
    rows.visitor_profiles.push({
      site: o.site,
      id_hash: a.p.idHash,
      age_band: ageBand(a.p.birth, a.last),
      gender: a.p.gender,
      region: a.p.region,
      phone_region: a.p.phoneRegion,
      first_visit: a.first,
      last_visit: a.last,
      visits: a.visits,
      orders: a.orders.size,
      ticket_fen: a.ticketFen,
      pos_fen: a.posFen,
      consent_marketing: a.consentAt ? 1 : 0,
      consent_at: a.consentAt,
      consent_source: a.consentSource,
      opted_out_at: null,
      member_code: a.memberSince ? `M${String(++member).padStart(6, '0')}` : null,
      member_since: a.memberSince,
      last_order_id: a.lastOrder,
      updated_at: at(a.last, 21 * 60),
    });
  }
  const counts = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.length])) as Record<SeasonTable, number>;
  rows.audit_log.push({ id: `season-${o.site}-${from}`, site: o.site, at: at(to, 23 * 60), actor: SEASON_MARKER.actor, action: SEASON_MARKER.action, target: o.site, reason: 'demo park: generated season of history', details: JSON.stringify({ from, to, earlyBirdFrom, counts }) });
  counts.audit_log = 1;
  return { from, to, earlyBirdFrom, counts, rows };
}

function toMin(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

