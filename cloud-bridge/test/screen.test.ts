import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudBridge } from '../src/bridge.js';
import { parseCatalogue, sha256Hex } from '../src/core/catalogue.js';
import { DEFAULT_ANNOUNCEMENTS } from '../src/core/capacity-levels.js';
import type { ScreenModel } from '../src/modules/screen/model.js';
import { ScreenModelSchema } from '../src/modules/screen/schemas.js';
import { SCREEN_TEXT } from '../src/modules/screen/text.js';
import { ScreenLive } from '../src/modules/screen/live.js';
import { ScreenRepository } from '../src/modules/screen/repository.js';
import { screenModel } from '../src/modules/screen/screen-data.js';
import { DIALECTS, entriesMessage, idNumber, silentLog, testBridge, testClient, testDb, testSite, uniqueId, type TestDb } from './helpers.js';

// The public entrance screen: its numbers after sales, holds, refunds and entries (on both
// stores), its routes, its stream and the cap on streams. The page needs the built browser
// code (cloud-bridge/dist/web): `npm test` builds first; alone, run `npm run build`.

const KEYS = { web: 'screen-web-key-0123456789', kiosk: 'screen-kiosk-key-0123456789' };
const STAFF = 'screen-staff-token';
/** 10:30 on a Wednesday in Shanghai: the early slot is over, s10 runs, s14 is ahead, eve is closed. */
const T0 = new Date('2027-03-10T10:30:00+08:00');
const DAY = '2027-03-10';

function catalogue() {
  return parseCatalogue({
    name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' },
    ticketTypes: [{ id: 'adult', name: 'Adult', priceFen: 8000 }],
    slots: [
      { id: 's14', start: '14:00', end: '16:00', quota: 6, name: { 'zh-CN': '下午场', en: 'Afternoon' } },
      { id: 'early', start: '06:00', end: '08:00', quota: 5 },
      { id: 's10', start: '10:00', end: '12:00', quota: 6 },
      { id: 'eve', start: '18:00', end: '20:00', quota: 0 },
    ],
    channels: [
      { id: 'web', kind: 'online', apiKeySha256: sha256Hex(KEYS.web) },
      { id: 'kiosk', kind: 'kiosk', apiKeySha256: sha256Hex(KEYS.kiosk) },
    ],
    refundReasons: [{ code: 'weather', label: 'Weather' }],
  });
}

interface Park {
  bridge: CloudBridge;
  db: TestDb;
  site: string;
  base: string;
  setNow(d: Date): void;
  sell(key: string, slotId: string, n: number, opts?: { pay?: boolean }): Promise<{ orderId: string; tickets: string[] }>;
  refund(key: string, orderId: string): Promise<void>;
  /** One entries message from gate g1: admissions and not-passed corrections, as the gate sends them. */
  gate(events: Record<string, unknown>[]): Promise<void>;
  model(): Promise<ScreenModel>;
  close(): Promise<void>;
}

let visitor = 0;
let seq = 0;

