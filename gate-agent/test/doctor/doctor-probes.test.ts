/**
 * The doctor's probes against real servers and files: a cloud's whitelist API served over
 * HTTP with real signatures (a small snapshot read whole, a large one only peeked at and
 * vouched for by its newest signed delta or the signed ticket types), the cloud's Date
 * header, and damaged database files.
 */
import { mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthorization, signControl } from '@stile/config';
import { probeSnapshot, SNAPSHOT_PEEK_BYTES } from '../../src/cli/doctor-probe-cloud.js';
import { checkDatabase } from '../../src/cli/doctor-checks.js';
import { probeCloudClock, probeDatabase } from '../../src/cli/doctor-probes.js';
import { startHttp } from '../helpers/mqtt.js';
import { controlKey, signedSnapshot } from '../helpers/signed-snapshot.js';

const SITE = 'demo-park';
const TODAY = '2026-11-25';
const cred = { username: 'gate.demo-park.east-1', password: 'pw' };
const c1 = controlKey('c1');
const stranger = controlKey('c1'); // same id, another key: what a forged cloud would sign with

type Server = Awaited<ReturnType<typeof startHttp>>;
let server: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A cloud whose snapshot is `body`, whose changes answer `deltas`, and whose ticket types are `types` (null: 404). */
async function cloud(o: { body: string; head: string; deltas?: unknown[]; types?: unknown; status?: number }): Promise<Server> {
  server = await startHttp((req, res) => {
    if (req.headers.authorization !== basicAuthorization(cred.username, cred.password)) {
      res.writeHead(401).end('{"error":"unauthorized"}');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.endsWith('/whitelist/snapshot')) {
      res.writeHead(o.status ?? 200, { 'content-type': 'application/x-ndjson', 'x-stile-as-of-seq': o.head });
      res.end(o.body);
    } else if (url.pathname.endsWith('/whitelist/changes')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ v: 1, deltas: o.deltas ?? [] }));
    } else if (url.pathname.endsWith('/ticket-types') && o.types) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o.types));
    } else {
      res.writeHead(404).end('{}');
    }
  });
  return server;
}

const delta = (key = c1.key) => signControl({ v: 1 as const, site: SITE, seq: '42', changes: [{ op: 'refund' as const, ticketId: 'KTX454KZMN2R3HSDOJG22GQ5' }] }, key);
const types = (key = c1.key) => signControl({ v: 1 as const, site: SITE, ticketTypes: [{ id: 'adult' }], at: '2026-11-25T01:00:00.000Z' }, key);
/** A snapshot larger than the doctor reads: only its first line and the signed documents beside it count. */
const big = (head: string) => `${JSON.stringify({ snapshot: { site: SITE, asOfSeq: head } })}\n${`${JSON.stringify({ filler: 'x'.repeat(200) })}\n`.repeat(Math.ceil((SNAPSHOT_PEEK_BYTES * 1.5) / 215))}`;

