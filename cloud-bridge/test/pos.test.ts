// The POS lines' code path (modules/pos/service.ts) on SQLite and PostgreSQL, with a visitor
// directory and a coupon redeemer that write in the caller's transaction like the real ones:
// unknown visits refused and not stored, a line counted once however often and however
// concurrently it is sent, a refused coupon leaves nothing behind.
import { afterEach, describe, expect, it } from 'vitest';
import { CloudStore, num, type Db } from '../src/core/db/store.js';
import { CloudError } from '../src/core/errors.js';
import type { CouponRedeemer, VisitLink, VisitorDirectory } from '../src/core/ports.js';
import { csvToLines } from '../src/modules/pos/csv.js';
import { PosRepository } from '../src/modules/pos/repository.js';
import { PosService, type LineInput } from '../src/modules/pos/service.js';
import { DIALECTS, silentLog, testDb, uniqueId, type TestDb } from './helpers.js';

const TZ = 'Asia/Shanghai';
const DAY = '2027-03-10';
const NOW = new Date('2027-03-10T10:00:00Z'); // 18:00 park time

/** Visits of DAY: a ticket, a member and a phone, each a different visitor. */
function directory(): VisitorDirectory & { retagged: string[] } {
  const visits: Record<string, VisitLink> = {
    'ticket:ST1:t1': { idHash: 'h-ticket', orderId: 'o1', visitDate: DAY, via: 'ticket' },
    'member:M-1': { idHash: 'h-member', orderId: null, visitDate: DAY, via: 'member' },
    'phone:13800138000': { idHash: 'h-phone', orderId: 'o2', visitDate: DAY, via: 'phone' },
  };
  const retagged: string[] = [];
  return {
    retagged,
    findVisit: (_site, by, date) => {
      if (date !== DAY) return Promise.resolve(undefined);
      const key = by.memberCode !== undefined ? `member:${by.memberCode}` : by.ticketCode !== undefined ? `ticket:${by.ticketCode}` : `phone:${by.phone}`;
      return Promise.resolve(visits[key]);
    },
    // As the visitors module does: the profile's pos_fen, in the caller's transaction.
    addSpend: async (db: Db, site, idHash, fen) => {
      await db
        .insertInto('visitor_profiles')
        .values({ site, id_hash: idHash, pos_fen: fen, updated_at: NOW.toISOString() })
        .onConflict((oc) => oc.columns(['site', 'id_hash']).doUpdateSet((eb) => ({ pos_fen: eb('visitor_profiles.pos_fen', '+', fen) })))
        .execute();
    },
    retag: (_site, idHash) => {
      retagged.push(idHash);
      return Promise.resolve();
    },
    reachable: () => Promise.resolve(undefined),
    optOutLink: () => '/opt-out',
    homeDistanceKm: () => Promise.resolve(undefined),
  };
}

/** One use per coupon, decided by a conditional update in the caller's transaction: 10 % off. */
const redeemer: CouponRedeemer = {
  async redeemAtPos(db, site, code, sale) {
    const r = await db.updateTable('coupons').set({ state: 'redeemed', redeemed_ref: sale.ref, redeemed_via: `pos:${sale.source}` }).where('site', '=', site).where('code', '=', code).where('state', '=', 'issued').executeTakeFirst();
    if (num(r.numUpdatedRows) === 0) {
      const known = await db.selectFrom('coupons').select('state').where('site', '=', site).where('code', '=', code).executeTakeFirst();
      throw known ? new CloudError('coupon_used', `coupon ${code} was already redeemed`) : new CloudError('coupon_unknown', `no coupon ${code}`);
    }
    return { discountFen: Math.round(sale.amountFen / 10) };
  },
};

