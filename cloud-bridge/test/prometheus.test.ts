/**
 * cloud-bridge's GET /metrics as Prometheus text (docs/metrics.md), after real activity: a
 * sale through the channel API, its ticket admitted at a gate, the same batch sent again, a
 * garbage message, a gate's status. /metrics.json keeps the JSON counters for scripts.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@stile/config';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import { scrape, valueOf } from '../../service/test/prom-text.js';
import type { CloudBridge } from '../src/bridge.js';
import { statusFigures } from '../src/core/prometheus.js';
import { admit, entriesMessage, idNumber, testBridge, testClient, testDb, testSite, uniqueId, waitFor, type TestDb } from './helpers.js';

const TOKEN = 'metrics-token-for-tests';
const auth = { authorization: `Bearer ${TOKEN}` };
let db: TestDb;
let bridge: CloudBridge;
let s: string;
let base: string;

beforeAll(async () => {
  db = await testDb('sqlite');
  const site = testSite(['g1']);
  s = site.config.id;
  bridge = await testBridge(db, [{ ...site.config, sales: { catalogue: { ...demoCatalogue(), slots: [] }, capacity: { daily: 10, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 0 }, idHashKey: 'id-hash-key-for-tests-0123456789', staffTokenSha256: createHash('sha256').update('staff').digest('hex') } }], {
    demoMode: true,
    metricsTokenSha256: createHash('sha256').update(TOKEN).digest('hex'),
  });
  base = `http://127.0.0.1:${bridge.httpPort}`;
});
afterAll(async () => {
  await bridge?.close();
  await db?.cleanup();
});

/** One paid order of `persons` for today through the WeChat channel; its ticket id. */
async function sell(persons: number): Promise<string> {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
  const h = { authorization: `Bearer ${DEMO_API_KEYS.wechat}`, 'content-type': 'application/json' };
  const visitors = Array.from({ length: persons }, (_, i) => ({ name: '游客', idNumber: idNumber(700 + i) }));
  const order = (await (await fetch(`${base}/v1/channel/orders`, { method: 'POST', headers: { ...h, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ typeId: 'adult', date: today, contactPhone: '13800138000', visitors }) })).json()) as { orderId: string; amountFen: number };
  const paid = (await (await fetch(`${base}/v1/channel/orders/${order.orderId}/pay`, { method: 'POST', headers: { ...h, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ paymentRef: uniqueId('pay'), amountFen: order.amountFen }) })).json()) as { tickets: { ticketId: string }[] };
  return paid.tickets[0]!.ticketId;
}

