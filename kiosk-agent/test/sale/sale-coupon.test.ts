// A coupon at the kiosk (#19): typed on the review screen or scanned (its QR holds the code),
// sent with the order; the cloud takes its money off (the visitor pays less, the journal says
// so) or refuses it with the reason, which the screen shows in the visitor's language.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { couponRefusalText } from '../../src/sale/flow-choose.js';
import { saleText } from '../../src/sale/text.js';
import { couponCodeOf } from '../../src/sale/tx.js';
import { HttpKioskCloud } from '../../src/daemon/cloud.js';
import { ScreenInputSchema } from '../../src/screen/input.js';
import type { CloudBridge } from '../../../cloud-bridge/src/bridge.js';
import { parseCatalogue, sha256Hex } from '../../../cloud-bridge/src/core/catalogue.js';
import { MarketingConfigSchema } from '../../../cloud-bridge/src/core/site-config/marketing.js';
import { testBridge, testDb, testSite, type TestDb } from '../../../cloud-bridge/test/helpers.js';
import { Driver, idNumber, toReview } from './helpers.js';

describe('kiosk coupon: the sale machine', () => {
  it('a coupon code is letters and digits, 4 to 32; a payment code (16–24 digits) never is', () => {
    expect(couponCodeOf(' c7k2-m9pq ')).toBe('C7K2M9PQ');
    expect(couponCodeOf('CABCDEFGHJKMN')).toBe('CABCDEFGHJKMN');
    expect(couponCodeOf('134567890123456789')).toBeUndefined(); // WeChat payment code
    expect(couponCodeOf('2845678901234567')).toBeUndefined(); // Alipay payment code
    expect(couponCodeOf('AB')).toBeUndefined();
    expect(couponCodeOf('ST1:abcdefgh')).toBeUndefined(); // a ticket, not a coupon
  });

  it('entered on review, it goes with the order; the cloud\'s lower amount is what the visitor pays', () => {
    const d = toReview(new Driver());
    d.send({ kind: 'coupon_entered', code: 'cten-0001' });
    expect(d.phase).toBe('review');
    expect(saleText('zh-CN', d.state.notice!.key, d.state.notice!.vars)).toBe('已使用优惠券 CTEN0001，下单时抵扣');
    d.send({ kind: 'choose_method', method: 'cash' });
    expect(d.lastOf('place_order')).toMatchObject({ totalFen: 8000, couponCode: 'CTEN0001' });
    d.send({ kind: 'order_placed', orderId: 'o1', amountFen: 7000 });
    expect(d.phase).toBe('cash');
    expect(d.journal.find((e) => e.kind === 'order_placed')).toMatchObject({ totalFen: 7000 });
    expect(saleText('en', d.state.notice!.key, d.state.notice!.vars)).toContain('¥70');
    // ¥100 in, ¥30 back.
    d.send({ kind: 'note_held', valueFen: 10000 }).send({ kind: 'note_stacked', valueFen: 10000 });
    expect(d.lastOf('pay_out')).toEqual({ kind: 'pay_out', amountFen: 3000, purpose: 'change' });
  });

  it('without a coupon the cloud\'s amount cannot lower the price (only a coupon can)', () => {
    const d = toReview(new Driver());
    d.send({ kind: 'choose_method', method: 'cash' });
    expect(d.lastOf('place_order')!.couponCode).toBeUndefined();
    d.send({ kind: 'order_placed', orderId: 'o1', amountFen: 100 });
    expect(d.journal.find((e) => e.kind === 'order_placed')).toMatchObject({ totalFen: 8000 });
  });

  it('a refused coupon is dropped and the reason shown; the visitor can pay without it', () => {
    const d = toReview(new Driver());
    d.send({ kind: 'coupon_entered', code: 'CUSED0001' });
    d.send({ kind: 'choose_method', method: 'code' });
    d.send({ kind: 'order_refused', reason: 'coupon', code: 'coupon_used' });
    expect(d.phase).toBe('review');
    expect(d.state.sale!.couponCode).toBeUndefined();
    expect(saleText('zh-CN', d.state.notice!.key)).toBe('这张优惠券已被使用，已取消使用；可直接付款');
    expect(saleText('en', d.state.notice!.key)).toBe('This coupon has already been used; it was taken off. You can pay without it');
    // A code this kiosk does not know yet: the plain sentence.
    expect(couponRefusalText('coupon_from_the_future')).toBe('coupon_refused');
    // Offline (cash only), a coupon cannot be redeemed: the kiosk says so rather than charge in silence.
    expect(saleText('en', couponRefusalText('coupon_offline'))).toBe('The network is down, so coupons cannot be used now; it was taken off. You can pay without it');
    d.send({ kind: 'choose_method', method: 'code' });
    expect(d.lastOf('place_order')!.couponCode).toBeUndefined();
    expect(d.phase).toBe('placing');
  });

  it('a bad code is refused on the screen; an empty one takes the coupon off; none after the order is placed', () => {
    const d = toReview(new Driver());
    d.send({ kind: 'coupon_entered', code: '12' });
    expect(d.state.notice!.key).toBe('coupon_invalid');
    d.send({ kind: 'coupon_entered', code: 'CGOOD001' }).send({ kind: 'coupon_entered', code: '' });
    expect(d.state.notice!.key).toBe('coupon_removed');
    expect(d.state.sale!.couponCode).toBeUndefined();
    // The touch screen may send it; the schema bounds it.
    expect(ScreenInputSchema.safeParse({ kind: 'coupon_entered', code: 'CGOOD001' }).success).toBe(true);
    expect(ScreenInputSchema.safeParse({ kind: 'coupon_entered', code: 'x'.repeat(41) }).success).toBe(false);
  });
});

