import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CapacityMessageSchema, topics, type CapacityMessage } from '@stile/config';
import { demoCatalogue } from '@stile/demo/catalogue';
import type { CloudBridge } from '../src/bridge.js';
import { testBridge, testClient, testDb, testSite, waitFor, type TestDb } from './helpers.js';

const STAFF_TOKEN = 'staff-token-for-tests';

describe('one clock for every module', () => {
  const open: { bridge: CloudBridge; db: TestDb }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.bridge.close();
      await o.db.cleanup();
    }
  });

  it("capacity and reports take 'now' from the bridge's clock, not the machine's", async () => {
    // 1 July 2031, 12:00 in Shanghai: a day this machine will not see during the test.
    const now = new Date('2031-07-01T04:00:00.000Z');
    const db = await testDb('sqlite');
    const site = testSite(['g1']);
    const bridge = await testBridge(
      db,
      [{ ...site.config, sales: { catalogue: { ...demoCatalogue(), slots: [] }, capacity: { daily: 10, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 0 }, idHashKey: 'id-hash-key-for-tests-0123456789', staffTokenSha256: createHash('sha256').update(STAFF_TOKEN).digest('hex') } }],
      { demoMode: true, clock: () => now },
    );
    open.push({ bridge, db });
    const s = site.config.id;

    const screen = await testClient();
    const levels: CapacityMessage[] = [];
    screen.on('message', (_topic, payload) => levels.push(CapacityMessageSchema.parse(JSON.parse(payload.toString()))));
    await screen.subscribeAsync(topics.capacity(s), { qos: 1 });
    const retained = await waitFor(() => levels[0], 'the retained capacity message');
    await screen.endAsync();
    expect(retained.date).toBe('2031-07-01');
    expect(retained.at).toBe(now.toISOString());

    const res = await fetch(`http://127.0.0.1:${bridge.httpPort}/v1/staff/sites/${s}/reports/2031-07-01`, { method: 'POST', headers: { authorization: `Bearer ${STAFF_TOKEN}` } });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { generatedAt: string };
    expect(report.generatedAt).toBe(now.toISOString());
  });
});