async function park(dialect: (typeof DIALECTS)[number]): Promise<Park> {
  const db = await testDb(dialect);
  const s = testSite(['g1']);
  let now = T0;
  const clock = () => now;
  const bridge = await testBridge(
    db,
    [{ ...s.config, sales: { catalogue: catalogue(), capacity: { daily: 10, yellow: 0.5, orange: 0.8 }, idHashKey: 'screen-id-hash-key-0123456789abcdef', staffTokenSha256: createHash('sha256').update(STAFF).digest('hex') } }],
    { clock },
  );
  const site = s.config.id;
  const base = `http://127.0.0.1:${bridge.httpPort}`;
  const mqtt = await testClient();
  const post = async (key: string, path: string, body: unknown) => {
    const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': uniqueId('idem') }, body: JSON.stringify(body) });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return {
    bridge,
    db,
    site,
    base,
    setNow: (d) => void (now = d),
    async sell(key, slotId, n, opts = {}) {
      const visitors = Array.from({ length: n }, () => ({ name: `游客${++visitor}`, idNumber: idNumber(5000 + visitor) }));
      const order = (await post(key, '/v1/channel/orders', { typeId: 'adult', date: DAY, slotId, contactPhone: '13800138000', visitors })) as { orderId: string; amountFen: number };
      if (opts.pay === false) return { orderId: order.orderId, tickets: [] };
      const paid = (await post(key, `/v1/channel/orders/${order.orderId}/pay`, { paymentRef: uniqueId('pay'), amountFen: order.amountFen })) as { tickets: { ticketId: string }[] };
      return { orderId: order.orderId, tickets: paid.tickets.map((t) => t.ticketId) };
    },
    async refund(key, orderId) {
      await post(key, `/v1/channel/orders/${orderId}/refund`, { reason: 'weather' });
    },
    async gate(events) {
      const before = bridge.metrics.inserted + bridge.metrics.duplicates;
      await mqtt.publishAsync(`stile/${site}/gates/g1/entries`, entriesMessage(site, 'g1', events), { qos: 1 });
      for (let i = 0; i < 200 && bridge.metrics.inserted + bridge.metrics.duplicates < before + events.length; i++) await new Promise((r) => setTimeout(r, 25));
    },
    async model() {
      const res = await fetch(`${base}/screen/${site}/model`);
      expect(res.status).toBe(200);
      return ScreenModelSchema.parse(await res.json()) as ScreenModel;
    },
    async close() {
      await mqtt.endAsync();
      await bridge.close();
      await db.cleanup();
    },
  };
}

const admit = (ticketId: string, at = '2027-03-10T10:20:00+08:00', persons = 1) => ({
  eventId: uniqueId('ev'),
  seq: String(++seq),
  epoch: 1,
  kind: 'admit',
  ticketId,
  typeId: 'adult',
  credential: 'qr',
  persons,
  at,
});
const notPassed = (ticketId: string, refSeq: string, persons = 1) => ({ ...admit(ticketId, '2027-03-10T10:21:00+08:00', persons), kind: 'not-passed', refSeq });

