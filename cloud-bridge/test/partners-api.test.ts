/**
 * Combos end to end (#19 point 4): the split on payment (both payment modes), its reversal on
 * refund, a refund refused after the partner redeemed its part, the partner API (own lines
 * only, redemption), statements per day and month in JSON, CSV and HTML, and the staff
 * reconciliation with the payments to the fen. SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, idNumber, waitFor } from './helpers.js';
import { DAY, KEYS, STAFF, startComboPark, type ComboPark } from './partners-harness.js';

const sum = (rows: { amount: number }[]) => rows.reduce((a, r) => a + r.amount, 0);

describe.each(DIALECTS)('combos and partners on %s', (dialect) => {
  let p: ComboPark;
  beforeAll(async () => {
    p = await startComboPark(dialect);
  });
  afterAll(async () => {
    await p?.close();
  });

  it('a paid combo gets a line per partner and the park, adding up to the amount paid; a second pay counts nothing twice', async () => {
    const o = await p.order('hotel', 4); // 2 tickets of 2 persons at 46000
    expect(o.amountFen).toBe(92000);
    const ref = 'wxpay-combo-1';
    await p.payByChannel(o, ref);
    expect(await p.ledger(o.orderId)).toEqual([
      { partner: 'lakeside-hotel', part: 'hotel-night', kind: 'sale', units: 2, amount: 60000 },
      { partner: 'park', part: 'park', kind: 'sale', units: 2, amount: 32000 },
    ]);
    // The channel confirms the same payment again (a retry under a new key): answered, nothing new.
    const again = await p.call('POST', `/v1/channel/orders/${o.orderId}/pay`, { idem: true, body: { paymentRef: ref, amountFen: 92000 } });
    expect(again.status).toBe(200);
    expect(sum(await p.ledger(o.orderId))).toBe(92000);
    expect(await p.ledger(o.orderId)).toHaveLength(2);
    // Rebooking moves the visit, not the money.
    const moved = await p.call('POST', `/v1/channel/orders/${o.orderId}/rebook`, { idem: true, body: { date: '2027-03-11', slotId: 's12' } });
    expect(moved.status).toBe(200);
    expect(sum(await p.ledger(o.orderId))).toBe(92000);
    expect(await p.ledger(o.orderId)).toHaveLength(2);
  });

  it('a provider payment notified twice is split once; its refund reverses every line', async () => {
    const o = await p.order('farmstay', 3, KEYS.web); // 3 × 12800, 35 % = 4480 fen per ticket to the farm
    const outTradeNo = await p.payByProvider(o.orderId);
    const lines = await p.ledger(o.orderId);
    expect(lines).toEqual([
      { partner: 'green-farm', part: 'farm-lunch', kind: 'sale', units: 3, amount: 13440 },
      { partner: 'park', part: 'park', kind: 'sale', units: 3, amount: 24960 },
    ]);
    // Alipay sends the notification once more: answered success, still one split.
    await fetch(`${p.sim.baseUrl}/sim/trades/alipay/${outTradeNo}/renotify`, { method: 'POST' });
    const delivered = () => p.relay.forwarded.filter((f) => decodeURIComponent(f.delivery.body).includes(outTradeNo) && f.body === 'success').length;
    await waitFor(() => (delivered() >= 2 ? true : undefined), 'the second notification answered');
    expect(await p.ledger(o.orderId)).toEqual(lines);
    const refunded = await p.refund(o.orderId, KEYS.web);
    expect(refunded.status).toBe(200);
    const after = await p.ledger(o.orderId);
    expect(after.filter((l) => l.kind === 'reversal')).toEqual([
      { partner: 'green-farm', part: 'farm-lunch', kind: 'reversal', units: -3, amount: -13440 },
      { partner: 'park', part: 'park', kind: 'reversal', units: -3, amount: -24960 },
    ]);
    expect(sum(after)).toBe(0);
    // The provider's refund goes through; the reconciliation then finds it in the refund bill.
    await waitFor(async () => ((await p.call('GET', `/v1/channel/orders/${o.orderId}`, { key: KEYS.web })).body.refundState === 'succeeded' ? true : undefined), 'the refund confirmed', 8000);
  });

  it('a refund after the partner redeemed its part is refused with combo_part_redeemed, and nothing is reversed', async () => {
    const o = await p.order('hotel', 2);
    const paid = await p.payByChannel(o);
    const code = paid.tickets[0].code as string;
    const redeem = (body: Record<string, unknown>, key = KEYS.hotel) => p.call('POST', '/v1/partner/redemptions', { key, body });
    const first = await redeem({ ticketCode: code, part: 'hotel-night', by: 'desk-3' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ orderId: o.orderId, partner: 'lakeside-hotel', part: 'hotel-night', created: true, visitDate: DAY, persons: 2, units: 1 });
    expect(first.body.guest).toMatch(/^张\*+$/);
    // The desk scans again: the same redemption, not a second one.
    const second = await redeem({ orderId: o.orderId, part: 'hotel-night' });
    expect(second.body).toMatchObject({ created: false, redeemedAt: first.body.redeemedAt });
    const refused = await p.refund(o.orderId);
    expect(refused.body).toMatchObject({ error: "combo_part_redeemed" });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('combo_part_redeemed');
    expect(refused.body.message).toContain('lakeside-hotel redeemed "hotel-night"');
    expect((await p.call('GET', `/v1/channel/orders/${o.orderId}`)).body.status).toBe('paid');
    expect((await p.ledger(o.orderId)).map((l) => l.kind)).toEqual(['sale', 'sale']);
  });

  it('a refund and a redemption at the same moment: exactly one wins, and the ledger says which', async () => {
    for (let i = 0; i < 3; i++) {
      const o = await p.order('hotel', 2);
      await p.payByChannel(o);
      const [refund, redeem] = await Promise.all([p.refund(o.orderId), p.call('POST', '/v1/partner/redemptions', { key: KEYS.hotel, body: { orderId: o.orderId, part: 'hotel-night' } })]);
      expect([refund.status, redeem.status].sort()).toEqual([200, 409]);
      const lines = await p.ledger(o.orderId);
      if (refund.status === 200) {
        expect(redeem.body.error).toBe('part_not_redeemable');
        expect(sum(lines)).toBe(0);
      } else {
        expect(refund.body.error).toBe('combo_part_redeemed');
        expect(lines.map((l) => l.kind)).toEqual(['sale', 'sale']);
      }
    }
  });

  it("refuses another partner's part, a refunded or unpaid order, an unknown part or order, and an unknown key, each with its reason", async () => {
    const o = await p.order('hotel', 2);
    await p.payByChannel(o);
    const redeem = (body: Record<string, unknown>, key: string) => p.call('POST', '/v1/partner/redemptions', { key, body });
    expect((await redeem({ orderId: o.orderId, part: 'hotel-night' }, KEYS.farm)).body.error).toBe('not_your_part');
    expect((await redeem({ orderId: o.orderId, part: 'farm-lunch' }, KEYS.farm)).body.error).toBe('unknown_part');
    expect((await redeem({ orderId: 'Onope', part: 'hotel-night' }, KEYS.hotel)).status).toBe(404);
    expect((await redeem({ orderId: o.orderId, part: 'hotel-night' }, 'not-a-partner-key')).status).toBe(401);
    expect((await redeem({ part: 'hotel-night' }, KEYS.hotel)).body.error).toBe('invalid_request');
    expect((await p.refund(o.orderId)).status).toBe(200);
    const late = await redeem({ orderId: o.orderId, part: 'hotel-night' }, KEYS.hotel);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ error: 'part_not_redeemable' });
    expect(late.body.message).toContain('was refunded');
    const unpaid = await p.order('hotel', 2);
    expect((await redeem({ orderId: unpaid.orderId, part: 'hotel-night' }, KEYS.hotel)).body.message).toContain('not paid yet');
    const notCombo = await p.order('adult', 1);
    expect((await redeem({ orderId: notCombo.orderId, part: 'hotel-night' }, KEYS.hotel)).body.message).toContain('is not a combo');
  });

  it('a partner key sees only its own lines, with the masked guest name and nothing else personal', async () => {
    const farmOrder = await p.order('farmstay', 1);
    await p.payByChannel(farmOrder);
    const hotel = await p.call('GET', `/v1/partner/lines?from=${p.today}&to=${p.today}`, { key: KEYS.hotel });
    expect(hotel.status).toBe(200);
    expect(hotel.body.partner).toBe('lakeside-hotel');
    expect(hotel.body.lines.length).toBeGreaterThan(0);
    expect(new Set(hotel.body.lines.map((l: { part: string }) => l.part))).toEqual(new Set(['hotel-night']));
    const farm = await p.call('GET', `/v1/partner/lines?from=${p.today}&to=${p.today}`, { key: KEYS.farm });
    expect(new Set(farm.body.lines.map((l: { part: string }) => l.part))).toEqual(new Set(['farm-lunch']));
    expect(farm.body.lines.some((l: { orderId: string }) => l.orderId === farmOrder.orderId)).toBe(true);
    expect(hotel.body.lines.some((l: { orderId: string }) => l.orderId === farmOrder.orderId)).toBe(false);
    for (const text of [hotel.text, farm.text]) {
      expect(text).not.toContain('13800138000');
      expect(text).not.toContain(idNumber(5000));
      expect(text).not.toMatch(/张三\d/);
      expect(text).not.toContain('"park"');
    }
    expect((await p.call('GET', '/v1/partner/lines?from=2027-03-10&to=2027-02-30', { key: KEYS.hotel })).body.error).toBe('invalid_date');
    expect((await p.call('GET', '/v1/partner/lines?from=2027-03-10&to=2027-03-01', { key: KEYS.hotel })).body.error).toBe('invalid_request');
    expect((await p.call('GET', `/v1/partner/lines?from=${p.today}&to=${p.today}`, { key: KEYS.wechat })).status).toBe(401);
  });

  it('day and month statements in JSON, CSV and HTML reconcile to the fen with the payments', async () => {
    const month = p.today.slice(0, 7);
    const statement = async (key: string, period: string, format = 'json') => p.call('GET', `/v1/partner/statements/${period}?format=${format}`, { key });
    const hotelDay = (await statement(KEYS.hotel, p.today)).body;
    const farmDay = (await statement(KEYS.farm, p.today)).body;
    const hotelMonth = (await statement(KEYS.hotel, month)).body;
    expect(hotelDay).toMatchObject({ partner: { id: 'lakeside-hotel' }, period: p.today, from: p.today, to: p.today, currency: 'CNY' });
    expect(hotelMonth.from).toBe(`${month}-01`);
    expect(hotelMonth.netFen).toBe(hotelDay.netFen); // everything happened today
    expect(hotelDay.netFen).toBe(hotelDay.saleFen + hotelDay.reversalFen);
    // Staff see the same statement as the partner.
    const staff = await p.call('GET', `/v1/staff/sites/${p.site}/partners/lakeside-hotel/statements/${p.today}`, { key: STAFF });
    expect(staff.body).toEqual(hotelDay);
    // The refunded farm order nets to 0 on the farm's statement.
    const byOrder = new Map<string, number>();
    for (const l of farmDay.lines as { orderId: string; amountFen: number; kind: string }[]) byOrder.set(l.orderId, (byOrder.get(l.orderId) ?? 0) + l.amountFen);
    expect([...byOrder.values()].filter((v) => v === 0).length).toBeGreaterThanOrEqual(1);

    const rec = await p.call('GET', `/v1/staff/sites/${p.site}/partners/reconciliation/${p.today}`, { key: STAFF });
    expect(rec.status).toBe(200);
    expect(rec.body.differences).toEqual([]);
    expect(rec.body).toMatchObject({ reconciled: true });
    expect(rec.body.reconciled).toBe(true);
    expect(rec.body.saleLedgerFen).toBe(rec.body.paidFen);
    expect(rec.body.reversalLedgerFen).toBe(-rec.body.refundFen);
    // The provider-mode farm order: the payment bill and the provider refund say the same.
    expect(rec.body.billFen).toBe(38400);
    expect(rec.body.refundBillFen).toBe(38400);
    // Partners' statements + the park's line = what was paid minus what was refunded, to the fen.
    const park = rec.body.byPartner.find((b: { partner: string }) => b.partner === 'park').netFen as number;
    expect(hotelDay.netFen + farmDay.netFen + park).toBe(rec.body.paidFen - rec.body.refundFen);
    expect((await p.call('GET', `/v1/staff/sites/${p.site}/partners/reconciliation/${month}`, { key: STAFF })).body).toMatchObject({ reconciled: true, paidFen: rec.body.paidFen });

    const csv = await statement(KEYS.hotel, p.today, 'csv');
    expect(csv.type).toBe('text/csv');
    // (fetch's text() drops the BOM; statementToCsv's unit test checks it.)
    const rows = csv.text.replace(/^\uFEFF/, '').trim().split('\r\n');
    const net = rows.find((r) => r.startsWith('net,'))!.split(',');
    expect(Number(net[6])).toBe(hotelDay.netFen);
    const csvLines = rows.filter((r) => /^\d{4}-\d{2}-\d{2},/.test(r));
    expect(csvLines.reduce((a, r) => a + Number(r.split(',')[6]), 0)).toBe(hotelDay.netFen);
    const monthCsv = await statement(KEYS.farm, month, 'csv');
    expect(Number(monthCsv.text.trim().split('\r\n').find((r) => r.startsWith('net,'))!.split(',')[6])).toBe(farmDay.netFen);
    const html = await statement(KEYS.hotel, month, 'html');
    expect(html.type).toBe('text/html');
    expect(html.text).toContain('湖畔酒店 Lakeside Hotel');
    expect(html.text).toContain(`net ${(hotelDay.netFen / 100).toFixed(2)}`);
    const recCsv = await p.call('GET', `/v1/staff/sites/${p.site}/partners/reconciliation/${p.today}?format=csv`, { key: STAFF });
    expect(recCsv.text).toContain('reconciled,yes');

    expect((await statement(KEYS.hotel, '2027-13')).body.error).toBe('invalid_period');
    expect((await p.call('GET', `/v1/staff/sites/${p.site}/partners/nobody/statements/${p.today}`, { key: STAFF })).body.error).toBe('unknown_partner');
    expect((await p.call('GET', `/v1/staff/sites/${p.site}/partners/reconciliation/${p.today}`, { key: KEYS.hotel })).status).toBe(401);
  });

  it('the reconciliation lists an order whose split lines were tampered with, by its id', async () => {
    const o = await p.order('hotel', 2);
    await p.payByChannel(o);
    await p.bridge.store.db.updateTable('split_ledger').set({ amount_fen: 15999 }).where('order_id', '=', o.orderId).where('partner', '=', 'park').execute();
    const rec = (await p.call('GET', `/v1/staff/sites/${p.site}/partners/reconciliation/${p.today}`, { key: STAFF })).body;
    expect(rec.reconciled).toBe(false);
    expect(rec.differences).toEqual([{ orderId: o.orderId, kind: 'sale', orderFen: 46000, ledgerFen: 45999, billFen: null, problem: 'paid 46000 fen, the split lines add up to 45999 fen' }]);
    await p.bridge.store.db.updateTable('split_ledger').set({ amount_fen: 16000 }).where('order_id', '=', o.orderId).where('partner', '=', 'park').execute();
  });
});
