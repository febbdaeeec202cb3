import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudBridge } from '../src/bridge.js';
import { ContractClient, MODULE_CONTRACTS } from './contract-kit.js';
import { testBridge, testDb, testSite, type TestDb } from './helpers.js';
import { insightCatalogue, seedInsight, TEST_RULES } from './insight-fixtures.js';

const STAFF = 'insight-staff-token';

/** The insight routes against the OpenAPI document, on a bridge whose store holds the hand-made March 2027. */
describe('insight API contract', () => {
  let db: TestDb;
  let bridge: CloudBridge;
  let client: ContractClient;
  let site: string;
  const P = '/v1/staff/sites/{site}/insight/{period}';
  const R = '/v1/staff/sites/{site}/insight';

  beforeAll(async () => {
    db = await testDb('sqlite');
    const s = testSite(['g1']);
    site = s.config.id;
    bridge = await testBridge(
      db,
      [{ ...s.config, insight: { rules: TEST_RULES }, sales: { catalogue: insightCatalogue(), capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: 'id-hash-key-for-tests-0123456789', staffTokenSha256: createHash('sha256').update(STAFF).digest('hex') } }],
      { demoMode: true, salesClock: () => new Date('2027-04-02T00:00:00Z') },
    );
    await seedInsight(bridge.store, site);
    client = await ContractClient.connect(`http://127.0.0.1:${bridge.httpPort}`);
  });
  afterAll(async () => {
    await bridge.close();
    await db.cleanup();
  });

  it('a month as JSON, CSV and HTML with its charts', async () => {
    const json = await client.call('GET', P, `/v1/staff/sites/${site}/insight/2027-03`, { key: STAFF });
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ site, period: { kind: 'month', from: '2027-03-01', to: '2027-03-31' }, refundsTotal: 2 });
    expect(json.body.typeMix[0]).toMatchObject({ typeId: 'family', orders: 2 });
    // The site sets no visitors.minGroup: k = 10 hides the six visitors, so no repeat-rate suggestion.
    expect(json.body.minGroup).toBe(10);
    expect(json.body.repeat.rate).toBeNull();
    expect(json.body.suggestions.map((s: { metric: string }) => s.metric)).toEqual(['typeShare', 'refundReasonShare', 'couponUptake', 'secondarySpendShare']);
    const csv = await client.call('GET', P, `/v1/staff/sites/${site}/insight/2027-03?format=csv&lang=en`, { key: STAFF });
    expect(csv.type).toBe('text/csv');
    expect(csv.body).toContain('family,Family package (2 adults + 1 child),2,6,360.00');
    const html = await client.call('GET', P, `/v1/staff/sites/${site}/insight/2027-W10?format=html&lang=en`, { key: STAFF });
    expect(html.type).toBe('text/html');
    expect(html.body).toContain('<svg class="chart hours"');
  });

  it('a range of days', async () => {
    const r = await client.call('GET', R, `/v1/staff/sites/${site}/insight?from=2027-03-10&to=2027-03-11`, { key: STAFF });
    expect(r.status).toBe(200);
    expect(r.body.period).toEqual({ label: '2027-03-10..2027-03-11', kind: 'range', from: '2027-03-10', to: '2027-03-11' });
    expect(r.body.previous).toEqual({ from: '2027-03-08', to: '2027-03-09' });
  });

  it('refuses a wrong token, a bad period, a bad range and an unknown site, each with its code', async () => {
    expect((await client.call('GET', P, `/v1/staff/sites/${site}/insight/2027-03`, { key: 'wrong' })).body.error).toBe('unauthorized');
    const month = await client.call('GET', P, `/v1/staff/sites/${site}/insight/2027-13`, { key: STAFF });
    expect(month).toMatchObject({ status: 400, body: { error: 'invalid_request', message: '2027-13: month 13 is not 01–12' } });
    expect((await client.call('GET', P, `/v1/staff/sites/${site}/insight/2027-02-30`, { key: STAFF })).body.error).toBe('invalid_date');
    expect((await client.call('GET', R, `/v1/staff/sites/${site}/insight?from=2027-03-10&to=2027-03-01`, { key: STAFF })).body.error).toBe('invalid_request');
    expect((await client.call('GET', R, `/v1/staff/sites/${site}/insight?from=2027-3-1&to=2027-03-10`, { key: STAFF })).body.error).toBe('invalid_date');
    expect((await client.call('GET', R, `/v1/staff/sites/${site}/insight?from=2027-03-01`, { key: STAFF })).body.error).toBe('invalid_request');
    // No staff token is configured for an unknown site: 401, like a wrong token (no probing for site ids).
    expect((await client.call('GET', R, `/v1/staff/sites/nope/insight?from=2027-03-01&to=2027-03-02`, { key: STAFF })).status).toBe(401);
  });

  it('the daily report carries the day’s insight section (JSON, CSV, HTML)', async () => {
    const res = await fetch(`http://127.0.0.1:${bridge.httpPort}/v1/staff/sites/${site}/reports/2027-03-10`, { headers: { authorization: `Bearer ${STAFF}` } });
    const report = (await res.json()) as { insight: { secondarySpend: unknown; coupons: unknown[] } };
    expect(report.insight.secondarySpend).toEqual({ ticketFen: 34000, posFen: 8000, share: 8000 / 42000 });
    expect(client.schemaOf('/v1/staff/sites/{site}/reports/{date}', 'get', '200')(report)).toBe(true);
    const html = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/v1/staff/sites/${site}/reports/2027-03-10?format=html&lang=en`, { headers: { authorization: `Bearer ${STAFF}` } })).text();
    expect(html).toContain('<section class="insight">');
    expect(html).toContain('Secondary-spend share');
    const csv = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/v1/staff/sites/${site}/reports/2027-03-10?format=csv&lang=en`, { headers: { authorization: `Bearer ${STAFF}` } })).text();
    expect(csv).toContain('secondary_spend_share,0.1905\r\n');
  });

  it('every insight route answered a success and a refusal', () => {
    client.expectEveryRouteCalled((p) => MODULE_CONTRACTS.insight!.test(p));
  });
});
