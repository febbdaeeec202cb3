// The visitors module's routes against the OpenAPI document (contract-kit.ts): each answers a
// success and a refusal, every body as documented.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashIdNumber } from '@stile/config';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import type { CloudBridge } from '../src/bridge.js';
import { VisitorsConfigSchema } from '../src/core/site-config/visitors.js';
import { optOutToken } from '../src/modules/visitors/opt-out.js';
import { ContractClient, MODULE_CONTRACTS } from './contract-kit.js';
import { idNumber, testBridge, testDb, testSite, uniqueId, type TestDb } from './helpers.js';

const STAFF = 'staff-token-for-tests';
const ID_KEY = 'id-hash-key-for-tests-0123456789';
const DAY = '2027-03-10';

describe('visitors API contract', () => {
  let db: TestDb;
  let bridge: CloudBridge;
  let client: ContractClient;
  let site: string;
  const idHash = hashIdNumber(ID_KEY, idNumber(1));

  beforeAll(async () => {
    db = await testDb('sqlite');
    const s = testSite(['g1']);
    site = s.config.id;
    bridge = await testBridge(
      db,
      [{ ...s.config, sales: { catalogue: demoCatalogue(), capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY, staffTokenSha256: createHash('sha256').update(STAFF).digest('hex') }, visitors: VisitorsConfigSchema.parse({ minGroup: 2 }) }],
      { demoMode: true, salesClock: () => new Date('2027-03-09T02:00:00Z') },
    );
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    client = await ContractClient.connect(base);
    const order = await client.call('POST', '/v1/channel/orders', '/v1/channel/orders', { key: DEMO_API_KEYS.wechat, idem: true, body: { typeId: 'adult', date: DAY, slotId: 's10', contactPhone: '13800138000', marketingConsent: true, visitors: [1, 2].map((n) => ({ name: `游客${n}`, idNumber: idNumber(n) })) } });
    expect(order.status).toBe(201);
    const paid = await client.call('POST', '/v1/channel/orders/{orderId}/pay', `/v1/channel/orders/${order.body.orderId}/pay`, { key: DEMO_API_KEYS.wechat, idem: uniqueId('idem'), body: { paymentRef: 'wx-1', amountFen: order.body.amountFen } });
    expect(paid.status).toBe(200);
  });
  afterAll(async () => {
    await bridge?.close();
    await db?.cleanup();
  });

  it('opt-out page and action: valid link, forged link, unknown site', async () => {
    const t = optOutToken(ID_KEY, site, idHash);
    const path = '/v1/visitor/{site}/opt-out';
    expect((await client.call('GET', path, `/v1/visitor/${site}/opt-out?t=${t}`)).status).toBe(200);
    expect((await client.call('POST', path, `/v1/visitor/${site}/opt-out?t=${t}`)).status).toBe(200);
    const forged = optOutToken('not-the-key', site, idHash);
    expect((await client.call('GET', path, `/v1/visitor/${site}/opt-out?t=${forged}`)).body.error).toBe('opt_out_token_invalid');
    expect((await client.call('POST', path, `/v1/visitor/${site}/opt-out?t=${forged}`)).body.error).toBe('opt_out_token_invalid');
    expect((await client.call('GET', path, `/v1/visitor/nosuchsite/opt-out?t=${t}`)).body.error).toBe('unknown_site');
  });

  it('consent: recorded, unknown visitor, bad request, no token', async () => {
    const path = '/v1/staff/sites/{site}/visitors/consent';
    const at = `/v1/staff/sites/${site}/visitors/consent`;
    expect((await client.call('POST', path, at, { key: STAFF, body: { idHash, consent: true, source: 'front-desk', by: 'staff:li' } })).body).toMatchObject({ visitor: idHash.slice(0, 8), consent: true });
    expect((await client.call('POST', path, at, { key: STAFF, body: { idNumber: idNumber(77), consent: false, source: 'phone', by: 'staff:li' } })).body.error).toBe('unknown_visitor');
    expect((await client.call('POST', path, at, { key: STAFF, body: { idNumber: '123', consent: false, source: 'phone', by: 'staff:li' } })).body.error).toBe('invalid_request');
    expect((await client.call('POST', path, at, { key: STAFF, body: { consent: false, source: 'phone', by: 'x' } })).body.error).toBe('invalid_request');
    expect((await client.call('POST', path, at, { key: 'wrong', body: { idHash, consent: true, source: 'x', by: 'x' } })).status).toBe(401);
  });

  it('segments: shown, bad dates, unknown dimension', async () => {
    const path = '/v1/staff/sites/{site}/visitors/segments';
    const ok = await client.call('GET', path, `/v1/staff/sites/${site}/visitors/segments?from=${DAY}&to=${DAY}&by=ageBand`, { key: STAFF });
    expect(ok.body.groups).toMatchObject({ cells: [{ key: '30-44', count: 2 }], total: 2 });
    expect((await client.call('GET', path, `/v1/staff/sites/${site}/visitors/segments?from=2027-02-30&to=${DAY}&by=gender`, { key: STAFF })).body.error).toBe('invalid_date');
    expect((await client.call('GET', path, `/v1/staff/sites/${site}/visitors/segments?from=${DAY}&to=${DAY}&by=shoeSize`, { key: STAFF })).body.error).toBe('invalid_request');
    expect((await client.call('GET', path, `/v1/staff/sites/${site}/visitors/segments?from=${DAY}&to=2027-03-01&by=gender`, { key: STAFF })).body.error).toBe('invalid_request');
  });

  it('deletions: deleted, then unknown', async () => {
    const path = '/v1/staff/sites/{site}/visitors/deletions';
    const at = `/v1/staff/sites/${site}/visitors/deletions`;
    expect((await client.call('POST', path, at, { key: STAFF, body: { idNumber: idNumber(2), by: 'staff:li' } })).body.deleted.profiles).toBe(1);
    expect((await client.call('POST', path, at, { key: STAFF, body: { idNumber: idNumber(2), by: 'staff:li' } })).body.error).toBe('unknown_visitor');
    expect((await client.call('POST', path, at, { key: STAFF, raw: '{"idNumber":' })).body.error).toBe('invalid_request');
  });

  it('every visitors route answered a success and a refusal', () => {
    client.expectEveryRouteCalled((p) => MODULE_CONTRACTS.visitors!.test(p));
  });
});
