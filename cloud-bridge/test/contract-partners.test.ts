// The partners module's API contract (#19 point 4): every route under /v1/partner/ and
// /v1/staff/sites/{site}/partners is called for real, a success and a refusal each, and every
// answer is validated against the OpenAPI document (contract-kit.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractClient, MODULE_CONTRACTS } from './contract-kit.js';
import { KEYS, STAFF, startComboPark, type ComboPark } from './partners-harness.js';

describe('partners API contract', () => {
  let p: ComboPark;
  let client: ContractClient;
  beforeAll(async () => {
    p = await startComboPark('sqlite');
    client = await ContractClient.connect(p.base);
  });
  afterAll(async () => {
    await p?.close();
  });

  it('answers every partners route as documented, a success and a refusal each', async () => {
    const o = await p.order('hotel', 2);
    await p.payByChannel(o);
    const day = p.today;
    const staffBase = `/v1/staff/sites/${p.site}/partners`;

    const lines = '/v1/partner/lines';
    expect((await client.call('GET', lines, `${lines}?from=${day}&to=${day}`, { key: KEYS.hotel })).body.lines).toHaveLength(1);
    expect((await client.call('GET', lines, `${lines}?from=${day}&to=${day}`, { key: 'nope' })).status).toBe(401);
    expect((await client.call('GET', lines, `${lines}?from=${day}&to=2027-02-30`, { key: KEYS.hotel })).body.error).toBe('invalid_date');
    expect((await client.call('GET', lines, `${lines}?from=2027-03-10&to=2027-03-01`, { key: KEYS.hotel })).body.error).toBe('invalid_request');

    const redeem = '/v1/partner/redemptions';
    expect((await client.call('POST', redeem, redeem, { key: KEYS.hotel, body: { orderId: o.orderId, part: 'hotel-night' } })).body.created).toBe(true);
    expect((await client.call('POST', redeem, redeem, { key: KEYS.farm, body: { orderId: o.orderId, part: 'hotel-night' } })).status).toBe(403);
    expect((await client.call('POST', redeem, redeem, { key: KEYS.hotel, body: { orderId: 'Onope', part: 'hotel-night' } })).status).toBe(404);
    expect((await client.call('POST', redeem, redeem, { key: KEYS.hotel, body: { orderId: o.orderId, part: 'farm-lunch' } })).status).toBe(422);
    expect((await client.call('POST', redeem, redeem, { key: KEYS.hotel, body: { part: 'hotel-night' } })).status).toBe(400);
    const unpaid = await p.order('hotel', 2);
    expect((await client.call('POST', redeem, redeem, { key: KEYS.hotel, body: { orderId: unpaid.orderId, part: 'hotel-night' } })).status).toBe(409);

    const statement = '/v1/partner/statements/{period}';
    for (const format of ['json', 'csv', 'html']) expect((await client.call('GET', statement, `/v1/partner/statements/${day.slice(0, 7)}?format=${format}`, { key: KEYS.hotel })).status).toBe(200);
    expect((await client.call('GET', statement, `/v1/partner/statements/${day}`, { key: KEYS.hotel })).body.netFen).toBe(30000);
    expect((await client.call('GET', statement, '/v1/partner/statements/2027-13', { key: KEYS.hotel })).body.error).toBe('invalid_period');
    expect((await client.call('GET', statement, `/v1/partner/statements/${day}`, { key: STAFF })).status).toBe(401);

    const staffStatement = '/v1/staff/sites/{site}/partners/{partner}/statements/{period}';
    for (const format of ['json', 'csv', 'html']) expect((await client.call('GET', staffStatement, `${staffBase}/lakeside-hotel/statements/${day}?format=${format}`, { key: STAFF })).status).toBe(200);
    expect((await client.call('GET', staffStatement, `${staffBase}/nobody/statements/${day}`, { key: STAFF })).status).toBe(404);
    expect((await client.call('GET', staffStatement, `${staffBase}/lakeside-hotel/statements/${day}`, { key: KEYS.hotel })).status).toBe(401);
    expect((await client.call('GET', staffStatement, `${staffBase}/lakeside-hotel/statements/march`, { key: STAFF })).status).toBe(400);

    const rec = '/v1/staff/sites/{site}/partners/reconciliation/{period}';
    expect((await client.call('GET', rec, `${staffBase}/reconciliation/${day}`, { key: STAFF })).body.reconciled).toBe(true);
    expect((await client.call('GET', rec, `${staffBase}/reconciliation/${day}?format=csv`, { key: STAFF })).status).toBe(200);
    expect((await client.call('GET', rec, `${staffBase}/reconciliation/${day}`)).status).toBe(401);
    expect((await client.call('GET', rec, `${staffBase}/reconciliation/${day}?format=xml`, { key: STAFF })).status).toBe(400);

    // The refund the redemption blocks answers as the channel route documents it.
    const refund = '/v1/channel/orders/{orderId}/refund';
    const refused = await client.call('POST', refund, `/v1/channel/orders/${o.orderId}/refund`, { key: KEYS.wechat, idem: true, body: { reason: 'weather' } });
    expect(refused).toMatchObject({ status: 409, body: { error: 'combo_part_redeemed' } });

    client.expectEveryRouteCalled((path) => MODULE_CONTRACTS.partners!.test(path));
  });
});