/** Polls the model until `check` passes (sales and entries reach the screen through site events and a coalesced build). */
async function until(p: Park, check: (m: ScreenModel) => void, timeoutMs = 10_000): Promise<ScreenModel> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = await p.model();
    try {
      check(m);
      return m;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const slot = (m: ScreenModel, id: string) => m.slots.find((s) => s.id === id)!;

describe.each(DIALECTS)('entrance screen model (%s)', (dialect) => {
  let p: Park;
  beforeAll(async () => {
    p = await park(dialect);
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  it('counts places left per slot, admissions and the level through sales, holds, refunds and entries', async () => {
    // Nothing sold: the ticket window can sell the whole day (10), which two open slots of 6 hold.
    let m = await p.model();
    expect(m).toMatchObject({ site: p.site, siteName: { zh: '青山湖风景区', en: 'Qingshan Lake Scenic Area' }, date: DAY, timeZone: 'Asia/Shanghai', level: 'green', remaining: 10, salesOpen: true, admittedToday: 0, capacity: 10 });
    expect(m.slots).toEqual([
      { id: 'early', start: '06:00', end: '08:00', remaining: 0, state: 'over' },
      { id: 's10', start: '10:00', end: '12:00', remaining: 6, state: 'open' },
      { id: 's14', start: '14:00', end: '16:00', name: { zh: '下午场', en: 'Afternoon' }, remaining: 6, state: 'open' },
      { id: 'eve', start: '18:00', end: '20:00', remaining: 0, state: 'closed' },
    ]);
    expect(m.announcement).toEqual(DEFAULT_ANNOUNCEMENTS.green);

    // Online sales: 3 in s10, then 1 more; an unpaid order holds its 2 places in s14 until it expires.
    const a = await p.sell(KEYS.web, 's10', 3);
    const b = await p.sell(KEYS.web, 's10', 1);
    await p.sell(KEYS.web, 's14', 2, { pay: false });
    await until(p, (x) => expect([slot(x, 's10').remaining, slot(x, 's14').remaining, x.remaining]).toEqual([2, 4, 4]));
    expect(await p.bridge.sales.expireHolds(-1)).toBe(1);
    await p.refund(KEYS.web, b.orderId);
    await until(p, (x) => expect([slot(x, 's10').remaining, slot(x, 's14').remaining, x.remaining]).toEqual([3, 6, 7]));

    // Order a's three visitors pass gate g1; the passage sensor saw one of them not walk through;
    // an admission of a ticket the cloud never issued is an anomaly and counts for nothing.
    const first = admit(a.tickets[0]!);
    await p.gate([first, admit(a.tickets[1]!), admit(a.tickets[2]!)]);
    await until(p, (x) => expect(x.admittedToday).toBe(3));
    await p.gate([notPassed(a.tickets[0]!, first.seq)]);
    await p.gate([admit('never-issued-ticket')]);
    await until(p, (x) => expect(x.admittedToday).toBe(2));
    // Yesterday's admissions are not today's.
    await p.gate([admit(a.tickets[1]!, '2027-03-09T16:00:00+08:00')]);
    m = await p.model();
    expect(m.admittedToday).toBe(2);

    // The ticket window sells on to yellow (load 6 of 10: the announcement fills in the percent) …
    await p.sell(KEYS.kiosk, 's14', 3);
    m = await until(p, (x) => expect(x.level).toBe('yellow'));
    expect(m.announcement.zh).toContain('60%');
    expect(m.announcement.en).toContain('60%');
    expect([slot(m, 's10').remaining, slot(m, 's14').remaining, m.remaining]).toEqual([3, 3, 4]);
    // … and to red: nothing left anywhere, sales stopped, the red announcement.
    await p.sell(KEYS.kiosk, 's14', 3);
    await p.sell(KEYS.kiosk, 's10', 1);
    m = await until(p, (x) => expect(x.level).toBe('red'));
    expect(m).toMatchObject({ remaining: 0, salesOpen: false, announcement: DEFAULT_ANNOUNCEMENTS.red });
    expect(m.slots.map((s) => [s.id, s.state, s.remaining])).toEqual([
      ['early', 'over', 0],
      ['s10', 'soldOut', 0],
      ['s14', 'soldOut', 0],
      ['eve', 'closed', 0],
    ]);

    // Time passes: at 12:30 the morning slot is over.
    p.setNow(new Date('2027-03-10T12:30:00+08:00'));
    m = await until(p, (x) => expect(slot(x, 's10').state).toBe('over'));

    // Nothing private: no ticket id, ID number, hash or visitor name, no phone, no order id.
    const text = JSON.stringify(m);
    for (const t of a.tickets) expect(text).not.toContain(t);
    expect(text).not.toContain(a.orderId);
    expect(text).not.toMatch(/游客\d|1380013|110105/); // visitor names are 游客<n>; the announcements speak of 游客 too
    expect(Object.keys(m).sort()).toEqual(['admittedToday', 'announcement', 'capacity', 'date', 'level', 'remaining', 'salesOpen', 'site', 'siteName', 'slots', 'timeZone', 'updatedAt']);
  }, 60_000);

  it('on a busy day: 20,000 admissions, 200 of them corrected by the passage sensor (prints the build time)', async () => {
    const before = (await p.model()).admittedToday;
    const at = (i: number) => new Date(Date.parse('2027-03-10T08:00:00+08:00') + i * 1000).toISOString();
    const row = (i: number, kind: string, refSeq: string | null) => ({
      event_id: uniqueId('bulk'),
      site: p.site,
      gate: 'g2',
      seq: String(1_000_000 + i),
      epoch: 1,
      kind,
      ref_seq: refSeq,
      ticket_id: `bulk-${i % 20_000}`,
      type_id: 'adult',
      credential: 'qr',
      persons: 1,
      at: at(i),
      received_at: '2027-03-10T12:00:00Z',
      anomaly: null,
    });
    // Written as ingest writes them; the not-passed corrections name admissions 0, 100, 200 …
    const rows = [...Array.from({ length: 20_000 }, (_, i) => row(i, 'admit', null)), ...Array.from({ length: 200 }, (_, i) => row(20_000 + i, 'not-passed', String(1_000_000 + i * 100)))];
    for (let i = 0; i < rows.length; i += 500) await p.bridge.store.db.insertInto('entries').values(rows.slice(i, i + 500)).execute();
    await p.bridge.capacity.refresh(p.site);
    await until(p, (x) => expect(x.admittedToday).toBe(before + 20_000 - 200));

    // One build as the module makes it after a change: the store's part (sold counts, corrections) and the pure part.
    const repo = new ScreenRepository(p.bridge.store);
    const site = { id: p.site, catalogue: catalogue(), capacity: { daily: 10, yellow: 0.5, orange: 0.8 }, idHashKey: 'x' };
    const cap = (await p.bridge.capacity.current(p.site))!;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      screenModel(site, { level: cap.level, load: cap.load.load, admitted: cap.load.admitted }, await repo.rows(p.site, DAY, { from: '2027-03-09', to: '2027-03-12' }), new Date('2027-03-10T12:30:00+08:00'));
      times.push(performance.now() - t);
    }
    const t = performance.now();
    await p.bridge.capacity.current(p.site);
    const recount = performance.now() - t;
    console.log(`screen (${dialect}): a model build on a day of 20,000 admissions: ${times.map((x) => x.toFixed(1)).join(', ')} ms (5 runs); capacity's recount of the same day, which the build reuses: ${recount.toFixed(0)} ms`);
  }, 60_000);
});

describe('entrance screen live models', () => {
  it('builds one model at a time per site, one per burst of changes, shared by concurrent callers', async () => {
    let running = 0;
    let most = 0;
    let builds = 0;
    let value = 0;
    /** Each build waits until the test lets it finish. */
    const gates: (() => void)[] = [];
    const build = async (site: string) => {
      const remaining = value; // what the store holds when the build reads it
      builds++;
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => gates.push(r));
      running--;
      return { site, remaining } as unknown as ScreenModel;
    };
    const release = async () => {
      for (let i = 0; i < 100 && gates.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      gates.shift()!();
      await new Promise((r) => setTimeout(r, 5));
    };
    const live = new ScreenLive(build, silentLog, { coalesceMs: 0, reuseMs: 60_000, freshMs: 60_000 });
    const pushes: string[] = [];
    live.subscribe('a', (p) => void pushes.push(`${p.event}:${p.event === 'model' ? (JSON.parse(p.data) as { remaining: number }).remaining : ''}`));
    // Twenty screens asking at once: one build.
    const asked = Promise.all(Array.from({ length: 20 }, () => live.current('a')));
    await release();
    await asked;
    expect(builds).toBe(1);
    // A change starts a build; fifty more while it runs make one more build after it, not fifty.
    value = 1;
    live.changed('a');
    for (let i = 0; i < 100 && builds < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(builds).toBe(2);
    value = 2;
    for (let i = 0; i < 50; i++) {
      live.changed('a');
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await release();
    await release();
    await new Promise((r) => setTimeout(r, 30));
    expect(builds).toBe(3);
    expect(gates).toHaveLength(0);
    expect(most).toBe(1);
    // The watcher got each new model once; a build of the same content is not pushed again.
    expect(pushes).toEqual(['model:0', 'model:1', 'model:2']);
    live.changed('a');
    await release();
    expect(builds).toBe(4);
    expect(pushes).toHaveLength(3);
    // A site nobody watches is not rebuilt on changes; it is built when asked.
    for (let i = 0; i < 10; i++) live.changed('b');
    await new Promise((r) => setTimeout(r, 30));
    expect(builds).toBe(4);
    const b = live.current('b');
    await release();
    await b;
    expect(builds).toBe(5);
    live.close();
  });
});

describe('entrance screen labels', () => {
  it('has the same keys and placeholders, all non-empty, in both languages; status words in Chinese', () => {
    const zh = SCREEN_TEXT['zh-CN'];
    const en = SCREEN_TEXT.en;
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    const holes = (t: string) => (t.match(/\{[a-z]+\}/g) ?? []).sort();
    for (const key of Object.keys(zh) as (keyof typeof zh)[]) {
      expect(zh[key].trim(), key).not.toBe('');
      expect(en[key].trim(), key).not.toBe('');
      expect(holes(en[key]), key).toEqual(holes(zh[key]));
    }
    for (const key of ['level_green', 'level_yellow', 'level_orange', 'level_red', 'slot_open', 'slot_soldOut', 'slot_closed', 'slot_over', 'lost'] as const) expect(zh[key], key).toMatch(/[\u4e00-\u9fff]/);
  });
});

describe('entrance screen live models, when nothing changes', () => {
  it('tells its watchers the model is still current, at most every freshMs', async () => {
    let now = 0;
    const live = new ScreenLive(async (site) => ({ site, remaining: 1, updatedAt: `t${now}` }) as unknown as ScreenModel, silentLog, { coalesceMs: 0, reuseMs: 0, freshMs: 15_000 }, () => now);
    const pushes: string[] = [];
    live.subscribe('a', (p) => void pushes.push(`${p.event}:${p.data}`));
    await live.current('a'); // the first model
    for (const t of [5000, 10_000, 15_000, 20_000, 30_000]) {
      now = t;
      await live.current('a');
    }
    expect(pushes.map((p) => p.split(':')[0])).toEqual(['model', 'fresh', 'fresh']);
    expect(pushes[1]).toBe('fresh:{"at":"t15000"}');
    live.close();
  });
});

describe('entrance screen routes', () => {
  let p: Park;
  beforeAll(async () => {
    p = await park('sqlite');
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  it('serves the page with a strict CSP and its built assets, versioned; refuses unknown sites', async () => {
    for (const [query, lang, mode] of [
      ['', 'zh-CN', 'both'],
      ['?lang=zh-CN', 'zh-CN', 'zh-CN'],
      ['?lang=en', 'en', 'en'],
    ] as const) {
      const res = await fetch(`${p.base}/screen/${p.site}${query}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'nonce-[^']+'; style-src 'self'; connect-src 'self';.*frame-ancestors 'none'$/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const html = await res.text();
      expect(html).toContain(`<html lang="${lang}">`);
      expect(html).toContain(`data-mode="${mode}"`);
      expect(html).toContain('当前剩余票量');
      expect(html).toContain('Tickets left today');
      expect(html).not.toMatch(/<style\b|\sstyle\s*=|\son[a-z]+\s*=/i);
      expect(html).not.toContain('{{');
      for (const [name, type] of [['screen.js', 'text/javascript'], ['screen.css', 'text/css']] as const) {
        const path = new RegExp(`/screen/assets/${name.replace('.', '\\.')}\\?v=[0-9a-f]{16}`).exec(html)?.[0];
        expect(path, name).toBeDefined();
        const a = await fetch(p.base + path);
        expect(a.status).toBe(200);
        expect(a.headers.get('content-type')).toContain(type);
        expect(a.headers.get('cache-control')).toContain('immutable');
        const body = Buffer.from(await a.arrayBuffer());
        expect(html).toContain(`integrity="sha384-${createHash('sha384').update(body).digest('base64')}"`);
        const again = await fetch(`${p.base}/screen/assets/${name}`, { headers: { 'if-none-match': a.headers.get('etag')! } });
        expect(again.status).toBe(304);
        expect(again.headers.get('cache-control')).toBe('no-cache');
      }
    }
    expect((await fetch(`${p.base}/screen/assets/other.js`)).status).toBe(404);
    // Attacks: no file but the two built ones, no markup reflected for a made-up site.
    for (const path of ['/screen/assets/..%2F..%2Fpackage.json', '/screen/assets/%2e%2e%2fscreen.html', '/screen/assets/screen.html', '/screen/assets/screen.js%00.css']) {
      const res = await fetch(p.base + path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('<html');
    }
    const xss = await fetch(`${p.base}/screen/%3Cscript%3Ealert(1)%3C%2Fscript%3E`);
    expect(xss.status).toBe(404);
    expect(xss.headers.get('content-type')).toContain('application/json');
    for (const path of ['/screen/no-such-site', '/screen/no-such-site/model', '/screen/no-such-site/stream']) {
      const res = await fetch(p.base + path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: string }).error).toBe('unknown_site');
    }
  });

  it('documents its model and stream in the OpenAPI document, public', async () => {
    const doc = (await (await fetch(`${p.base}/openapi.json`)).json()) as { paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>> };
    for (const path of ['/screen/{site}/model', '/screen/{site}/stream']) {
      const op = doc.paths[path]?.get;
      expect(op, path).toBeDefined();
      expect(op!.security).toBeUndefined();
      expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining(['200', '404', '413', '500']));
    }
    expect(Object.keys(doc.paths['/screen/{site}/stream']!.get!.responses)).toContain('503');
  });

  it('streams the model, then each change; a sale shows within a second', async () => {
    const stream = await openStream(p);
    const first = await stream.next('model');
    expect(JSON.parse(first).remaining).toBe(10);
    const t = performance.now();
    await p.sell(KEYS.web, 's14', 2);
    let m: ScreenModel;
    do m = JSON.parse(await stream.next('model')) as ScreenModel;
    while (m.remaining !== 8);
    console.log(`screen: a sale reached an open stream in ${(performance.now() - t).toFixed(0)} ms (sale, capacity recount, coalesced build)`);
    stream.close();
  });

  it('takes 50 streams per site, refuses the 51st with 503 and Retry-After, and takes one again when a screen leaves; a screen that reads nothing holds up nobody', async () => {
    // One client that never reads what it is sent (a hung LED board): its socket only ever has the newest model waiting.
    const stuck = connect(p.bridge.httpPort, '127.0.0.1');
    await new Promise<void>((r) => stuck.once('connect', () => r()));
    stuck.write(`GET /screen/${p.site}/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
    stuck.pause();
    const streams = [];
    for (let i = 0; i < 49; i++) streams.push(await openStream(p));
    await Promise.all(streams.map((s) => s.next('model')));
    const refused = await fetch(`${p.base}/screen/${p.site}/stream`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(await refused.json()).toMatchObject({ error: 'too_many_streams' });
    expect(p.bridge.metrics.refused.screen_streams_full).toBe(1);
    // The model itself is never refused.
    expect((await fetch(`${p.base}/screen/${p.site}/model`)).status).toBe(200);

    // Every open stream gets the next sale, the stuck one notwithstanding.
    const before = (await p.model()).remaining;
    const t = performance.now();
    await p.sell(KEYS.web, 's14', 1);
    const seen = await Promise.all(
      streams.map(async (s) => {
        let m: ScreenModel;
        do m = JSON.parse(await s.next('model')) as ScreenModel;
        while (m.remaining !== before - 1);
        return performance.now() - t;
      }),
    );
    seen.sort((a, b) => a - b);
    console.log(`screen: a sale reached all 49 reading streams (one more stuck) in ${seen[0]!.toFixed(0)}–${seen[seen.length - 1]!.toFixed(0)} ms`);

    streams.pop()!.close();
    stuck.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = [await openStream(p), await openStream(p)];
    for (const s of again) expect(JSON.parse(await s.next('model')).site).toBe(p.site);
    for (const s of [...streams, ...again]) s.close();
  }, 60_000);
});

/** An SSE stream of the screen, read with fetch(): next(event) resolves with the data of the next event of that name. */
async function openStream(p: Park): Promise<{ next(event: 'model' | 'fresh'): Promise<string>; close(): void }> {
  const ac = new AbortController();
  const res = await fetch(`${p.base}/screen/${p.site}/stream`, { signal: ac.signal, headers: { accept: 'text/event-stream' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const events: { event: string; data: string }[] = [];
  return {
    async next(event) {
      for (;;) {
        const i = events.findIndex((e) => e.event === event);
        if (i >= 0) return events.splice(0, i + 1).pop()!.data;
        const r = await reader.read();
        if (r.done) throw new Error('stream ended');
        buf += decoder.decode(r.value, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          events.push({ event: name, data });
        }
      }
    },
    close: () => ac.abort(),
  };
}