describe('cloud-bridge /metrics (Prometheus text)', () => {
  it('wants the bearer token, as /metrics always did, and /metrics.json too', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics.json`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { method: 'POST', headers: auth })).status).toBe(405);
    const m = await scrape(`${base}/metrics`, auth);
    expect(valueOf(m, 'stile_cloud_refused_total', { reason: 'metrics_unauthorized' })).toBe(2);
    expect(m.has('process_resident_memory_bytes')).toBe(true);
  });

  it('counts ingest, duplicates, drops, a gate status and the site\'s day', async () => {
    const ticketId = await sell(2);
    const c = await testClient();
    try {
      const batch = entriesMessage(s, 'g1', [admit(1, ticketId, { persons: 2, at: new Date().toISOString() })]);
      await c.publishAsync(topics.entries(s, 'g1'), batch, { qos: 1 });
      await waitFor(() => bridge.metrics.inserted === 1, 'the admission stored');
      await c.publishAsync(topics.entries(s, 'g1'), batch, { qos: 1 }); // the gate sends its outbox again
      await c.publishAsync(topics.entries(s, 'g1'), '{not json', { qos: 1 });
      await c.publishAsync(topics.status(s, 'g1'), JSON.stringify({ v: 1, state: 'degraded', epoch: 1, at: new Date().toISOString(), whitelistSeq: '0', outboxDepth: 3, devices: [] }), { qos: 1 });
      // QoS 1: under load the broker may deliver a message twice more; the counts below allow for it.
      await waitFor(() => bridge.metrics.duplicates >= 1 && (bridge.metrics.invalid.bad_json ?? 0) >= 1 && bridge.metrics.statusApplied >= 1, 'the duplicate, the garbage and the status');
      await waitFor(async () => valueOf(await scrape(`${base}/metrics`, auth), 'stile_cloud_admitted_today', { site: s }) === 2, 'the admission in the capacity count');
    } finally {
      await c.publishAsync(topics.status(s, 'g1'), '', { qos: 1, retain: true });
      await c.endAsync();
    }
    const m = await scrape(`${base}/metrics`, auth);
    const j = bridge.metrics;
    expect(valueOf(m, 'stile_cloud_ingest_messages_total')).toBe(j.received);
    expect(j.received).toBeGreaterThanOrEqual(3);
    expect(valueOf(m, 'stile_cloud_ingest_events_inserted_total')).toBe(1); // stored once, however often it came
    expect(valueOf(m, 'stile_cloud_ingest_events_duplicate_total')).toBe(j.duplicates);
    expect(j.duplicates).toBeGreaterThanOrEqual(1);
    expect(valueOf(m, 'stile_cloud_ingest_dropped_total', { reason: 'bad_json' })).toBe(j.invalid.bad_json);
    expect(valueOf(m, 'stile_cloud_db_errors_total')).toBe(0);
    expect(valueOf(m, 'stile_cloud_partition_conflicts_total')).toBe(0);
    expect(valueOf(m, 'stile_cloud_deltas_published_total')).toBeGreaterThanOrEqual(1);
    expect(valueOf(m, 'stile_cloud_last_commit_timestamp_seconds')).toBeGreaterThan(0);
    // The gate as its status left it; it holds seq 0 while the site's head has moved with the sale.
    expect(valueOf(m, 'stile_cloud_gate_online', { site: s, gate: 'g1' })).toBe(1);
    expect(valueOf(m, 'stile_cloud_gates_online', { site: s })).toBe(1);
    expect(valueOf(m, 'stile_cloud_gate_outbox_depth', { site: s, gate: 'g1' })).toBe(3);
    const head = valueOf(m, 'stile_cloud_whitelist_head_seq', { site: s })!;
    expect(head).toBeGreaterThanOrEqual(1);
    expect(valueOf(m, 'stile_cloud_gate_whitelist_lag', { site: s, gate: 'g1' })).toBe(head);
    // The day: 2 sold, 2 admitted, load 2 of 10, green.
    expect(valueOf(m, 'stile_cloud_sold_today', { site: s })).toBe(2);
    expect(valueOf(m, 'stile_cloud_capacity_load', { site: s })).toBe(2);
    expect(valueOf(m, 'stile_cloud_capacity_daily', { site: s })).toBe(10);
    expect(valueOf(m, 'stile_cloud_capacity_level', { site: s, level: 'green' })).toBe(1);
    expect(valueOf(m, 'stile_cloud_capacity_level', { site: s, level: 'red' })).toBe(0);
    // No ticket id, visitor or ID number in the text.
    const text = await (await fetch(`${base}/metrics`, { headers: auth })).text();
    expect(text).not.toContain(ticketId);
    expect(text).not.toContain(idNumber(700));

    // The JSON of before, now at /metrics.json, agrees.
    const json = (await (await fetch(`${base}/metrics.json`, { headers: auth })).json()) as Record<string, unknown>;
    expect(json).toMatchObject({ received: j.received, inserted: 1, duplicates: j.duplicates, invalid: { bad_json: j.invalid.bad_json }, dbErrors: 0 });
  });
});

describe('a gate status as the cloud stores it', () => {
  it('reads outbox depth and whitelist seq, and nothing from a malformed one', () => {
    expect(statusFigures('{"v":1,"state":"online","outboxDepth":4,"whitelistSeq":"17"}')).toEqual({ outboxDepth: 4, whitelistSeq: 17 });
    expect(statusFigures('{"v":1,"state":"offline"}')).toEqual({ outboxDepth: null, whitelistSeq: null });
    expect(statusFigures('{oops')).toEqual({ outboxDepth: null, whitelistSeq: null });
    expect(statusFigures(null)).toEqual({ outboxDepth: null, whitelistSeq: null });
    expect(statusFigures('{"outboxDepth":"4","whitelistSeq":"-1"}')).toEqual({ outboxDepth: null, whitelistSeq: null });
  });
});
