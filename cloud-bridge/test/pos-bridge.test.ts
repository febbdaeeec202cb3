// POS lines end to end on SQLite and PostgreSQL, through the real visitors and marketing
// modules: a ticket sold and paid, the restaurant's lines found by the ticket QR or the
// phone, the spend on the visitor's profile, a coupon used once, and the back-office import
// (`stile-cloud pos import`) over the same code path.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashIdNumber } from '@stile/config';
import { posCommand } from '../src/bin/pos-command.js';
import type { CloudBridge } from '../src/bridge.js';
import { parseCatalogue, sha256Hex } from '../src/core/catalogue.js';
import { num } from '../src/core/db/store.js';
import { DIALECTS, idNumber, testBridge, testDb, testSite, uniqueId, type TestDb } from './helpers.js';

const CHANNEL_KEY = 'pos-e2e-channel-key-0123456789';
const REST_KEY = 'pos-e2e-restaurant-key-0123456789';
const SHOP_KEY = 'pos-e2e-shop-key-0123456789';
const ID_KEY = 'pos-e2e-id-hash-key-0123456789abcdef';
const DAY = '2027-03-10';
const RAW_CATALOGUE = {
  ticketTypes: [{ id: 'adult', name: 'Adult', priceFen: 8000 }],
  slots: [{ id: 's10', start: '10:00', end: '12:00', quota: 100 }],
  channels: [{ id: 'web', kind: 'online', apiKeySha256: sha256Hex(CHANNEL_KEY) }],
  refundReasons: [{ code: 'weather', label: 'Weather' }],
};
const POS = { sources: [{ id: 'rest1', name: 'Lakeside restaurant', apiKeySha256: sha256Hex(REST_KEY) }, { id: 'shop1', apiKeySha256: sha256Hex(SHOP_KEY) }] };

