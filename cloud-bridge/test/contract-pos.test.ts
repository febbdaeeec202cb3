// The POS routes' contract (#19): every /v1/pos/… route called for real against a bridge with
// sales, a success and its refusals, each answer validated against the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudBridge } from '../src/bridge.js';
import { parseCatalogue, sha256Hex } from '../src/core/catalogue.js';
import { ContractClient, MODULE_CONTRACTS } from './contract-kit.js';
import { idNumber, testBridge, testDb, testSite, uniqueId, type TestDb } from './helpers.js';

const CHANNEL_KEY = 'contract-pos-channel-key-0123456789';
const POS_KEY = 'contract-pos-restaurant-key-0123456789';
const DAY = '2027-03-10';

describe('the POS routes answer as the OpenAPI document says', () => {
  let db: TestDb;
  let bridge: CloudBridge;
  let client: ContractClient;
  let ticketCode: string;
  // Selling happens in the morning, the restaurant's lines come in the evening.
  let now = new Date(`${DAY}T08:00:00+08:00`);

  beforeAll(async () => {
    db = await testDb('sqlite');
    const site = testSite(['g1']);
    const catalogue = parseCatalogue({
      ticketTypes: [{ id: 'adult', name: 'Adult', priceFen: 8000 }],
      slots: [{ id: 's10', start: '10:00', end: '12:00', quota: 100 }],
      channels: [{ id: 'web', kind: 'online', apiKeySha256: sha256Hex(CHANNEL_KEY) }],
      refundReasons: [{ code: 'weather', label: 'Weather' }],
    });
    bridge = await testBridge(db, [{ ...site.config, sales: { catalogue, capacity: { daily: 1000, yellow: 0.7, orange: 0.85 }, idHashKey: 'contract-pos-id-hash-key-0123456789' }, pos: { sources: [{ id: 'rest1', name: 'Lakeside restaurant', apiKeySha256: sha256Hex(POS_KEY) }] } }], { salesClock: () => now });
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    client = await ContractClient.connect(base);
    const post = (path: string, body: unknown) => fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${CHANNEL_KEY}`, 'content-type': 'application/json', 'idempotency-key': uniqueId('idem') }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, any>>); // eslint-disable-line @typescript-eslint/no-explicit-any
    const order = await post('/v1/channel/orders', { typeId: 'adult', date: DAY, slotId: 's10', contactPhone: '13800138000', visitors: [{ name: '游客', idNumber: idNumber(1) }] });
    const paid = await post(`/v1/channel/orders/${order.orderId}/pay`, { paymentRef: 'p-1', amountFen: 8000 });
    expect(paid.status).toBe('paid');
    ticketCode = paid.tickets[0].code;
    now = new Date(`${DAY}T19:00:00+08:00`);
  });
  afterAll(async () => {
    await bridge?.close();
    await db?.cleanup();
  });

  const line = (lineId: string, extra: Record<string, unknown> = {}) => ({ lineId, at: `${DAY}T12:30:00+08:00`, amountFen: 4800, category: 'restaurant', item: 'noodles', ticketCode, ...extra });

  it('POST /v1/pos/lines: an answer per line; 401 without the key, 400 for a body that is no batch', async () => {
    const ok = await client.call('POST', '/v1/pos/lines', '/v1/pos/lines', { key: POS_KEY, body: { lines: [line('c-1'), line('c-2', { ticketCode: 'ST1:nobody' }), line('c-3', { amountFen: -5 })] } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ source: 'rest1', accepted: 1, duplicate: 0, refused: 2 });
    expect(ok.body.lines.map((l: { reason?: string }) => l.reason ?? 'ok')).toEqual(['ok', 'unknown_visit', 'invalid_line']);
    expect((await client.call('POST', '/v1/pos/lines', '/v1/pos/lines', { key: POS_KEY, body: { lines: [line('c-1')] } })).body.lines[0].status).toBe('duplicate');
    expect((await client.call('POST', '/v1/pos/lines', '/v1/pos/lines', { key: 'not-a-pos-key', body: { lines: [line('c-9')] } })).body.error).toBe('unknown_api_key');
    expect((await client.call('POST', '/v1/pos/lines', '/v1/pos/lines', { key: CHANNEL_KEY, body: { lines: [line('c-9')] } })).status).toBe(401);
    expect((await client.call('POST', '/v1/pos/lines', '/v1/pos/lines', { key: POS_KEY, body: { lines: [] } })).body.error).toBe('invalid_request');
    expect((await client.call('POST', '/v1/pos/lines', '/v1/pos/lines', { key: POS_KEY, body: { lines: Array.from({ length: 501 }, (_, i) => line(`m-${i}`)) } })).body.error).toBe('invalid_request');
    expect((await client.call('POST', '/v1/pos/lines', '/v1/pos/lines', { key: POS_KEY, raw: '{"lines": [' })).body.error).toBe('invalid_request');
  });

  it('POST /v1/pos/lines.csv: each answer names its CSV line; a file that is not the documented CSV is 400 naming the line', async () => {
    const csv = `lineId,at,amountYuan,category,item,ticketCode\nv-1,${DAY} 13:00:00,12.50,souvenir,magnet,${ticketCode}\nv-2,${DAY} 13:05:00,12.5,souvenir\n`;
    const ok = await client.call('POST', '/v1/pos/lines.csv', '/v1/pos/lines.csv', { key: POS_KEY, text: { body: csv, type: 'text/csv' } });
    expect(ok.status).toBe(200);
    expect(ok.body.lines.map((l: { csvLine: number; status: string }) => [l.csvLine, l.status])).toEqual([
      [2, 'accepted'],
      [3, 'refused'],
    ]);
    const bad = await client.call('POST', '/v1/pos/lines.csv', '/v1/pos/lines.csv', { key: POS_KEY, text: { body: 'lineId,at,amount,category,ticketCode\n', type: 'text/csv' } });
    expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_request', message: expect.stringMatching(/^line 1: column 3 "amount"/) } });
    expect((await client.call('POST', '/v1/pos/lines.csv', '/v1/pos/lines.csv', { text: { body: csv, type: 'text/csv' } })).status).toBe(401);
  });

  it("GET /v1/pos/lines: the source's lines of a day with totals; a bad date is invalid_date", async () => {
    const day = await client.call('GET', '/v1/pos/lines', `/v1/pos/lines?date=${DAY}`, { key: POS_KEY });
    expect(day.status).toBe(200);
    expect(day.body).toMatchObject({ source: 'rest1', date: DAY, count: 2, amountFen: 6050, discountFen: 0 });
    expect(day.body.lines.map((l: { lineId: string }) => l.lineId)).toEqual(['c-1', 'v-1']);
    expect(JSON.stringify(day.body)).not.toContain(ticketCode);
    expect((await client.call('GET', '/v1/pos/lines', '/v1/pos/lines?date=2027-02-30', { key: POS_KEY })).body.error).toBe('invalid_date');
    expect((await client.call('GET', '/v1/pos/lines', '/v1/pos/lines', { key: POS_KEY })).body.error).toBe('invalid_request');
    expect((await client.call('GET', '/v1/pos/lines', `/v1/pos/lines?date=${DAY}`, { key: 'nope' })).status).toBe(401);
  });

  // Last: the server answers 413 before reading the body and closes the connection.
  it('refuses a batch over 512 KiB before reading it', async () => {
    const huge = await client.call('POST', '/v1/pos/lines', '/v1/pos/lines', { key: POS_KEY, body: { lines: [line('h-1', { item: 'x'.repeat(600 * 1024) })] } });
    expect(huge).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
  });

  it('every POS route answered a success and a refusal', () => {
    client.expectEveryRouteCalled((p) => MODULE_CONTRACTS.pos!.test(p));
  });
});
