import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import type { CloudBridge } from '../src/bridge.js';
import { catalogueIssues, localInstant, rebookDeadline, type Catalogue } from '../src/core/catalogue.js';
import { DIALECTS, idNumber, testBridge, testDb, testSite, uniqueId, type TestDb } from './helpers.js';

/** A Wednesday; slot s10 starts at 10:00 Shanghai time (02:00 UTC). */
const DAY = '2027-03-10';
const NEXT_DAY = '2027-03-11';
/** 24 h before DAY's s10: 2027-03-09 10:00 +08:00. */
const DEADLINE = '2027-03-09T02:00:00.000Z';

/** The demo catalogue with adult as a free-rebooking type (24 h before the slot); child keeps no rule. */
function rebookingCatalogue(hours = 24): Catalogue {
  const cat = demoCatalogue();
  return { ...cat, ticketTypes: cat.ticketTypes.map((t) => (t.id === 'adult' ? { ...t, rebooking: { freeUntilHoursBefore: hours } } : t)) };
}

describe('free-rebooking deadline (pure)', () => {
  const cat = rebookingCatalogue();
  const adult = cat.ticketTypes.find((t) => t.id === 'adult')!;

  it('is N hours before the slot start in the park zone', () => {
    expect(rebookDeadline(cat, adult, DAY, 's10')?.toISOString()).toBe(DEADLINE);
    expect(rebookDeadline(cat, adult, DAY, 'early')?.toISOString()).toBe('2027-03-08T22:30:00.000Z');
  });

  it('without a slot: opensAt, else the entry window start, else midnight', () => {
    expect(rebookDeadline(cat, adult, DAY, '')?.toISOString()).toBe('2027-03-08T16:00:00.000Z');
    expect(rebookDeadline(cat, { ...adult, entryWindow: { from: '08:30', to: '17:00' } }, DAY, '')?.toISOString()).toBe('2027-03-09T00:30:00.000Z');
    expect(rebookDeadline(cat, { rebooking: { freeUntilHoursBefore: 2, opensAt: '09:00' } }, DAY, '')?.toISOString()).toBe('2027-03-09T23:00:00.000Z');
  });

  it('a type without the rule has no deadline (rebooked as before)', () => {
    expect(rebookDeadline(cat, cat.ticketTypes.find((t) => t.id === 'child')!, DAY, 's10')).toBeUndefined();
  });

  it('local instants follow daylight saving where the zone has it', () => {
    expect(localInstant('2027-03-28', '03:00', 'Europe/Berlin').toISOString()).toBe('2027-03-28T01:00:00.000Z');
    expect(localInstant('2027-01-10', '03:00', 'Europe/Berlin').toISOString()).toBe('2027-01-10T02:00:00.000Z');
  });

  it('a bad rule is refused with its path', () => {
    const cat = demoCatalogue();
    const raw = JSON.parse(JSON.stringify(cat)) as { ticketTypes: Record<string, unknown>[] };
    raw.ticketTypes[0]!.rebooking = { freeUntilHoursBefore: -1 };
    expect(catalogueIssues(raw)).toEqual([expect.stringMatching(/^ticketTypes\[0\]\.rebooking\.freeUntilHoursBefore: freeUntilHoursBefore cannot be negative/)]);
  });
});

describe.each(DIALECTS)('free-rebooking ticket type on %s', (dialect) => {
  const open: { bridge: CloudBridge; db: TestDb }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.bridge.close();
      await o.db.cleanup();
    }
  });

  async function park(start: string) {
    let now = new Date(start);
    const db = await testDb(dialect);
    const site = testSite(['g1']);
    const bridge = await testBridge(
      db,
      [{ ...site.config, sales: { catalogue: rebookingCatalogue(), capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: 'id-hash-key-for-tests-0123456789', staffTokenSha256: createHash('sha256').update('t').digest('hex') } }],
      { demoMode: true, salesClock: () => now },
    );
    open.push({ bridge, db });
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    const call = async (path: string, body: unknown) => {
      const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${DEMO_API_KEYS.wechat}`, 'content-type': 'application/json', 'idempotency-key': uniqueId('idem') }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const paidOrder = async (typeId: string, n: number) => {
      const created = await call('/v1/channel/orders', { typeId, date: DAY, slotId: 's10', contactPhone: '13800138000', visitors: [{ name: '游客', idNumber: idNumber(n) }] });
      expect(created.status).toBe(201);
      const paid = await call(`/v1/channel/orders/${created.body.orderId}/pay`, { paymentRef: uniqueId('pay'), amountFen: created.body.amountFen });
      expect(paid.status).toBe(200);
      return created.body.orderId as string;
    };
    return { bridge, site: site.config.id, call, paidOrder, setNow: (iso: string) => (now = new Date(iso)) };
  }

  it('rebooks free until N hours before the slot, then refuses with rebook_too_late and the deadline', async () => {
    const p = await park('2027-03-01T02:00:00Z');
    const early = await p.paidOrder('adult', 1);
    const late = await p.paidOrder('adult', 2);
    p.setNow('2027-03-09T01:59:59Z');
    const ok = await p.call(`/v1/channel/orders/${early}/rebook`, { date: NEXT_DAY, slotId: 's10' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ date: NEXT_DAY, amountFen: 8000 });
    p.setNow(DEADLINE);
    const refused = await p.call(`/v1/channel/orders/${late}/rebook`, { date: NEXT_DAY, slotId: 's10' });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: 'rebook_too_late', deadline: DEADLINE });
    // Nothing moved: the order keeps its date and slot.
    const row = await p.bridge.store.db.selectFrom('orders').select(['visit_date', 'slot_id', 'status']).where('order_id', '=', late).executeTakeFirstOrThrow();
    expect(row).toEqual({ visit_date: DAY, slot_id: 's10', status: 'paid' });
  });

  it('the deadline is of the booked slot: a rebooked order gets the new slot’s deadline', async () => {
    const p = await park('2027-03-01T02:00:00Z');
    const order = await p.paidOrder('adult', 3);
    p.setNow('2027-03-09T01:00:00Z');
    expect((await p.call(`/v1/channel/orders/${order}/rebook`, { date: NEXT_DAY, slotId: 's10' })).status).toBe(200);
    // Past DAY's deadline, but the order is now for NEXT_DAY 10:00: still free until 2027-03-10 02:00Z.
    p.setNow('2027-03-09T12:00:00Z');
    expect((await p.call(`/v1/channel/orders/${order}/rebook`, { date: NEXT_DAY, slotId: 's12' })).status).toBe(200);
  });

  it('a type without the rule keeps today’s behaviour: rebooked an hour before its slot', async () => {
    const p = await park('2027-03-01T02:00:00Z');
    const order = await p.paidOrder('child', 4);
    p.setNow('2027-03-10T01:00:00Z');
    const ok = await p.call(`/v1/channel/orders/${order}/rebook`, { date: NEXT_DAY, slotId: 's10' });
    expect(ok.status).toBe(200);
  });
});