describe.each(DIALECTS)('POS lines end to end on %s', (dialect) => {
  const open: { bridge: CloudBridge; db: TestDb; dir?: string }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.bridge.close();
      await o.db.cleanup();
      if (o.dir) rmSync(o.dir, { recursive: true, force: true });
    }
  });

  async function park() {
    const db = await testDb(dialect);
    const site = testSite(['g1']);
    let now = new Date(`${DAY}T08:00:00+08:00`);
    const config = { ...site.config, sales: { catalogue: parseCatalogue(RAW_CATALOGUE), capacity: { daily: 1000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY }, pos: POS };
    const bridge = await testBridge(db, [config], { salesClock: () => now });
    open.push({ bridge, db });
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    const call = async (method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    /** A paid order for the visitor with ID number n; its ticket code. */
    const sell = async (n: number, phone = '13800138000') => {
      const order = await call('POST', '/v1/channel/orders', CHANNEL_KEY, { typeId: 'adult', date: DAY, slotId: 's10', contactPhone: phone, visitors: [{ name: '游客', idNumber: idNumber(n) }] }, { 'idempotency-key': uniqueId('idem') });
      const paid = await call('POST', `/v1/channel/orders/${order.body.orderId}/pay`, CHANNEL_KEY, { paymentRef: uniqueId('p'), amountFen: 8000 }, { 'idempotency-key': uniqueId('idem') });
      expect(paid.body.status).toBe('paid');
      return paid.body.tickets[0].code as string;
    };
    const lines = (key: string, body: unknown[]) => call('POST', '/v1/pos/lines', key, { lines: body });
    const profile = (n: number) => bridge.store.db.selectFrom('visitor_profiles').selectAll().where('site', '=', site.config.id).where('id_hash', '=', hashIdNumber(ID_KEY, idNumber(n))).executeTakeFirst();
    const evening = () => (now = new Date(`${DAY}T20:00:00+08:00`));
    return { bridge, db, site: site.config.id, config, sell, lines, call, profile, evening, now: () => now };
  }
  const line = (lineId: string, extra: Record<string, unknown>) => ({ lineId, at: `${DAY}T12:30:00+08:00`, amountFen: 4800, category: 'restaurant', item: 'noodles', ...extra });

  it('a paid visitor eats at the restaurant: the line is linked by the ticket QR or the phone and the spend shows on the profile', async () => {
    const p = await park();
    const code = await p.sell(1);
    await p.sell(2, '13900001111');
    p.evening();
    const r = await p.lines(REST_KEY, [line('r-1', { ticketCode: code }), line('r-2', { phone: '139 0000 1111', amountFen: 2500, category: 'souvenir' }), line('r-3', { ticketCode: 'ST1:AAAAAAAAAAAAAAAAAAAAAAAA' })]);
    expect(r.status).toBe(200);
    expect(r.body.lines.map((l: { status: string; link?: string; reason?: string }) => l.link ?? l.reason)).toEqual(['ticket', 'phone', 'unknown_visit']);
    expect(num((await p.profile(1))?.pos_fen)).toBe(4800);
    expect(num((await p.profile(2))?.pos_fen)).toBe(2500);
    const stored = await p.bridge.store.db.selectFrom('pos_lines').select(['line_id', 'order_id']).where('site', '=', p.site).orderBy('line_id').execute();
    expect(stored.map((s) => s.line_id)).toEqual(['r-1', 'r-2']);
    expect(stored.every((s) => s.order_id !== null)).toBe(true);
  });

  it('the same batch sent by two tills at once (a retry racing the original) is counted once', async () => {
    const p = await park();
    const code = await p.sell(3);
    p.evening();
    const batch = Array.from({ length: 20 }, (_, i) => line(`b-${i}`, { ticketCode: code, amountFen: 100 }));
    const all = await Promise.all(Array.from({ length: 4 }, () => p.lines(REST_KEY, batch)));
    expect(all.reduce((s, r) => s + (r.body.accepted as number), 0)).toBe(20);
    expect(all.reduce((s, r) => s + (r.body.duplicate as number), 0)).toBe(60);
    expect(num((await p.profile(3))?.pos_fen)).toBe(2000);
    // Another source's line with the same id is its own line.
    expect((await p.lines(SHOP_KEY, [line('b-0', { ticketCode: code, amountFen: 100 })])).body.accepted).toBe(1);
    const day = await p.call('GET', `/v1/pos/lines?date=${DAY}`, SHOP_KEY);
    expect(day.body).toMatchObject({ source: 'shop1', count: 1, amountFen: 100 });
  });

  it('a POS coupon is redeemed with the line, once, also when two tills try it at once', async () => {
    const p = await park();
    const code = await p.sell(4);
    p.evening();
    const at = p.now().toISOString();
    await p.bridge.store.db
      .insertInto('coupons')
      .values({ site: p.site, code: 'LUNCH10', rule_id: 'manual', id_hash: null, kind: 'percent', percent_off: 10, amount_fen: null, item: null, applies_to: 'pos', valid_from: DAY, valid_to: DAY, channels: null, stacking: 'stackable', state: 'issued', issued_at: at, held_order: null, redeemed_at: null, redeemed_via: null, redeemed_ref: null, discount_fen: null, template: null, categories: null, notified_at: null })
      .execute();
    const [a, b] = await Promise.all([p.lines(REST_KEY, [line('k-1', { ticketCode: code, couponCode: 'lunch-10' })]), p.lines(SHOP_KEY, [line('k-2', { ticketCode: code, couponCode: 'lunch-10' })])]);
    const answers = [a.body.lines[0], b.body.lines[0]] as { status: string; reason?: string; discountFen?: number }[];
    expect(answers.map((x) => x.status).sort()).toEqual(['accepted', 'refused']);
    expect(answers.find((x) => x.status === 'accepted')!.discountFen).toBe(480);
    expect(answers.find((x) => x.status === 'refused')!.reason).toBe('coupon_used');
    // The line names the coupon as the coupons module spells it.
    expect((await p.bridge.store.db.selectFrom('pos_lines').select(['coupon_code', 'discount_fen']).where('site', '=', p.site).execute()).map((x) => [x.coupon_code, num(x.discount_fen)])).toEqual([['LUNCH10', 480]]);
    expect(num((await p.profile(4))?.pos_fen)).toBe(4320);
    const coupon = await p.bridge.store.db.selectFrom('coupons').selectAll().where('site', '=', p.site).where('code', '=', 'LUNCH10').executeTakeFirstOrThrow();
    expect(coupon.state).toBe('redeemed');
  });

  it('stile-cloud pos import: a day\'s export through the same path, a summary, exit 1 when lines were refused; a second import changes nothing', async () => {
    const p = await park();
    const code = await p.sell(5);
    p.evening();
    const dir = mkdtempSync(join(tmpdir(), 'stile-pos-import-'));
    open[open.length - 1]!.dir = dir;
    const cfg = {
      mqtt: { url: 'mqtt://127.0.0.1:1883' },
      database: { sqlitePath: p.db.options.sqlitePath ?? 'unused.db' },
      sites: [{ id: p.site, controlKey: p.config.controlKey, sales: { catalogue: RAW_CATALOGUE, capacity: { daily: 1000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY }, pos: POS }],
    };
    writeFileSync(join(dir, 'cloud.yaml'), JSON.stringify(cfg));
    const rows = Array.from({ length: 1200 }, (_, i) => `i-${i},${DAY} 13:${String(i % 60).padStart(2, '0')}:00,1.00,souvenir,,${code}`);
    writeFileSync(join(dir, 'day.csv'), ['lineId,at,amountYuan,category,item,ticketCode', ...rows, `i-bad,${DAY} 14:00:00,oops,souvenir,,${code}`].join('\n'));
    const env = { ...(p.db.options.databaseUrl ? { DATABASE_URL: p.db.options.databaseUrl } : {}) };
    const run = async (...args: string[]) => {
      let out = '';
      let err = '';
      const exit = await posCommand(args, env, (s) => (out += s), (s) => (err += s), p.now);
      return { exit, out, err };
    };
    const first = await run('import', '--config', join(dir, 'cloud.yaml'), '--site', p.site, '--source', 'shop1', join(dir, 'day.csv'));
    expect(first.err).toBe('');
    expect(first.exit).toBe(1);
    expect(first.out).toContain('1201 lines for');
    expect(first.out).toContain('1200 accepted, 0 duplicate, 1 refused');
    expect(first.out).toMatch(/line 1202 \(i-bad\): invalid_line: amountFen:/);
    expect(num((await p.profile(5))?.pos_fen)).toBe(120_000);
    const again = await run('import', '--config', join(dir, 'cloud.yaml'), '--site', p.site, '--source', 'shop1', '--json', join(dir, 'day.csv'));
    expect(JSON.parse(again.out)).toMatchObject({ accepted: 0, duplicate: 1200, refused: 1 });
    expect(num((await p.profile(5))?.pos_fen)).toBe(120_000);
    expect((await run('import', '--config', join(dir, 'cloud.yaml'), '--site', p.site, '--source', 'nope', join(dir, 'day.csv'))).exit).toBe(2);
    expect((await run('import', '--site', p.site, join(dir, 'day.csv'))).err).toMatch(/missing --config, --source/);
  }, 120_000);
});