describe('snapshot probe', () => {
  it('reads a small snapshot whole and checks its own signature', async () => {
    const s = await cloud({ body: signedSnapshot(c1.key, { site: SITE, asOfSeq: '7', tickets: ['{"a":1}', '{"a":2}'] }), head: '7' });
    const r = await probeSnapshot(s.url, SITE, cred, c1.trusted, TODAY);
    expect(r).toEqual({ headSeq: '7', result: { ok: true, header: { site: SITE, asOfSeq: '7' }, headerError: null, signature: { via: 'snapshot', ok: true } } });
  });

  it('a snapshot signed with a key the gate does not trust, or changed after signing, is refused', async () => {
    await cloud({ body: signedSnapshot(stranger.key, { site: SITE, asOfSeq: '7', tickets: ['{"a":1}'] }), head: '7' });
    expect((await probeSnapshot(server!.url, SITE, cred, c1.trusted, TODAY)).result).toMatchObject({ ok: true, signature: { via: 'snapshot', ok: false, reason: 'bad_signature' } });
    await server!.close();
    const tampered = signedSnapshot(c1.key, { site: SITE, asOfSeq: '7', tickets: ['{"a":1}'] }).replace('{"a":1}', '{"a":9}');
    await cloud({ body: tampered, head: '7' });
    expect((await probeSnapshot(server!.url, SITE, cred, c1.trusted, TODAY)).result).toMatchObject({ signature: { via: 'snapshot', ok: false, reason: 'mismatch' } });
  });

  it('of a large snapshot reads only the start, and checks the newest delta\'s signature instead', async () => {
    const s = await cloud({ body: big('42'), head: '42', deltas: [delta()] });
    const r = await probeSnapshot(s.url, SITE, cred, c1.trusted, TODAY);
    expect(r).toMatchObject({ headSeq: '42', result: { ok: true, signature: { via: 'delta', ok: true } } });
    expect(s.requests.at(-1)).toBe(`/v1/sites/${SITE}/whitelist/changes?since=41`);
    await s.close();
    await cloud({ body: big('42'), head: '42', deltas: [delta(stranger.key)] });
    expect((await probeSnapshot(server!.url, SITE, cred, c1.trusted, TODAY)).result).toMatchObject({ signature: { via: 'delta', ok: false, reason: 'bad_signature' } });
  });

  it('with no delta yet, the signed ticket types vouch for the key; with neither, it says so', async () => {
    await cloud({ body: big('0'), head: '0', types: types() });
    expect((await probeSnapshot(server!.url, SITE, cred, c1.trusted, TODAY)).result).toMatchObject({ signature: { via: 'ticket-types', ok: true } });
    await server!.close();
    await cloud({ body: big('0'), head: '0' });
    expect((await probeSnapshot(server!.url, SITE, cred, c1.trusted, TODAY)).result).toMatchObject({ signature: { via: 'none', why: expect.stringContaining('ticket types: HTTP 404') } });
  });

  it('a refused credential and an unreachable cloud', async () => {
    const s = await cloud({ body: '', head: '0' });
    expect((await probeSnapshot(s.url, SITE, { ...cred, password: 'wrong' }, c1.trusted, TODAY)).result).toMatchObject({ ok: false, stage: 'http', status: 401, message: expect.stringContaining('user "gate.demo-park.east-1"') });
    const port = new URL(s.url).port;
    await s.close();
    server = undefined;
    expect((await probeSnapshot(`http://127.0.0.1:${port}`, SITE, cred, c1.trusted, TODAY)).result).toMatchObject({ ok: false, stage: 'network', message: expect.stringContaining('ECONNREFUSED') });
  });
});

describe('cloud clock probe', () => {
  it('measures the offset from the HTTP Date header to the second', async () => {
    server = await startHttp((_req, res) => {
      res.sendDate = false;
      res.writeHead(401, { date: new Date(Date.now() - 5 * 60_000).toUTCString() }).end();
    });
    const r = await probeCloudClock(server.url);
    expect('offsetMs' in r && r.offsetMs).toBeGreaterThan(298_000);
    expect('offsetMs' in r && r.offsetMs).toBeLessThan(302_000);
  });
});

describe('database probe', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stile-doctor-db-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a file that is not a database, and one with damaged pages', () => {
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database, just text that someone copied over it'.repeat(100));
    expect(probeDatabase(junk, 6, '').facts.error).toMatchObject({ code: 'SQLITE_NOTADB' });

    const damaged = join(dir, 'damaged.db');
    const db = new Database(damaged);
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v);');
    const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`key-${i}`, `value-${i}-${'x'.repeat(50)}`);
    })();
    db.close();
    // Overwrite pages in the middle (not the header): SQLite opens it, quick_check finds the damage.
    const fd = openSync(damaged, 'r+');
    for (const page of [10, 20, 30]) writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, page * 4096);
    closeSync(fd);
    // Depending on which page is hit, quick_check lists the damage or SQLite stops with SQLITE_CORRUPT: both are "corrupt".
    const r = probeDatabase(damaged, 0, '');
    expect(r.facts.error?.code ?? r.facts.quickCheck![0]).not.toBe('ok');
    expect(checkDatabase(r.facts, { unit: 'stile-gate', ctl: 'gatectl', config: 'gate.yaml', user: 'stile' })).toMatchObject({ status: 'fail', problem: 'database.corrupt' });
  });
});