describe.each(DIALECTS)('POS lines on %s', (dialect) => {
  const open: { store: CloudStore; db: TestDb }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.store.close();
      await o.db.cleanup();
    }
  });

  async function setup() {
    const db = await testDb(dialect);
    const store = await CloudStore.open(db.options);
    open.push({ store, db });
    const site = uniqueId('s');
    const visitors = directory();
    const service = new PosService({ repository: new PosRepository(store), visitors, coupons: redeemer, clock: () => NOW, log: silentLog });
    const send = (lines: unknown[], source = 'rest1') => service.submit(site, source, TZ, lines.map((raw): LineInput => ({ raw })));
    const spend = async (idHash: string) => num((await store.db.selectFrom('visitor_profiles').select('pos_fen').where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst())?.pos_fen);
    const stored = () => store.db.selectFrom('pos_lines').selectAll().where('site', '=', site).orderBy('line_id').execute();
    const coupon = (code: string) =>
      store.db.insertInto('coupons').values({ site, code, rule_id: 'r1', id_hash: null, kind: 'percent', percent_off: 10, amount_fen: null, item: null, applies_to: 'pos', valid_from: DAY, valid_to: DAY, channels: null, stacking: 'exclusive', state: 'issued', issued_at: NOW.toISOString(), held_order: null, redeemed_at: null, redeemed_via: null, redeemed_ref: null, discount_fen: null, template: null, categories: null, notified_at: null }).execute();
    return { store, site, service, visitors, send, spend, stored, coupon };
  }
  const line = (lineId: string, extra: Record<string, unknown> = {}) => ({ lineId, at: `${DAY}T12:30:00+08:00`, amountFen: 4800, category: 'restaurant', item: 'noodles', ticketCode: 'ST1:t1', ...extra });

  it('links lines by ticket, member code and phone; the spend shows on each profile; tags are recomputed after', async () => {
    const p = await setup();
    const r = await p.send([line('a1'), line('a2', { ticketCode: undefined, memberCode: 'M-1', amountFen: 1200 }), line('a3', { ticketCode: undefined, phone: '+86 138 0013 8000', amountFen: 3500 })]);
    expect(r).toMatchObject({ accepted: 3, duplicate: 0, refused: 0 });
    expect(r.lines.map((l) => [l.lineId, l.status, l.link])).toEqual([
      ['a1', 'accepted', 'ticket'],
      ['a2', 'accepted', 'member'],
      ['a3', 'accepted', 'phone'],
    ]);
    expect([await p.spend('h-ticket'), await p.spend('h-member'), await p.spend('h-phone')]).toEqual([4800, 1200, 3500]);
    const rows = await p.stored();
    expect(rows.map((x) => [x.line_id, x.link, x.id_hash, x.order_id, x.visit_date])).toEqual([
      ['a1', 'ticket', 'h-ticket', 'o1', DAY],
      ['a2', 'member', 'h-member', null, DAY],
      ['a3', 'phone', 'h-phone', 'o2', DAY],
    ]);
    // The phone only found the visit: it is nowhere in the stored line.
    expect(JSON.stringify(rows)).not.toContain('13800138000');
    expect(p.visitors.retagged.sort()).toEqual(['h-member', 'h-phone', 'h-ticket']);
  });

  it('refuses a line for an unknown visit with the reason and stores nothing of it; the rest of the batch goes in', async () => {
    const p = await setup();
    const r = await p.send([line('u1', { ticketCode: 'ST1:nobody' }), line('u2', { at: '2027-03-09T12:00:00+08:00' }), line('ok')]);
    expect(r).toMatchObject({ accepted: 1, refused: 2 });
    expect(r.lines[0]).toMatchObject({ lineId: 'u1', status: 'refused', reason: 'unknown_visit', message: `no visit on ${DAY} for the ticket code` });
    expect(r.lines[1]).toMatchObject({ status: 'refused', reason: 'unknown_visit', message: expect.stringContaining('2027-03-09') });
    expect((await p.stored()).map((x) => x.line_id)).toEqual(['ok']);
    expect(await p.spend('h-ticket')).toBe(4800);
  });

  it('masks the phone of an unknown visit in the answer', async () => {
    const p = await setup();
    const r = await p.send([line('u3', { ticketCode: undefined, phone: '13900001234' })]);
    expect(r.lines[0]!.message).toBe(`no visit on ${DAY} for the phone *******1234`);
  });

  it('counts a re-sent line once: duplicate, the spend unchanged', async () => {
    const p = await setup();
    expect((await p.send([line('d1')])).accepted).toBe(1);
    const again = await p.send([line('d1'), line('d1', { at: `${DAY}T04:30:00Z` })]);
    expect(again).toMatchObject({ accepted: 0, duplicate: 2, refused: 0 });
    expect(again.lines[0]).toMatchObject({ status: 'duplicate', visitDate: DAY, link: 'ticket' });
    expect(await p.spend('h-ticket')).toBe(4800);
    expect(await p.stored()).toHaveLength(1);
    // Another POS may use the same id: lines are keyed per source.
    expect((await p.send([line('d1')], 'shop1')).accepted).toBe(1);
  });

  it('counts a line once when the same request comes 10 times at once', async () => {
    const p = await setup();
    const batch = [line('c1'), line('c2', { amountFen: 100 })];
    const all = await Promise.all(Array.from({ length: 10 }, () => p.send(batch)));
    expect(all.reduce((s, r) => s + r.accepted, 0)).toBe(2);
    expect(all.reduce((s, r) => s + r.duplicate, 0)).toBe(18);
    expect(all.every((r) => r.refused === 0)).toBe(true);
    expect(await p.spend('h-ticket')).toBe(4900);
    expect(await p.stored()).toHaveLength(2);
  });

  it('refuses the same line id with other content (line_conflict) and keeps the first', async () => {
    const p = await setup();
    await p.send([line('x1')]);
    const r = await p.send([line('x1', { amountFen: 9900 }), line('x1', { ticketCode: undefined, memberCode: 'M-1' }), line('x1', { couponCode: 'C-NONE' })]);
    expect(r.lines.map((l) => l.reason)).toEqual(['line_conflict', 'line_conflict', 'line_conflict']);
    expect((await p.stored())[0]).toMatchObject({ amount_fen: expect.anything(), id_hash: 'h-ticket' });
    expect(num((await p.stored())[0]!.amount_fen)).toBe(4800);
    expect(await p.spend('h-ticket')).toBe(4800);
  });

  it('redeems a coupon in the line\'s transaction: discount stored, net spend on the profile, a second use refused and not stored', async () => {
    const p = await setup();
    await p.coupon('C1');
    const r = await p.send([line('k1', { couponCode: 'c-1' }), line('k2', { couponCode: 'c-1' }), line('k3', { couponCode: 'C-404' })]);
    expect(r.lines.map((l) => [l.status, l.reason ?? null, l.discountFen ?? null])).toEqual([
      ['accepted', null, 480],
      ['refused', 'coupon_used', null],
      ['refused', 'coupon_unknown', null],
    ]);
    const rows = await p.stored();
    expect(rows.map((x) => [x.line_id, x.coupon_code, num(x.discount_fen)])).toEqual([['k1', 'C1', 480]]);
    expect(await p.spend('h-ticket')).toBe(4320);
    // The retry of the accepted line is a duplicate, not a second redemption.
    expect((await p.send([line('k1', { couponCode: 'c-1' })])).lines[0]).toMatchObject({ status: 'duplicate', discountFen: 480 });
  });

  it('one coupon on two different lines sent at once: exactly one wins', async () => {
    const p = await setup();
    await p.coupon('C2');
    const [a, b] = await Promise.all([p.send([line('r1', { couponCode: 'C 2' })]), p.send([line('r2', { couponCode: 'C 2' })])]);
    const statuses = [a!.lines[0]!.status, b!.lines[0]!.status].sort();
    expect(statuses).toEqual(['accepted', 'refused']);
    expect([a!.lines[0]!.reason, b!.lines[0]!.reason].filter(Boolean)).toEqual(['coupon_used']);
    expect(await p.stored()).toHaveLength(1);
  });

  it('takes a CSV with bad rows: good rows in, each bad row refused with its CSV line number', async () => {
    const p = await setup();
    const csv = ['lineId,at,amountYuan,category,item,ticketCode,memberCode', `v1,${DAY} 12:00:00,48.00,restaurant,"noodles, large",ST1:t1,`, `v2,${DAY} 12:05:00,abc,restaurant,,ST1:t1,`, `v3,${DAY} 12:10:00,12,souvenir,,ST1:t1`, `v4,${DAY} 13:00:00,9.9,souvenir,"magnet ""lake""",,M-1`, `v5,${DAY} 13:10:00,5,restaurant,,ST1:nobody,`].join('\n');
    const parsed = csvToLines(csv);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const r = await p.service.submit(p.site, 'rest1', TZ, parsed.lines);
    expect(r).toMatchObject({ accepted: 2, refused: 3 });
    expect(r.lines.map((l) => [l.csvLine, l.lineId, l.status, l.reason ?? null])).toEqual([
      [2, 'v1', 'accepted', null],
      [3, 'v2', 'refused', 'invalid_line'],
      [4, 'v3', 'refused', 'invalid_line'],
      [5, 'v4', 'accepted', null],
      [6, 'v5', 'refused', 'unknown_visit'],
    ]);
    expect(r.lines[1]!.message).toMatch(/^amountFen:/);
    expect(r.lines[2]!.message).toBe('6 fields, the header has 7');
    expect((await p.stored()).map((x) => [x.line_id, x.item])).toEqual([
      ['v1', 'noodles, large'],
      ['v4', 'magnet "lake"'],
    ]);
    expect(await p.spend('h-member')).toBe(990);
  });

  it("lists a source's own lines of a day, nobody else's", async () => {
    const p = await setup();
    await p.send([line('l2', { at: `${DAY}T15:00:00+08:00` }), line('l1'), line('l9', { at: '2027-03-10T00:10:00+08:00' })]);
    await p.send([line('s1')], 'shop1');
    const lines = await p.service.linesOfDay(p.site, 'rest1', DAY);
    expect(lines.map((l) => l.lineId)).toEqual(['l9', 'l1', 'l2']);
    expect(await p.service.linesOfDay(p.site, 'rest1', '2027-03-09')).toEqual([]);
  });
});