describe('kiosk coupon: through the channel API of a real cloud', { timeout: 60_000 }, () => {
  const KEY = 'kiosk-coupon-key-0123456789abcdef';
  const STAFF = 'kiosk-coupon-staff-token-0123456789';
  let db: TestDb;
  let bridge: CloudBridge;
  let cloud: HttpKioskCloud;
  let siteId = '';
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
  beforeAll(async () => {
    db = await testDb('sqlite');
    const site = testSite(['g1']);
    siteId = site.config.id;
    const catalogue = parseCatalogue({
      name: { 'zh-CN': '测试景区', en: 'Test Park' },
      ticketTypes: [{ id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000 }],
      channels: [{ id: 'kiosk', kind: 'kiosk', apiKeySha256: sha256Hex(KEY) }],
      refundReasons: [{ code: 'weather', label: { 'zh-CN': '天气原因', en: 'Weather' } }],
    });
    const marketing = MarketingConfigSchema.parse({ coupons: [{ id: 'ten-off', kind: 'fixed', amountFen: 1000, appliesTo: 'ticket', validDays: 30 }] });
    bridge = await testBridge(db, [{ ...site.config, marketing, sales: { catalogue, capacity: { daily: 100, yellow: 0.7, orange: 0.85 }, idHashKey: 'kiosk-coupon-id-hash-key-0123456789abcdef', staffTokenSha256: createHash('sha256').update(STAFF).digest('hex') } }]);
    cloud = new HttpKioskCloud({ url: `http://127.0.0.1:${bridge.httpPort}`, apiKey: KEY, payment: 'partner', contactPhone: '13800138000', kioskId: 'k1', timeoutMs: 5000 });
  });
  afterAll(async () => {
    await bridge?.close();
    await db?.cleanup();
  });

  const order = (saleId: string, seq: number, couponCode?: string) =>
    cloud.placeOrder({ saleId, method: 'cash', typeId: 'adult', date: today, count: 1, totalFen: 8000, visitors: [{ name: '张三', idNumber: idNumber(seq) }], ...(couponCode ? { couponCode } : {}) });

  it('an unknown coupon comes back as the cloud\'s reason (coupon_unknown), shown as such', async () => {
    const r = await order('s-unknown', 301, 'CNOSUCH99');
    expect(r).toEqual({ ok: false, reason: 'coupon', code: 'coupon_unknown' });
    expect(saleText('zh-CN', couponRefusalText(r.ok ? undefined : r.code))).toBe('没有找到这张优惠券，已取消使用；请核对券码或直接付款');
  });

  it('a real coupon: the order costs ¥70, the cash payment of ¥70 issues the ticket, and the coupon is used once', async () => {
    const issued = await fetch(`http://127.0.0.1:${bridge.httpPort}/v1/staff/sites/${siteId}/coupons`, { method: 'POST', headers: { authorization: `Bearer ${STAFF}`, 'content-type': 'application/json' }, body: JSON.stringify({ template: 'ten-off' }) });
    expect(issued.status).toBe(200);
    const code = String(((await issued.json()) as { code: string }).code);
    const r = await order('s-good', 302, code);
    expect(r).toMatchObject({ ok: true, amountFen: 7000 });
    const paid = await cloud.recordSale({ saleId: 's-good', orderId: (r as { orderId: string }).orderId, paidBy: 'cash', amountFen: 7000 });
    expect(paid.codes).toHaveLength(1);
    // The same coupon again: used.
    expect(await order('s-again', 303, code)).toEqual({ ok: false, reason: 'coupon', code: 'coupon_used' });
  });
});
