import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AnnounceMessageSchema, CapacityMessageSchema, topics, type AnnounceMessage, type CapacityMessage } from '@stile/config';
import type { CloudBridge } from '../src/bridge.js';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import { verifyWebhookSignature } from '../src/core/notify/webhook.js';
import { DIALECTS, entriesMessage, idNumber, signedAdmit, testBridge, testClient, testDb, testSite, uniqueId, waitFor, type TestDb } from './helpers.js';

const STAFF_TOKEN = 'staff-token-for-tests';
const HOOK_SECRET = 'webhook-secret-0123456789abcdef0123456789';

describe.each(DIALECTS)('capacity levels live on %s', (dialect) => {
  const open: { bridge: CloudBridge; db: TestDb; hook: Server }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.bridge.close();
      await o.db.cleanup();
      o.hook.close();
    }
  });

  it('sales and entries move the park through yellow, orange and red: retained level, announcements, signed webhook alerts, sales closing', async () => {
    // The staff webhook: a real HTTP server checking the signature.
    const alerts: { kind: string; level?: string; message: { zh: string; en: string } }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (verifyWebhookSignature(HOOK_SECRET, req.headers['x-stile-signature'], body, Date.now() / 1000).ok) alerts.push(JSON.parse(body) as (typeof alerts)[number]);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const db = await testDb(dialect);
    const site = testSite(['g1']);
    const bridge = await testBridge(
      db,
      // Day tickets (no slots): the test runs at any hour of the park's day.
      [{ ...site.config, sales: { catalogue: { ...demoCatalogue(), slots: [] }, capacity: { daily: 10, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 0 }, idHashKey: 'id-hash-key-for-tests-0123456789', staffTokenSha256: createHash('sha256').update(STAFF_TOKEN).digest('hex') } }],
      { alertWebhook: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`, secret: HOOK_SECRET }, demoMode: true },
    );
    open.push({ bridge, db, hook });
    const s = site.config.id;
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());

    const screen = await testClient();
    const levels: CapacityMessage[] = [];
    const announced: AnnounceMessage[] = [];
    screen.on('message', (topic, payload) => {
      if (topic === topics.capacity(s)) levels.push(CapacityMessageSchema.parse(JSON.parse(payload.toString())));
      else announced.push(AnnounceMessageSchema.parse(JSON.parse(payload.toString())));
    });
    await screen.subscribeAsync({ [topics.capacity(s)]: { qos: 1 }, [topics.announce(s)]: { qos: 1 } });

    let n = 0;
    const sell = async (persons: number, key: string = DEMO_API_KEYS.wechat) => {
      const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const visitors = Array.from({ length: persons }, () => ({ name: '游客', idNumber: idNumber(++n) }));
      const res = await fetch(`${base}/v1/channel/orders`, { method: 'POST', headers: { ...auth, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ typeId: 'adult', date: today, contactPhone: '13800138000', visitors }) });
      const order = (await res.json()) as { orderId: string; amountFen: number; error?: string };
      if (res.status !== 201) return order.error;
      const paid = await fetch(`${base}/v1/channel/orders/${order.orderId}/pay`, { method: 'POST', headers: { ...auth, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ paymentRef: uniqueId('pay'), amountFen: order.amountFen }) });
      return paid.status === 200 ? 'ok' : 'pay failed';
    };

    try {
      expect(await sell(6)).toBe('ok');
      await waitFor(() => levels.at(-1)?.load === 6, 'load 6 on the capacity topic');
      expect(levels.at(-1)).toMatchObject({ level: 'green', capacity: 10, soldForToday: 6 });
      expect(await sell(1)).toBe('ok'); // 7 of 10: yellow
      await waitFor(() => announced.some((a) => a.level === 'yellow'), 'the yellow announcement');
      expect((await (await fetch(`${base}/v1/channel/availability?date=${today}`, { headers: { authorization: `Bearer ${DEMO_API_KEYS.wechat}` } })).json()) as object).toMatchObject({ almostFull: true });
      expect(await sell(2)).toBe('capacity_orange'); // online would reach orange (9 ≥ 8.5)
      expect(await sell(1)).toBe('ok'); // 8: still below orange
      expect(await sell(1, DEMO_API_KEYS.kiosk)).toBe('ok'); // the kiosk sells on: 9 → orange
      await waitFor(() => announced.some((a) => a.level === 'orange'), 'the orange announcement');
      expect(await sell(1)).toBe('capacity_orange');

      // A walk-in on a ticket not sold for today (an offline kiosk ticket) tips the park into red.
      const gate = await testClient();
      // Its signed code travels with the entry, so the cloud believes it.
      await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [signedAdmit(site, 1, 'KIOSKOFFLINE01', { at: new Date().toISOString() })]), { qos: 1 });
      await gate.endAsync();
      await waitFor(() => announced.some((a) => a.level === 'red'), 'the red announcement');
      expect(levels.at(-1)).toMatchObject({ level: 'red', load: 10, admitted: 1, percent: 100 });
      expect(announced.find((a) => a.level === 'red')!.text.zh).toContain('已满');
      expect(await sell(1, DEMO_API_KEYS.kiosk)).toBe('capacity_red');
      await waitFor(() => alerts.filter((a) => a.kind === 'capacity_level').length === 3, 'three webhook alerts');
      expect(alerts.filter((a) => a.kind === 'capacity_level').map((a) => a.level)).toEqual(['yellow', 'orange', 'red']);

      // The dashboard model agrees, and a retained level is there for a screen that connects later.
      const model = (await (await fetch(`${base}/v1/staff/sites/${s}/dashboard`, { headers: { authorization: `Bearer ${STAFF_TOKEN}` } })).json()) as { capacity: { level: string; admitted: number; load: number }; alerts: unknown[] };
      expect(model.capacity).toMatchObject({ level: 'red', admitted: 1, load: 10 });
      expect(model.alerts.length).toBeGreaterThanOrEqual(3);
      const late = await testClient();
      const retained = new Promise<CapacityMessage>((r) => late.on('message', (_t, p) => r(CapacityMessageSchema.parse(JSON.parse(p.toString())))));
      await late.subscribeAsync(topics.capacity(s), { qos: 1 });
      expect((await retained).level).toBe('red');
      await late.endAsync();
    } finally {
      await screen.endAsync();
    }
  });
});
