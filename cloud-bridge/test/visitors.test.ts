import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hashIdNumber, topics } from '@stile/config';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import type { CloudBridge } from '../src/bridge.js';
import { VisitorsConfigSchema } from '../src/core/site-config/visitors.js';
import { SiteRegistry } from '../src/core/sites.js';
import { loadRegionData } from '../src/modules/visitors/geo.js';
import { optOutToken } from '../src/modules/visitors/opt-out.js';
import { VisitorsRepository } from '../src/modules/visitors/repository.js';
import { Visitors } from '../src/modules/visitors/service.js';
import { admit, DIALECTS, entriesMessage, idNumber, silentLog, testBridge, testClient, testDb, testSite, uniqueId, waitFor, type TestDb } from './helpers.js';

const STAFF_TOKEN = 'staff-token-for-tests';
const ID_KEY = 'id-hash-key-for-tests-0123456789';
const DAY = '2027-03-10';
const PHONE = '13800138000';

describe.each(DIALECTS)('visitor profiles on %s', (dialect) => {
  const open: { bridge: CloudBridge; db: TestDb }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.bridge.close();
      await o.db.cleanup();
    }
  });

  async function park(visitorsConfig: Record<string, unknown> = {}) {
    const db = await testDb(dialect);
    const site = testSite(['g1']);
    let now = new Date('2027-03-09T02:00:00Z');
    const clock = () => now;
    const config = {
      ...site.config,
      sales: { catalogue: demoCatalogue(), capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY, staffTokenSha256: createHash('sha256').update(STAFF_TOKEN).digest('hex') },
      visitors: VisitorsConfigSchema.parse({ minGroup: 2, location: { lat: 30.25, lng: 120.17 }, tags: [{ tag: 'family', partySizeAtLeast: 3 }, { tag: 'high-spend', spendAtLeastFen: 30000 }, { tag: 'culture', types: ['museum'], posCategories: ['books'] }], ...visitorsConfig }),
    };
    const bridge = await testBridge(db, [config], { demoMode: true, salesClock: clock });
    open.push({ bridge, db });
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    const call = async (method: string, path: string, body?: unknown, key: string = DEMO_API_KEYS.wechat) => {
      const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${key}`, 'idempotency-key': uniqueId('idem'), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const staff = (method: string, path: string, body?: unknown) => call(method, `/v1/staff/sites/${config.id}${path}`, body, STAFF_TOKEN);
    const sell = async (ids: number[], extra: Record<string, unknown> = {}) => {
      const created = await call('POST', '/v1/channel/orders', { typeId: 'adult', date: DAY, slotId: 's10', contactPhone: PHONE, visitors: ids.map((n) => ({ name: `游客${n}`, idNumber: idNumber(n) })), ...extra });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const paid = await call('POST', `/v1/channel/orders/${created.body.orderId}/pay`, { paymentRef: uniqueId('wx'), amountFen: created.body.amountFen });
      expect(paid.status, JSON.stringify(paid.body)).toBe(200);
      return paid.body as { orderId: string; tickets: { ticketId: string; code: string }[] };
    };
    // A second sweeper over the same store and clock, so a test runs the sweep when it wants.
    const visitors = new Visitors({ repo: new VisitorsRepository(bridge.store), sites: new SiteRegistry([config]), regions: loadRegionData, clock, log: silentLog });
    return { bridge, db, site: config.id, call, staff, sell, visitors, setNow: (iso: string) => (now = new Date(iso)), hash: (n: number) => hashIdNumber(ID_KEY, idNumber(n)) };
  }

  it('derives age band, gender, city and phone region at sale time and keeps neither the ID number nor the phone in the profile tables', async () => {
    const p = await park();
    const sold = await p.sell([1, 2, 3], { marketingConsent: true });
    const db = p.bridge.store.db;
    const order = await db.selectFrom('orders').selectAll().where('order_id', '=', sold.orderId).executeTakeFirstOrThrow();
    expect(order.phone_region).toBe('1101'); // 138-0013 is a Beijing segment
    const ov = await db.selectFrom('order_visitors').selectAll().where('order_id', '=', sold.orderId).orderBy('idx').execute();
    // idNumber(n): region 110105, born 1990-01-01, sequence n (odd: male) → 37 at the visit.
    expect(ov.map((v) => [v.age_band, v.gender, v.region])).toEqual([['30-44', 'm', '1101'], ['30-44', 'f', '1101'], ['30-44', 'm', '1101']]);
    const profile = await db.selectFrom('visitor_profiles').selectAll().where('site', '=', p.site).where('id_hash', '=', p.hash(1)).executeTakeFirstOrThrow();
    expect(profile).toMatchObject({ age_band: '30-44', gender: 'm', region: '1101', phone_region: '1101', consent_marketing: 1, consent_source: 'wechat', last_order_id: sold.orderId, visits: 0 });
    expect(Number(profile.orders)).toBe(1);
    expect(Number(profile.ticket_fen)).toBe(8000);
    const visits = await db.selectFrom('visitor_visits').selectAll().where('order_id', '=', sold.orderId).execute();
    expect(visits).toHaveLength(3);
    expect(visits.every((v) => Number(v.party_size) === 3)).toBe(true);
    const tags = await db.selectFrom('visitor_tags').select('tag').where('id_hash', '=', p.hash(1)).execute();
    expect(tags.map((t) => t.tag)).toEqual(['family']);

    // The rows of every analytics table, and the derived columns: no ID number, no phone.
    const rows = JSON.stringify([
      await db.selectFrom('visitor_profiles').selectAll().execute(),
      await db.selectFrom('visitor_visits').selectAll().execute(),
      await db.selectFrom('visitor_tags').selectAll().execute(),
      await db.selectFrom('order_visitors').select(['age_band', 'gender', 'region', 'id_hash', 'id_masked']).execute(),
    ]);
    for (const n of [1, 2, 3]) expect(rows).not.toContain(idNumber(n));
    expect(rows).not.toContain(PHONE);
    expect(rows).not.toContain(PHONE.slice(0, 7) + PHONE.slice(7)); // the full number in any column
    if (dialect === 'sqlite') {
      const file = p.db.options.sqlitePath!;
      const bytes = Buffer.concat([readFileSync(file), ...(existsSync(`${file}-wal`) ? [readFileSync(`${file}-wal`)] : [])]).toString('latin1');
      for (const n of [1, 2, 3]) expect(bytes.includes(idNumber(n)), 'the database file holds no ID number anywhere').toBe(false);
    }

    // Marketing asks where to send: consent given and a kept order's phone.
    expect(await p.visitors.directory.reachable(p.site, p.hash(1))).toEqual({ phone: PHONE, lang: null });
    expect(await p.visitors.directory.homeDistanceKm(p.site, p.hash(1))).toBeGreaterThan(1000); // Beijing → Hangzhou
  });

  it('admissions become visits in the sweep; visits, first and last visit follow; a refund takes the order back, a rebooking moves the visit', async () => {
    const p = await park();
    const sold = await p.sell([11, 12]);
    await p.sell([13]);
    p.setNow('2027-03-10T04:00:00Z');
    // Gate g1 admits the first visitor's ticket, as a real gate reports it (stamped with the real
    // time: the ingest refuses admissions from its future; only the sales clock is 2027 here).
    const ticketId = sold.tickets[0]!.ticketId;
    const gate = await testClient();
    await gate.publishAsync(topics.entries(p.site, 'g1'), entriesMessage(p.site, 'g1', [admit(1, ticketId, { at: new Date().toISOString() })]), { qos: 1 });
    await gate.endAsync();
    await waitFor(async () => (await p.bridge.whitelist.getTicket(p.site, ticketId))?.entriesUsed === 1, 'the admission counted');
    await p.visitors.sweep(p.site, new Map());
    const prof = await p.bridge.store.db.selectFrom('visitor_profiles').selectAll().where('site', '=', p.site).where('id_hash', '=', p.hash(11)).executeTakeFirstOrThrow();
    expect(prof).toMatchObject({ first_visit: DAY, last_visit: DAY });
    expect(Number(prof.visits)).toBe(1);
    const other = await p.bridge.store.db.selectFrom('visitor_profiles').selectAll().where('site', '=', p.site).where('id_hash', '=', p.hash(13)).executeTakeFirstOrThrow();
    expect(Number(other.visits)).toBe(0);
    // Running again changes nothing (incremental: only visits not yet admitted are looked at).
    await p.visitors.sweep(p.site, new Map());
    expect(Number((await p.bridge.store.db.selectFrom('visitor_profiles').select('visits').where('site', '=', p.site).where('id_hash', '=', p.hash(11)).executeTakeFirstOrThrow()).visits)).toBe(1);
    // The POS finds the visit by the ticket's QR (scanner noise and all) or the order's phone.
    expect(await p.visitors.directory.findVisit(p.site, { ticketCode: ` ${sold.tickets[0]!.code}\r\n` }, DAY)).toEqual({ idHash: p.hash(11), orderId: sold.orderId, visitDate: DAY, via: 'ticket' });
    expect(await p.visitors.directory.findVisit(p.site, { phone: `+86 ${PHONE}` }, DAY)).toEqual({ idHash: p.hash(11), orderId: sold.orderId, visitDate: DAY, via: 'phone' });
    expect(await p.visitors.directory.findVisit(p.site, { ticketCode: sold.tickets[0]!.code }, '2027-03-11')).toBeUndefined();
    // A member (the marketing module sets the code) is found by it, with that day's order, or none.
    await p.bridge.store.db.updateTable('visitor_profiles').set({ member_code: 'M-11' }).where('site', '=', p.site).where('id_hash', '=', p.hash(11)).execute();
    expect(await p.visitors.directory.findVisit(p.site, { memberCode: 'M-11' }, DAY)).toEqual({ idHash: p.hash(11), orderId: sold.orderId, visitDate: DAY, via: 'member' });
    expect(await p.visitors.directory.findVisit(p.site, { memberCode: 'M-11' }, '2027-03-12')).toEqual({ idHash: p.hash(11), orderId: null, visitDate: '2027-03-12', via: 'member' });
    expect(await p.visitors.directory.findVisit(p.site, { memberCode: 'M-404' }, DAY)).toBeUndefined();
    expect(await p.visitors.directory.findVisit(p.site, { ticketCode: 'ST1:nosuchticket123' }, DAY)).toBeUndefined();
    expect(await p.visitors.directory.findVisit(p.site, { phone: '13900000000' }, DAY)).toBeUndefined();

    const refunded = await p.call('POST', `/v1/channel/orders/${(await p.sell([14])).orderId}/refund`, { reason: 'weather' });
    expect(refunded.status, JSON.stringify(refunded.body)).toBe(200);
    const r = await p.bridge.store.db.selectFrom('visitor_profiles').selectAll().where('site', '=', p.site).where('id_hash', '=', p.hash(14)).executeTakeFirstOrThrow();
    expect(Number(r.orders)).toBe(0);
    expect(Number(r.ticket_fen)).toBe(0);
    expect((await p.bridge.store.db.selectFrom('visitor_visits').select('refunded').where('site', '=', p.site).where('id_hash', '=', p.hash(14)).executeTakeFirstOrThrow()).refunded).toBe(1);
    expect(await p.visitors.directory.findVisit(p.site, { phone: PHONE }, DAY)).toMatchObject({ orderId: sold.orderId });

    // Rebooked to the next day: the visit moves with it.
    const moved = await p.sell([15]);
    const rebooked = await p.call('POST', `/v1/channel/orders/${moved.orderId}/rebook`, { date: '2027-03-11', slotId: 's10' });
    expect(rebooked.status, JSON.stringify(rebooked.body)).toBe(200);
    expect((await p.bridge.store.db.selectFrom('visitor_visits').select('visit_date').where('site', '=', p.site).where('order_id', '=', moved.orderId).executeTakeFirstOrThrow()).visit_date).toBe('2027-03-11');
  });

  it('deletes a visitor everywhere on request and logs it without the ID number; an unknown visitor is 404 and logged too', async () => {
    const p = await park();
    const sold = await p.sell([21, 22, 23]);
    await p.bridge.store.db.insertInto('pos_lines').values({ site: p.site, source: 'cafe', line_id: 'L1', at: '2027-03-10T04:00:00Z', visit_date: DAY, amount_fen: 3000, category: 'food', item: null, id_hash: p.hash(21), order_id: sold.orderId, link: 'ticket', coupon_code: null, received_at: '2027-03-10T04:00:00Z' }).execute();
    await p.bridge.store.db
      .insertInto('coupons')
      .values({ site: p.site, code: 'C-21', rule_id: 'ticket-only', id_hash: p.hash(21), kind: 'fixed', percent_off: null, amount_fen: 1000, item: null, applies_to: 'pos', valid_from: DAY, valid_to: DAY, channels: null, stacking: 'exclusive', state: 'issued', issued_at: '2027-03-10T04:00:00Z', held_order: null, redeemed_at: null, redeemed_via: null, redeemed_ref: null, discount_fen: null } as never)
      .execute();
    const del = await p.staff('POST', '/visitors/deletions', { idNumber: idNumber(21), by: 'staff:li' });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body).toMatchObject({ visitor: p.hash(21).slice(0, 8), deleted: { profiles: 1, visits: 1, tags: 1, coupons: 1, posLines: 1, orderVisitors: 1 } });
    expect(await p.bridge.store.db.selectFrom('coupons').select('code').where('site', '=', p.site).execute()).toHaveLength(0);
    const db = p.bridge.store.db;
    for (const t of ['visitor_profiles', 'visitor_visits', 'visitor_tags'] as const) expect(await db.selectFrom(t).select('id_hash').where('id_hash', '=', p.hash(21)).execute()).toHaveLength(0);
    expect((await db.selectFrom('pos_lines').select('id_hash').where('line_id', '=', 'L1').executeTakeFirstOrThrow()).id_hash).toBeNull();
    expect(await db.selectFrom('order_visitors').select(['age_band', 'gender', 'region']).where('id_hash', '=', p.hash(21)).executeTakeFirstOrThrow()).toEqual({ age_band: null, gender: null, region: null });
    // The others of the order keep theirs.
    expect(await db.selectFrom('visitor_profiles').select('id_hash').where('id_hash', '=', p.hash(22)).execute()).toHaveLength(1);

    const unknown = await p.staff('POST', '/visitors/deletions', { idNumber: idNumber(999), by: 'staff:li' });
    expect(unknown).toMatchObject({ status: 404, body: { error: 'unknown_visitor' } });
    const log = await db.selectFrom('audit_log').selectAll().where('site', '=', p.site).orderBy('at').execute();
    expect(log.map((l) => [l.action, l.target])).toEqual([
      ['visitor_delete', `visitor:${p.hash(21).slice(0, 8)}`],
      ['visitor_delete_unknown', `visitor:${p.hash(999).slice(0, 8)}`],
    ]);
    expect(JSON.stringify(log)).not.toContain(idNumber(21));
    expect(JSON.stringify(log)).not.toContain(p.hash(21));
  });

  it('opts out through the link it made; a forged token is refused and changes nothing', async () => {
    const p = await park();
    await p.sell([31], { marketingConsent: true });
    const link = p.visitors.directory.optOutLink(p.site, p.hash(31));
    expect(link).toMatch(new RegExp(`^/v1/visitor/${p.site}/opt-out\\?t=`));
    const forgedToken = optOutToken('another-key', p.site, p.hash(31));
    const forged = await p.call('POST', `/v1/visitor/${p.site}/opt-out?t=${forgedToken}`);
    expect(forged).toMatchObject({ status: 403, body: { error: 'opt_out_token_invalid' } });
    expect(await p.visitors.directory.reachable(p.site, p.hash(31))).toBeDefined();
    const page = await p.call('GET', link);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<form method="post"');
    const done = await p.call('POST', link);
    expect(done.status).toBe(200);
    expect(await p.visitors.directory.reachable(p.site, p.hash(31))).toBeUndefined();
    // Staff record consent again (the visitor asked at the desk): reachable again.
    const consent = await p.staff('POST', '/visitors/consent', { idHash: p.hash(31), consent: true, source: 'front-desk', by: 'staff:li' });
    expect(consent.status).toBe(200);
    expect(await p.visitors.directory.reachable(p.site, p.hash(31))).toBeDefined();
  });

  it('shows segments with small cells suppressed, with tag counts', async () => {
    const p = await park({ minGroup: 3 });
    await p.sell([41, 42, 43]); // family of 3
    await p.sell([44]);
    await p.sell([45]);
    await p.sell([46, 47]);
    const gender = await p.staff('GET', `/visitors/segments?from=${DAY}&to=${DAY}&by=gender`);
    expect(gender.status).toBe(200);
    // 41,43,45,47 male; 42,44,46 female.
    expect(gender.body.groups).toMatchObject({ cells: [{ key: 'f', count: 3 }, { key: 'm', count: 4 }], other: null, total: 7 });
    const party = await p.staff('GET', `/visitors/segments?from=${DAY}&to=${DAY}&by=partySize`);
    // party 1: 2 visitors, party 2: 2, party 3: 3 → the two small ones merge into other (4).
    expect(party.body.groups).toMatchObject({ cells: [{ key: '3', count: 3 }], other: { groups: 2, count: 4 }, total: 7 });
    expect(party.body.tags).toMatchObject({ cells: [{ key: 'family', count: 3 }] });
    for (const c of [...party.body.groups.cells, ...party.body.tags.cells]) expect(c.count).toBeGreaterThanOrEqual(3);
    const city = await p.staff('GET', `/visitors/segments?from=${DAY}&to=${DAY}&by=city`);
    expect(city.body.groups.cells).toEqual([{ key: '1101', count: 7, label: '北京市' }]);
    const province = await p.staff('GET', `/visitors/segments?from=${DAY}&to=${DAY}&by=province`);
    expect(province.body.groups.cells).toEqual([{ key: '11', count: 7, label: '北京市' }]);
    const phone = await p.staff('GET', `/visitors/segments?from=${DAY}&to=${DAY}&by=phoneRegion`);
    expect(phone.body.groups.cells).toEqual([{ key: '1101', count: 7, label: '北京市' }]);
    // Another day: nobody, nothing shown.
    const empty = await p.staff('GET', `/visitors/segments?from=2027-03-11&to=2027-03-12&by=gender`);
    expect(empty.body.groups).toEqual({ k: 3, cells: [], other: null, total: 0 });
  });

  it('purges profiles, visits, tags and POS links past the retention', async () => {
    const p = await park({ retentionDays: 30 });
    const old = await p.sell([51, 52, 53]); // a family: tagged
    await p.bridge.store.db.insertInto('pos_lines').values({ site: p.site, source: 'cafe', line_id: 'old', at: '2027-03-10T04:00:00Z', visit_date: DAY, amount_fen: 3000, category: 'food', item: null, id_hash: p.hash(51), order_id: old.orderId, link: 'ticket', coupon_code: null, received_at: '2027-03-10T04:00:00Z' }).execute();
    p.setNow('2027-05-01T02:00:00Z');
    await p.sell([54], { date: '2027-05-02' });
    const counts = await p.visitors.purge(p.site, '2027-05-01');
    expect(counts).toEqual({ visits: 3, profiles: 3, tags: 3, posLinks: 1 });
    const left = await p.bridge.store.db.selectFrom('visitor_profiles').select('id_hash').where('site', '=', p.site).execute();
    expect(left.map((r) => r.id_hash)).toEqual([p.hash(54)]);
    expect((await p.bridge.store.db.selectFrom('pos_lines').select('id_hash').where('line_id', '=', 'old').executeTakeFirstOrThrow()).id_hash).toBeNull();
    // The daily sweep purges once a day.
    const done = new Map<string, string>();
    await p.visitors.sweep(p.site, done);
    expect(done.get(p.site)).toBe('2027-05-01');
  });
});
