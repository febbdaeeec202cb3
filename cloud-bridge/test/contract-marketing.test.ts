// The marketing module's routes (coupons, membership) against the OpenAPI document
// (contract-kit.ts): each answers a success and a refusal, every body as documented.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashIdNumber } from '@stile/config';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import type { CloudBridge } from '../src/bridge.js';
import { MarketingConfigSchema } from '../src/core/site-config/marketing.js';
import { ContractClient, MODULE_CONTRACTS } from './contract-kit.js';
import { idNumber, testBridge, testDb, testSite, type TestDb } from './helpers.js';

const STAFF = 'staff-token-for-marketing-contract';
const ID_KEY = 'id-hash-key-for-tests-0123456789';
const DAY = '2027-03-10';

describe('marketing API contract', () => {
  let db: TestDb;
  let bridge: CloudBridge;
  let client: ContractClient;
  let site: string;
  const visitor = hashIdNumber(ID_KEY, idNumber(1));

  beforeAll(async () => {
    db = await testDb('sqlite');
    const s = testSite(['g1']);
    site = s.config.id;
    const marketing = MarketingConfigSchema.parse({
      coupons: [{ id: 'half', kind: 'percent', percentOff: 50, appliesTo: 'ticket', validDays: 365 }],
      membership: { afterVisits: 3 },
    });
    bridge = await testBridge(db, [{ ...s.config, sales: { catalogue: demoCatalogue(), capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY, staffTokenSha256: createHash('sha256').update(STAFF).digest('hex') }, marketing }], { demoMode: true });
    client = await ContractClient.connect(`http://127.0.0.1:${bridge.httpPort}`);
  });
  afterAll(async () => {
    await bridge?.close();
    await db?.cleanup();
  });

  const COUPONS = '/v1/staff/sites/{site}/coupons';
  const VOID = '/v1/staff/sites/{site}/coupons/{code}/void';
  const at = () => `/v1/staff/sites/${site}/coupons`;

  it('coupons: issue by hand, list with filters, void; refusals with their reasons', async () => {
    const issued = await client.call('POST', COUPONS, at(), { key: STAFF, body: { template: 'half', visitor, staff: 'li' } });
    expect(issued).toMatchObject({ status: 200, body: { rule: 'manual', template: 'half', visitor, kind: 'percent', percentOff: 50, state: 'issued' } });
    const code = issued.body.code as string;
    const bearer = await client.call('POST', COUPONS, at(), { key: STAFF, body: { template: 'half', validFrom: '2027-03-01', validTo: '2027-03-31' } });
    expect(bearer.body).toMatchObject({ visitor: null, validFrom: '2027-03-01', validTo: '2027-03-31' });
    expect((await client.call('POST', COUPONS, at(), { key: STAFF, body: { template: 'nope' } })).body.error).toBe('invalid_request');
    expect((await client.call('POST', COUPONS, at(), { key: STAFF, body: { template: 'half', visitor: 'not-a-hash' } })).status).toBe(400);
    expect((await client.call('POST', COUPONS, at(), { key: 'wrong', body: { template: 'half' } })).status).toBe(401);

    // Used on an order (the order API's couponCode), it shows as held by that order.
    const order = await client.call('POST', '/v1/channel/orders', '/v1/channel/orders', { key: DEMO_API_KEYS.wechat, idem: true, body: { typeId: 'adult', date: DAY, slotId: 's10', contactPhone: '13800138000', couponCode: code, visitors: [{ name: '游客1', idNumber: idNumber(1) }] } });
    expect(order.body).toMatchObject({ amountFen: 4000, discountFen: 4000, couponCode: code });
    const refused = await client.call('POST', '/v1/channel/orders', '/v1/channel/orders', { key: DEMO_API_KEYS.kiosk, idem: true, body: { typeId: 'adult', date: '2027-03-11', slotId: 's10', contactPhone: '13800138000', couponCode: code, visitors: [{ name: '游客1', idNumber: idNumber(1) }] } });
    expect(refused).toMatchObject({ status: 422, body: { error: 'coupon_in_use' } });

    const list = await client.call('GET', COUPONS, `${at()}?visitor=${visitor}&state=held`, { key: STAFF });
    expect(list.body.coupons).toHaveLength(1);
    expect(list.body.coupons[0]).toMatchObject({ code, heldBy: order.body.orderId });
    expect(list.body.counts).toEqual(expect.arrayContaining([{ state: 'held', coupons: 1, discountFen: 0 }, { state: 'issued', coupons: 1, discountFen: 0 }]));
    expect((await client.call('GET', COUPONS, `${at()}?rule=manual&from=2020-01-01&to=2099-12-31&limit=5`, { key: STAFF })).body.coupons).toHaveLength(2);
    expect((await client.call('GET', COUPONS, `${at()}?from=2027-02-30`, { key: STAFF })).status).toBe(400);
    expect((await client.call('GET', COUPONS, at(), { key: 'wrong' })).status).toBe(401);

    const voidAt = (c: string) => `${at()}/${c}/void`;
    expect((await client.call('POST', VOID, voidAt(code), { key: STAFF })).body.error).toBe('coupon_in_use');
    expect((await client.call('POST', VOID, voidAt(bearer.body.code as string), { key: STAFF })).body).toMatchObject({ state: 'void' });
    expect((await client.call('POST', VOID, voidAt(bearer.body.code as string), { key: STAFF })).body.error).toBe('coupon_void');
    expect((await client.call('POST', VOID, voidAt('CNOSUCHCOUPON'), { key: STAFF })).body.error).toBe('coupon_unknown');
    expect((await client.call('POST', VOID, voidAt(code), { key: 'wrong' })).status).toBe(401);
    // Both staff actions are in the audit log (who, what, which coupon).
    const audit = await bridge.store.db.selectFrom('audit_log').select(['actor', 'action', 'target']).where('site', '=', site).orderBy('at').execute();
    expect(audit).toEqual(expect.arrayContaining([{ actor: 'li', action: 'coupon_issue', target: `coupon:${code}` }, { actor: 'staff', action: 'coupon_void', target: `coupon:${bearer.body.code}` }]));
    // A voided coupon is refused on an order with its reason.
    const late = await client.call('POST', '/v1/channel/orders', '/v1/channel/orders', { key: DEMO_API_KEYS.wechat, idem: true, body: { typeId: 'adult', date: DAY, slotId: 's10', contactPhone: '13800138000', couponCode: bearer.body.code, visitors: [{ name: '游客2', idNumber: idNumber(2) }] } });
    expect(late.body.error).toBe('coupon_void');
  });

  it('membership: counts; refused without the staff token', async () => {
    const path = '/v1/staff/sites/{site}/membership';
    expect((await client.call('GET', path, `/v1/staff/sites/${site}/membership`, { key: STAFF })).body).toMatchObject({ site, afterVisits: 3, members: 0, newLast30Days: 0 });
    expect((await client.call('GET', path, `/v1/staff/sites/${site}/membership`, { key: 'wrong' })).status).toBe(401);
  });

  it('every marketing route answered a success and a refusal', () => {
    client.expectEveryRouteCalled((p) => MODULE_CONTRACTS.marketing!.test(p));
  });
});
