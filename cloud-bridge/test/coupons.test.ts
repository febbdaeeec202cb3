import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { hashIdNumber } from '@stile/config';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import type { CloudBridge } from '../src/bridge.js';
import { parseCatalogue } from '../src/core/catalogue.js';
import { isCloudError } from '../src/core/errors.js';
import { MarketingConfigSchema } from '../src/core/site-config/marketing.js';
import { SiteRegistry, type SiteConfig } from '../src/core/sites.js';
import { posRedeemer } from '../src/modules/marketing/redemption.js';
import { MarketingRepository } from '../src/modules/marketing/repository.js';
import { DIALECTS, idNumber, silentLog, testBridge, testDb, testSite, uniqueId, type TestDb } from './helpers.js';

const STAFF_TOKEN = 'staff-token-for-coupon-tests';
const ID_KEY = 'id-hash-key-for-tests-0123456789';
const BOOKING_KEY = 'booking-channel-key-for-coupon-tests';
/** Wednesdays well ahead: no weekend or off-season price on a day slot. */
const DAY = '2027-03-10';
const NEXT_DAY = '2027-03-11';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const owner = (n: number) => hashIdNumber(ID_KEY, idNumber(n));

const MARKETING = MarketingConfigSchema.parse({
  coupons: [
    { id: 'half', kind: 'percent', percentOff: 50, appliesTo: 'ticket', validDays: 365 },
    { id: 'half-stack', kind: 'percent', percentOff: 50, appliesTo: 'ticket', validDays: 365, stacking: 'stackable' },
    { id: 'kiosk-only', kind: 'fixed', amountFen: 1000, appliesTo: 'ticket', validDays: 365, channels: ['kiosk'] },
    { id: 'big', kind: 'fixed', amountFen: 10000, appliesTo: 'ticket', validDays: 365 },
    { id: 'min200', kind: 'percent', percentOff: 10, appliesTo: 'ticket', validDays: 365, minSpendFen: 20000 },
    { id: 'lunch', kind: 'fixed', amountFen: 2000, appliesTo: 'pos', categories: ['restaurant'], validDays: 365 },
    { id: 'shop15', kind: 'percent', percentOff: 15, appliesTo: 'pos', validDays: 365, minSpendFen: 1000 },
  ],
});

