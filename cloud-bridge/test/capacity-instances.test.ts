import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AnnounceMessageSchema, topics, type AnnounceMessage } from '@stile/config';
import type { CloudBridge } from '../src/bridge.js';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import type { StaffAlert, StaffNotifier } from '../src/core/notify/webhook.js';
import { admit, entriesMessage, idNumber, testBridge, testClient, testDb, testSite, uniqueId, waitFor, type TestDb, type TestSite } from './helpers.js';

const STAFF_TOKEN = 'staff-token-for-tests';
const today = (): string => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());

/** A site that sells day tickets (no slots: the test runs at any hour) into a capacity of 10. */
function sellingSite(site: TestSite) {
  return {
    ...site.config,
    sales: {
      catalogue: { ...demoCatalogue(), slots: [] },
      capacity: { daily: 10, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 0 },
      idHashKey: 'id-hash-key-for-tests-0123456789',
      staffTokenSha256: createHash('sha256').update(STAFF_TOKEN).digest('hex'),
    },
  };
}

/** Every alert a bridge sends to staff, as a phone would get them. */
class Recorded implements StaffNotifier {
  readonly alerts: StaffAlert[] = [];
  notify(a: StaffAlert): Promise<void> {
    this.alerts.push(a);
    return Promise.resolve();
  }
}

async function sell(bridge: CloudBridge, persons: number, from: number, key: string = DEMO_API_KEYS.wechat): Promise<void> {
  const base = `http://127.0.0.1:${bridge.httpPort}`;
  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const visitors = Array.from({ length: persons }, (_, i) => ({ name: '游客', idNumber: idNumber(from + i) }));
  const res = await fetch(`${base}/v1/channel/orders`, { method: 'POST', headers: { ...auth, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ typeId: 'adult', date: today(), contactPhone: '13800138000', visitors }) });
  const order = (await res.json()) as { orderId: string; amountFen: number; error?: string };
  expect([res.status, order.error]).toEqual([201, undefined]);
  const paid = await fetch(`${base}/v1/channel/orders/${order.orderId}/pay`, { method: 'POST', headers: { ...auth, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ paymentRef: uniqueId('pay'), amountFen: order.amountFen }) });
  expect(paid.status).toBe(200);
}

describe('capacity with two cloud instances on one PostgreSQL', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a level change is announced, stored and alerted once, and a partition conflict alerted once, however many instances watch the site', async () => {
    const db: TestDb = await testDb('postgres');
    cleanups.push(() => db.cleanup());
    const site = testSite(['g1', 'g2']);
    const s = site.config.id;
    const group = uniqueId('grp');
    const staff = [new Recorded(), new Recorded()];
    const bridges: CloudBridge[] = [];
    for (const notifier of staff) {
      const b = await testBridge(db, [sellingSite(site)], { sharedGroup: group, notifier, demoMode: true });
      cleanups.push(() => b.close());
      bridges.push(b);
    }
    // The observer: the PA and entrance screen hear what the broker really carried.
    const screen = await testClient();
    cleanups.push(() => screen.endAsync());
    const announced: AnnounceMessage[] = [];
    screen.on('message', (_t, p) => announced.push(AnnounceMessageSchema.parse(JSON.parse(p.toString()))));
    await screen.subscribeAsync(topics.announce(s), { qos: 1 });

    await sell(bridges[0]!, 7, 1); // 7 of 10: yellow
    await waitFor(() => announced.some((a) => a.level === 'yellow'), 'the yellow announcement');
    await sell(bridges[1]!, 2, 100, DEMO_API_KEYS.kiosk); // 9 of 10: orange (only the kiosk sells into it), through the other instance
    await waitFor(() => announced.some((a) => a.level === 'orange'), 'the orange announcement');

    // The same single-use ticket (not sold for today: a walk-in, the 10th person: red) admitted at two gates while they were cut off.
    const ticketId = 'TKT-TWICE-001';
    await bridges[0]!.publishChanges(s, [{ op: 'upsert', ticket: { ticketId, typeId: 'adult', status: 'valid', visitDate: today(), persons: 1, entriesUsed: 0 } }]);
    const gate = await testClient();
    cleanups.push(() => gate.endAsync());
    const at = new Date().toISOString();
    await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(1, ticketId, { at })]), { qos: 1 });
    await gate.publishAsync(topics.entries(s, 'g2'), entriesMessage(s, 'g2', [admit(1, ticketId, { at })]), { qos: 1 });
    const all = () => staff.flatMap((r) => r.alerts);
    await waitFor(() => all().some((a) => a.kind === 'partition_conflict'), 'the conflict alert');

    // Both instances refresh every 2 s and on every change: give them time to repeat themselves.
    await new Promise((r) => setTimeout(r, 4500));
    expect(announced.map((a) => a.level)).toEqual(['yellow', 'orange', 'red']);
    // Each instance has its own phone list here: which one claimed a change does not matter, that one did.
    expect(all().filter((a) => a.kind === 'capacity_level').map((a) => a.level).sort()).toEqual(['orange', 'red', 'yellow']);
    expect(all().filter((a) => a.kind === 'partition_conflict')).toHaveLength(1);
    const stored = await bridges[0]!.store.db.selectFrom('alerts').select(['kind', 'level']).where('site', '=', s).execute();
    expect(stored.filter((a) => a.kind === 'capacity_level').map((a) => a.level).sort()).toEqual(['orange', 'red', 'yellow']);
    expect(stored.filter((a) => a.kind === 'partition_conflict')).toHaveLength(1);
    // Both instances agree on the level they serve.
    for (const b of bridges) expect(b.capacity.level(s)).toBe('red');
  });
});

describe('the staff dashboard shows the cloud’s own health', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a store refusing writes turns the dashboard’s cloud banner on, with the reason, until a commit succeeds', async () => {
    const db = await testDb('sqlite');
    cleanups.push(() => db.cleanup());
    const site = testSite(['g1']);
    const s = site.config.id;
    const bridge = await testBridge(db, [sellingSite(site)], { demoMode: true });
    cleanups.push(() => bridge.close());
    const model = async () =>
      (await (await fetch(`http://127.0.0.1:${bridge.httpPort}/v1/staff/sites/${s}/dashboard`, { headers: { authorization: `Bearer ${STAFF_TOKEN}` } })).json()) as {
        cloud: { ready: boolean; problems: string[] };
      };
    expect((await model()).cloud).toEqual({ ready: true, problems: [] });

    await bridge.publishChanges(s, [{ op: 'upsert', ticket: { ticketId: 'TKT-RO-0001', typeId: 'adult', status: 'valid', visitDate: today(), persons: 1, entriesUsed: 0 } }]);
    const original = bridge.sync.insertEntries.bind(bridge.sync);
    let readOnly = true;
    bridge.sync.insertEntries = (...args) => (readOnly ? Promise.reject(new Error('attempt to write a readonly database')) : original(...args));
    const gate = await testClient();
    cleanups.push(() => gate.endAsync());
    await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(1, 'TKT-RO-0001', { at: new Date().toISOString() })]), { qos: 1 });
    const down = await waitFor(async () => {
      const m = await model();
      return m.cloud.ready ? null : m.cloud;
    }, 'the dashboard to show the failing store');
    expect(down.problems.join('\n')).toMatch(/store: writes failing since .*readonly/);

    readOnly = false;
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 1, 'the redelivered entry', 30_000);
    await waitFor(async () => (await model()).cloud.ready, 'the banner to clear');
  });
});
