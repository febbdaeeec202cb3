// The booking page's coupon code and marketing consent (#19): the two fields reach sales
// through the booking routes, a refused coupon comes back with its reason in the visitor's
// language, a good one takes its money off, and the consent answer is recorded on the order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarketingConfigSchema } from '../../src/core/site-config/marketing.js';
import { refusalText } from '../../src/modules/booking/page-text.js';
import { COUPON_REFUSALS } from '../../src/core/http/refusals.js';
import { DAY, idem, newPhone, startBookPark, STAFF, type BookPark } from './harness.js';

const marketing = MarketingConfigSchema.parse({
  coupons: [
    { id: 'ten-off', kind: 'fixed', amountFen: 1000, appliesTo: 'ticket', validDays: 60 },
    { id: 'meal', kind: 'fixed', amountFen: 1000, appliesTo: 'pos', validDays: 60 },
  ],
});

describe('booking: coupon code and marketing consent', { timeout: 60_000 }, () => {
  let park: BookPark;
  let token: string;
  beforeAll(async () => {
    park = await startBookPark('sqlite', { site: { marketing } });
    token = await park.login(newPhone());
  });
  afterAll(async () => park?.close());

  const issue = async (template: string): Promise<string> => {
    const r = await park.call('POST', `/v1/staff/sites/${park.site}/coupons`, { template }, { authorization: `Bearer ${STAFF}`, 'content-type': 'application/json' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return String(r.body.code);
  };
  const order = (extra: Record<string, unknown>) => park.book('POST', '/orders', { typeId: 'adult', date: DAY, slotId: 's10', visitors: park.visitors(1), lang: 'zh-CN', ...extra }, { token, headers: idem() });
  const column = async (orderId: string) => park.bridge.store.db.selectFrom('orders').select(['marketing_consent', 'coupon_code', 'discount_fen', 'amount_fen']).where('order_id', '=', orderId).executeTakeFirstOrThrow();

  it('records the consent answer: ticked 1, unticked 0, not asked null', async () => {
    const yes = await order({ marketingConsent: true });
    const no = await order({ marketingConsent: false });
    const unasked = await order({});
    for (const r of [yes, no, unasked]) expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect((await column(String(yes.body.orderId))).marketing_consent).toBe(1);
    expect((await column(String(no.body.orderId))).marketing_consent).toBe(0);
    expect((await column(String(unasked.body.orderId))).marketing_consent).toBeNull();
  });

  it('a good coupon takes its money off the order the visitor pays', async () => {
    const code = await issue('ten-off');
    const r = await order({ couponCode: code.toLowerCase(), marketingConsent: true });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.amountFen).toBe(7000);
    const row = await column(String(r.body.orderId));
    expect(row.coupon_code).toBe(code);
    expect(Number(row.discount_fen)).toBe(1000);
    // The same coupon on a second order while the first holds it: refused with the reason, nothing held twice.
    const again = await order({ couponCode: code });
    expect(again.status).toBe(422);
    expect(again.body.error).toBe('coupon_in_use');
  });

  it('a refused coupon answers its reason (422 coupon_*) and the page says it in the visitor\'s language', async () => {
    const unknown = await order({ couponCode: 'NOSUCH99' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toBe('coupon_unknown');
    expect(refusalText('zh-CN', 'coupon_unknown')).toBe('没有找到这张优惠券，请核对券码（区分字母和数字），或删掉券码后再提交。');
    expect(refusalText('en', 'coupon_unknown')).toMatch(/^There is no coupon with that code/);
    // A POS coupon on a ticket order.
    const meal = await order({ couponCode: await issue('meal') });
    expect(meal.status).toBe(422);
    expect(meal.body.error).toBe('coupon_not_applicable');
    expect(refusalText('zh-CN', 'coupon_not_applicable')).toContain('不适用于这种门票');
    // Nothing was held by a refused order: no order row, the places are not taken.
    expect(await park.bridge.store.db.selectFrom('orders').select('order_id').where('coupon_code', '=', 'NOSUCH99').execute()).toEqual([]);
  });

  it('every coupon refusal has its own sentence in both languages; a newer code falls back to a plain one', () => {
    for (const code of COUPON_REFUSALS) {
      for (const lang of ['zh-CN', 'en'] as const) {
        const text = refusalText(lang, code);
        expect(text, `${lang} ${code}`).not.toBe(refusalText(lang, 'internal'));
        expect(text.length).toBeGreaterThan(10);
      }
    }
    expect(refusalText('en', 'coupon_from_the_future')).toMatch(/^This coupon cannot be used on this order/);
    expect(refusalText('zh-CN', 'coupon_from_the_future')).toMatch(/^这张优惠券不能用于这笔订单/);
  });

  it('the two fields are checked: a code too short or consent that is not a yes/no is 400 with the field named', async () => {
    const short = await order({ couponCode: 'AB' });
    expect(short.status).toBe(400);
    expect(JSON.stringify(short.body)).toContain('couponCode');
    const consent = await order({ marketingConsent: 'yes' });
    expect(consent.status).toBe(400);
    expect(JSON.stringify(consent.body)).toContain('marketingConsent');
  });
});