describe.each(DIALECTS)('coupons on orders and at the POS on %s', (dialect) => {
  const open: { bridge: CloudBridge; db: TestDb }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.bridge.close();
      await o.db.cleanup();
    }
  });

  async function park() {
    const db = await testDb(dialect);
    const site = testSite(['g1']);
    const cat = demoCatalogue();
    // The park's own booking channel, paid through WeChat Pay / Alipay (provider mode).
    const catalogue = parseCatalogue({ ...cat, channels: [...cat.channels, { id: 'booking', kind: 'online', apiKeySha256: sha256(BOOKING_KEY), payment: 'provider' }] });
    const config: SiteConfig = { ...site.config, sales: { catalogue, capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY, staffTokenSha256: sha256(STAFF_TOKEN) }, marketing: MARKETING };
    const bridge = await testBridge(db, [config], { demoMode: true });
    open.push({ bridge, db });
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    const call = async (method: string, path: string, body?: unknown, key: string = DEMO_API_KEYS.wechat, headers: Record<string, string> = {}) => {
      const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const id = site.config.id;
    const order = (body: Record<string, unknown>, key?: string) => call('POST', '/v1/channel/orders', body, key, { 'idempotency-key': uniqueId('idem') });
    const write = (orderId: string, action: string, body: unknown) => call('POST', `/v1/channel/orders/${orderId}/${action}`, body, DEMO_API_KEYS.wechat, { 'idempotency-key': uniqueId('idem') });
    const issue = async (template: string, visitor?: string, extra: Record<string, unknown> = {}): Promise<string> => {
      const r = await call('POST', `/v1/staff/sites/${id}/coupons`, { template, ...(visitor ? { visitor } : {}), ...extra }, STAFF_TOKEN);
      expect(r.status).toBe(200);
      return r.body.code as string;
    };
    const coupon = (code: string) => bridge.store.db.selectFrom('coupons').selectAll().where('site', '=', id).where('code', '=', code).executeTakeFirstOrThrow();
    return { bridge, id, config, call, order, write, issue, coupon };
  }

  const visit = (n: number, date = DAY, extra: Record<string, unknown> = {}) => ({ typeId: 'adult', date, slotId: 's10', contactPhone: '13800138000', visitors: [{ name: `游客${n}`, idNumber: idNumber(n) }], ...extra });

  it('a coupon redeemed twice at once on two channels (booking page and kiosk): exactly one order gets it, the other is refused coupon_in_use', async () => {
    const p = await park();
    for (let round = 0; round < 6; round++) {
      const n = 100 + round;
      const code = await p.issue('half', owner(n));
      // The same visitor on two days (a visitor may hold one ticket a day), so both orders are otherwise fine.
      const [a, b] = await Promise.all([p.order(visit(n, DAY, { couponCode: code }), BOOKING_KEY), p.order(visit(n, NEXT_DAY, { couponCode: code }), DEMO_API_KEYS.kiosk)]);
      const won = [a, b].filter((r) => r.status === 201);
      const lost = [a, b].filter((r) => r.status !== 201);
      expect(won, `round ${round}: ${JSON.stringify([a.body, b.body])}`).toHaveLength(1);
      expect(won[0]!.body).toMatchObject({ amountFen: 4000, discountFen: 4000, couponCode: code });
      expect(lost[0]).toMatchObject({ status: 422, body: { error: 'coupon_in_use' } });
      const row = await p.coupon(code);
      expect(row).toMatchObject({ state: 'held', held_order: won[0]!.body.orderId });
      // Nothing double-counted: one order carries the coupon and its discount.
      const withIt = await p.bridge.store.db.selectFrom('orders').select(['order_id', 'discount_fen']).where('site', '=', p.id).where('coupon_code', '=', code).execute();
      expect(withIt.map((o) => [o.order_id, Number(o.discount_fen)])).toEqual([[won[0]!.body.orderId, 4000]]);
    }
    // The refused order was not written at all (its places went back with it): one order per round.
    const orders = await p.bridge.store.db.selectFrom('orders').select('order_id').where('site', '=', p.id).execute();
    expect(orders).toHaveLength(6);
  });

  it('paid: redeemed on its channel with the discount; used again: coupon_used; refunded: the coupon comes back', async () => {
    const p = await park();
    const code = await p.issue('half', owner(1));
    const o = await p.order(visit(1, DAY, { couponCode: code.toLowerCase() })); // typed by hand: case does not matter
    expect(o).toMatchObject({ status: 201, body: { amountFen: 4000, discountFen: 4000, couponCode: code } });
    expect((await p.write(o.body.orderId, 'pay', { paymentRef: 'wx-1', amountFen: 4000 })).status).toBe(200);
    expect(await p.coupon(code)).toMatchObject({ state: 'redeemed', redeemed_via: 'wechat', redeemed_ref: o.body.orderId, held_order: o.body.orderId });
    expect(Number((await p.coupon(code)).discount_fen)).toBe(4000);
    const again = await p.order(visit(1, NEXT_DAY, { couponCode: code }), DEMO_API_KEYS.kiosk);
    expect(again).toMatchObject({ status: 422, body: { error: 'coupon_used' } });
    expect((await p.write(o.body.orderId, 'refund', { reason: 'illness' })).status).toBe(200);
    expect(await p.coupon(code)).toMatchObject({ state: 'issued', redeemed_at: null, redeemed_ref: null, discount_fen: null });
    expect((await p.order(visit(1, NEXT_DAY, { couponCode: code }), DEMO_API_KEYS.kiosk)).body).toMatchObject({ amountFen: 4000, couponCode: code });
  });

  it('an order that expires unpaid gives its coupon back', async () => {
    const p = await park();
    const code = await p.issue('half', owner(2));
    const o = await p.order(visit(2, DAY, { couponCode: code }), DEMO_API_KEYS.kiosk);
    expect(o.status).toBe(201);
    expect((await p.order(visit(2, NEXT_DAY, { couponCode: code }))).body.error).toBe('coupon_in_use');
    expect(await p.bridge.sales.expireHolds(-1)).toBe(1);
    expect(await p.coupon(code)).toMatchObject({ state: 'issued', held_order: null });
    const again = await p.order(visit(2, NEXT_DAY, { couponCode: code }));
    expect(again).toMatchObject({ status: 201, body: { couponCode: code, amountFen: 4000 } });
  });

  it('refuses a coupon with its reason and writes nothing', async () => {
    const p = await park();
    const refused = async (body: Record<string, unknown>, error: string, key?: string) => {
      const before = await p.bridge.store.db.selectFrom('orders').select('order_id').where('site', '=', p.id).execute();
      const r = await p.order(body, key);
      expect(r, JSON.stringify(r.body)).toMatchObject({ status: 422, body: { error } });
      expect(await p.bridge.store.db.selectFrom('orders').select('order_id').where('site', '=', p.id).execute()).toHaveLength(before.length);
    };
    await refused(visit(3, DAY, { couponCode: 'CNOSUCHCOUPON' }), 'coupon_unknown');
    const others = await p.issue('half', owner(4));
    await refused(visit(3, DAY, { couponCode: others }), 'coupon_not_yours');
    // The refusal took nothing: the coupon is still its owner's to use.
    expect(await p.coupon(others)).toMatchObject({ state: 'issued', held_order: null });
    await refused(visit(3, DAY, { couponCode: await p.issue('kiosk-only', owner(3)) }), 'coupon_not_for_channel');
    await refused(visit(3, DAY, { couponCode: await p.issue('half', owner(3), { validFrom: '2027-01-01', validTo: '2027-03-09' }) }), 'coupon_expired');
    await refused(visit(3, DAY, { couponCode: await p.issue('half', owner(3), { validFrom: '2027-03-11', validTo: '2027-03-31' }) }), 'coupon_not_yet_valid');
    await refused(visit(3, DAY, { couponCode: await p.issue('min200', owner(3)) }), 'coupon_min_spend');
    await refused(visit(3, DAY, { couponCode: await p.issue('lunch', owner(3)) }), 'coupon_not_applicable');
    // The night slot already has the park's night discount (30 %): an exclusive coupon does not add to it…
    await refused(visit(3, DAY, { slotId: 'night', couponCode: await p.issue('half', owner(3)) }), 'coupon_not_stackable');
    // …a stackable one is taken off the discounted price.
    expect((await p.order(visit(3, DAY, { slotId: 'night', couponCode: await p.issue('half-stack', owner(3)) }))).body).toMatchObject({ amountFen: 2800, discountFen: 2800 });
    // 100 yuan off an 80-yuan ticket: WeChat Pay cannot take 0 fen (refused on the provider channel)…
    const big = await p.issue('big', owner(5));
    await refused(visit(5, DAY, { couponCode: big }), 'coupon_not_applicable', BOOKING_KEY);
    // …a partner channel collects itself: the order is free, never negative.
    const free = await p.order(visit(5, DAY, { couponCode: big }));
    expect(free.body).toMatchObject({ amountFen: 0, discountFen: 8000 });
    expect((await p.write(free.body.orderId, 'pay', { paymentRef: 'free-1', amountFen: 0 })).status).toBe(200);
    // A bearer coupon (no owner): anyone with the code, once.
    const bearer = await p.issue('half');
    expect((await p.order(visit(6, DAY, { couponCode: bearer }))).status).toBe(201);
  });

  it('at the POS: issued → redeemed in one conditional update; two checkouts at once: one wins', async () => {
    const p = await park();
    const repo = new MarketingRepository(p.bridge.store);
    const redeemer = posRedeemer(repo, new SiteRegistry([p.config]), () => new Date(), silentLog);
    const at = new Date('2027-03-10T04:00:00Z'); // 12:00 in the park
    const sale = (ref: string, idHash: string | null = owner(7)) => ({ idHash, amountFen: 5000, category: 'restaurant', source: 'canteen', ref, at });
    const code = await p.issue('lunch', owner(7));
    const tries = await Promise.allSettled([0, 1, 2].map((i) => p.bridge.store.db.transaction().execute((trx) => redeemer.redeemAtPos(trx, p.id, code, sale(`line-${i}`)))));
    const ok = tries.filter((t) => t.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    expect((ok[0] as PromiseFulfilledResult<{ discountFen: number }>).value).toEqual({ discountFen: 2000 });
    for (const t of tries.filter((t) => t.status === 'rejected')) {
      const err = (t as PromiseRejectedResult).reason as unknown;
      expect(isCloudError(err) && ['coupon_used', 'coupon_in_use'].includes(err.code), String(err)).toBe(true);
    }
    expect(await p.coupon(code)).toMatchObject({ state: 'redeemed', redeemed_via: 'pos:canteen' });
    // With reasons: another visitor's coupon, a shop checkout, a ticket coupon.
    const other = await p.issue('lunch', owner(8));
    await expect(p.bridge.store.db.transaction().execute((trx) => redeemer.redeemAtPos(trx, p.id, other, sale('x')))).rejects.toMatchObject({ code: 'coupon_not_yours' });
    await expect(p.bridge.store.db.transaction().execute((trx) => redeemer.redeemAtPos(trx, p.id, other, { ...sale('y', owner(8)), category: 'shop' }))).rejects.toMatchObject({ code: 'coupon_not_applicable' });
    const ticketCoupon = await p.issue('half', owner(8));
    await expect(p.bridge.store.db.transaction().execute((trx) => redeemer.redeemAtPos(trx, p.id, ticketCoupon, sale('z', owner(8))))).rejects.toMatchObject({ code: 'coupon_not_applicable' });
    // The discount stored is the one answered: 15 % of 33.33 yuan, rounded down; a refusal leaves it issued.
    const pct = await p.issue('shop15', owner(8));
    await expect(p.bridge.store.db.transaction().execute((trx) => redeemer.redeemAtPos(trx, p.id, pct, { ...sale('p0', owner(8)), amountFen: 999, category: 'shop' }))).rejects.toMatchObject({ code: 'coupon_min_spend' });
    expect(await p.coupon(pct)).toMatchObject({ state: 'issued', redeemed_ref: null, discount_fen: null });
    expect(await p.bridge.store.db.transaction().execute((trx) => redeemer.redeemAtPos(trx, p.id, pct, { ...sale('p1', owner(8)), amountFen: 3333, category: 'shop' }))).toEqual({ discountFen: 499 });
    expect(Number((await p.coupon(pct)).discount_fen)).toBe(499);
    expect(Number((await p.coupon(code)).discount_fen)).toBe(2000);
    // A coupon held by an unpaid order is not redeemed at the POS meanwhile.
    expect(await p.coupon(other)).toMatchObject({ state: 'issued' });
  });
});
