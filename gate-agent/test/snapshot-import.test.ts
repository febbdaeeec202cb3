import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isStileError, StileErrorCode, type StileError } from '@stile/config';
import { GateStore, importSnapshot, openDatabase, SNAPSHOT_LINE_MAX_BYTES } from '../src/store/index.js';
import { writeWhitelist } from '@stile/demo/site';
import { controlKey, signatureLine, signedSnapshot, signSnapshotFile } from './helpers/signed-snapshot.js';

const KEY = 'k'.repeat(32);
const stores: GateStore[] = [];
function freshStore(): { store: GateStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stile-import-'));
  const store = new GateStore(openDatabase(join(dir, 'gate.db')));
  stores.push(store);
  return { store, dir };
}
afterEach(() => stores.splice(0).forEach((s) => s.close()));

const ticketLine = (id: string, extra: object = {}) => JSON.stringify({ ticketId: id, typeId: 'adult', visitDate: '2026-11-25', ...extra });

describe('importSnapshot', () => {
  it('loads every ticket, records the snapshot seq and reports progress', async () => {
    const { store, dir } = freshStore();
    const file = join(dir, 'w.ndjson');
    const { ids } = await writeWhitelist(file, { count: 5000, today: '2026-11-25', idHashKey: KEY, idCardEvery: 10, asOfSeq: '77' });
    const progress: number[] = [];
    const result = await importSnapshot(store.db, file, { batchSize: 1000, onProgress: (p) => progress.push(p.tickets) });
    expect(result.tickets).toBe(5000);
    expect(store.ticketCount()).toBe(5000);
    expect(store.getMeta('whitelist_seq')).toBe('77');
    expect(progress.at(-1)).toBe(5000);
    expect(progress.length).toBeGreaterThan(3);
    expect(store.getTicket(ids[0]!)).toMatchObject({ ticketId: ids[0], status: 'valid', entriesUsed: 0, source: 'whitelist' });
  });

  it('a bad line aborts the import, names the line, and leaves the old whitelist in place', async () => {
    const { store, dir } = freshStore();
    const good = join(dir, 'good.ndjson');
    writeFileSync(good, `${ticketLine('OLDTICKET1')}\n${ticketLine('OLDTICKET2')}\n`);
    await importSnapshot(store.db, good);

    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, `${ticketLine('NEWTICKET1')}\n${ticketLine('NEWTICKET2', { visitDate: '2026-02-30' })}\n`);
    await expect(importSnapshot(store.db, bad)).rejects.toThrow(/bad\.ndjson:2: visitDate: not a real calendar date; whitelist unchanged/);
    writeFileSync(bad, `${ticketLine('NEWTICKET1')}\n{"ticketId": "NEWTICK\n`);
    await expect(importSnapshot(store.db, bad)).rejects.toThrow(/bad\.ndjson:2: not JSON/);
    writeFileSync(bad, `${ticketLine('NEWTICKET1')}\n${ticketLine('NEWTICKET1')}\n`);
    await expect(importSnapshot(store.db, bad)).rejects.toThrow(/duplicate ticketId/);

    expect(store.ticketCount()).toBe(2);
    expect(store.getTicket('OLDTICKET1')).toBeDefined();
    expect(store.getTicket('NEWTICKET1')).toBeUndefined();
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'tickets_%' AND type = 'table'").all()).toEqual([]);
  });

  it('refuses a snapshot for another site', async () => {
    const { store, dir } = freshStore();
    const file = join(dir, 'w.ndjson');
    writeFileSync(file, `{"snapshot":{"site":"other-park","asOfSeq":"5"}}\n${ticketLine('TICKET0001')}\n`);
    const err = await importSnapshot(store.db, file, { siteId: 'demo-park' }).catch((e: unknown) => e);
    expect(isStileError(err, StileErrorCode.SnapshotInvalid)).toBe(true);
    expect((err as Error).message).toContain('snapshot is for site "other-park"');
  });

  it('keeps local usage and offline-admitted signed tickets across a re-import', async () => {
    const { store, dir } = freshStore();
    const file = join(dir, 'w.ndjson');
    writeFileSync(file, `${ticketLine('TICKET0001')}\n${ticketLine('TICKET0002')}\n`);
    await importSnapshot(store.db, file);
    const used = { ...store.getTicket('TICKET0001')!, entriesUsed: 1, entriesDay: '2026-11-25', entriesDayCount: 1, lastEntryAt: 1_000 };
    store.recordAdmission({ ticket: used, credential: 'qr', persons: 1, at: 1_000, gateSite: 's', gateId: 'g' });
    const signed = { ...used, ticketId: 'SIGNED0001', source: 'signed' as const };
    store.recordAdmission({ ticket: signed, credential: 'signed-qr', persons: 1, at: 2_000, gateSite: 's', gateId: 'g' });

    // The cloud's snapshot does not know about either admission yet.
    appendFileSync(file, `${ticketLine('TICKET0003')}\n`);
    const result = await importSnapshot(store.db, file);
    expect(result.carriedOver).toBe(2);
    expect(store.getTicket('TICKET0001')).toMatchObject({ entriesUsed: 1, lastEntryAt: 1_000 });
    expect(store.getTicket('SIGNED0001')).toMatchObject({ source: 'signed', entriesUsed: 1 });
    expect(store.ticketCount()).toBe(4);
    expect(store.entryCount()).toBe(2);
  });

  it('keeps id-hash lookups working after several swaps', async () => {
    const { store, dir } = freshStore();
    const file = join(dir, 'w.ndjson');
    const hash = 'a'.repeat(64);
    writeFileSync(file, `${ticketLine('TICKET0001', { idHash: hash })}\n`);
    for (let i = 0; i < 3; i++) await importSnapshot(store.db, file);
    expect(store.ticketsForIdHash(hash).map((t) => t.ticketId)).toEqual(['TICKET0001']);
    expect(readFileSync(file, 'utf8')).toContain(hash);
    // Lookups go through ticket_idcards (schema v6), whose triggers moved to each new table.
    const triggers = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tickets' ORDER BY name").pluck().all();
    expect(triggers).toEqual(['tickets_idcard_delete', 'tickets_idcard_insert', 'tickets_idcard_update']);
    expect(store.db.prepare('SELECT * FROM ticket_idcards').all()).toEqual([{ id_hash: hash, visit_date: '2026-11-25', ticket_id: 'TICKET0001' }]);
    // A delta that moves the card to another ticket is followed by the lookup.
    store.setMeta('whitelist_seq', '1');
    const other = 'b'.repeat(64);
    store.applyWhitelistDelta({ seq: '2', changes: [{ op: 'upsert', ticket: { ticketId: 'TICKET0001', typeId: 'adult', status: 'valid', visitDate: '2026-11-26', persons: 1, entriesUsed: 0, idHash: other } }] });
    expect(store.ticketsForIdHash(hash)).toEqual([]);
    expect(store.ticketsForIdHash(other).map((t) => [t.ticketId, t.visitDate])).toEqual([['TICKET0001', '2026-11-26']]);
  });
});

describe('importSnapshot: line length and line breaks', () => {
  it('a 32 MiB single line is refused at once, naming the line; the old whitelist stays', async () => {
    const { store, dir } = freshStore();
    const good = join(dir, 'good.ndjson');
    writeFileSync(good, `{"snapshot":{"site":"demo-park","asOfSeq":"4"}}\n${ticketLine('OLDTICKET1')}\n`);
    await importSnapshot(store.db, good);
    const huge = join(dir, 'huge.ndjson');
    // A JSON string of 32 MiB: valid JSON, so only the length check can stop it.
    writeFileSync(huge, `${ticketLine('NEWTICKET1')}\n{"ticketId":"${'A'.repeat(32 * 1024 * 1024)}"}\n${ticketLine('NEWTICKET2')}\n`);
    const err = (await importSnapshot(store.db, huge).catch((e: unknown) => e)) as StileError;
    expect(isStileError(err, StileErrorCode.SnapshotInvalid)).toBe(true);
    expect(err.message).toBe(`${huge}:2: line longer than ${SNAPSHOT_LINE_MAX_BYTES} bytes; whitelist unchanged`);
    // The same without any line break at all, and a long last line.
    writeFileSync(huge, 'x'.repeat(8 * 1024 * 1024));
    await expect(importSnapshot(store.db, huge)).rejects.toThrow(`${huge}:1: line longer than ${SNAPSHOT_LINE_MAX_BYTES} bytes; whitelist unchanged`);
    writeFileSync(huge, `${ticketLine('NEWTICKET1')}\n${' '.repeat(SNAPSHOT_LINE_MAX_BYTES + 1)}`);
    await expect(importSnapshot(store.db, huge)).rejects.toThrow(`${huge}:2: line longer than`);
    // Multi-byte characters count as bytes: 22,000 × 3 bytes is over the cap in 22,000 UTF-16 units.
    writeFileSync(huge, `${ticketLine('NEWTICKET1', { typeId: '票'.repeat(22_000) })}\n`);
    await expect(importSnapshot(store.db, huge)).rejects.toThrow(`${huge}:1: line longer than`);
    expect(store.ticketCount()).toBe(1);
    expect(store.getTicket('OLDTICKET1')).toBeDefined();
    expect(store.getMeta('whitelist_seq')).toBe('4');
  });

  it('a line of exactly the cap, and \\r\\n or lone \\r line breaks split across reads, import as before', async () => {
    const { store, dir } = freshStore();
    const file = join(dir, 'w.ndjson');
    /** A valid ticket line of exactly `bytes` bytes (JSON allows the spaces before the closing brace). */
    const padded = (id: string, bytes: number) => `${ticketLine(id).slice(0, -1)}${' '.repeat(bytes - ticketLine(id).length)}}`;
    expect(Buffer.byteLength(padded('LONGLINE01', SNAPSHOT_LINE_MAX_BYTES))).toBe(SNAPSHOT_LINE_MAX_BYTES);
    const ids = Array.from({ length: 3000 }, (_, i) => `TICKET${String(i).padStart(6, '0')}`);
    for (const sep of ['\r\n', '\r', '\n']) {
      // Reads are 64 KiB: a first line of 65535 bytes puts its \r last in the first read and the \n first in the next.
      for (const first of [65_534, 65_535, 65_536]) {
        writeFileSync(file, `${padded('LONGLINE01', first)}${sep}${ids.map((id) => ticketLine(id)).join(sep)}${sep}${ticketLine('LASTLINE01')}`);
        const r = await importSnapshot(store.db, file);
        expect(r.tickets, JSON.stringify([sep, first])).toBe(3002);
        expect(store.getTicket('LASTLINE01')).toBeDefined();
      }
    }
    // Line numbers in errors count \r\n as one break, also across a read.
    writeFileSync(file, `${padded('LONGLINE01', 65_535)}\r\n${ticketLine('TICKET0002')}\r\n{bad\r\n`);
    await expect(importSnapshot(store.db, file)).rejects.toThrow(`${file}:3: not JSON`);
    writeFileSync(file, `${padded('LONGLINE01', SNAPSHOT_LINE_MAX_BYTES + 1)}\r\n`);
    await expect(importSnapshot(store.db, file)).rejects.toThrow(`${file}:1: line longer than`);
  });

  it('creates its staging database 0600', async () => {
    const { store, dir } = freshStore();
    const file = join(dir, 'w.ndjson');
    await writeWhitelist(file, { count: 3000, today: '2026-11-25', idHashKey: KEY, idCardEvery: 10 });
    const modes: number[] = [];
    await importSnapshot(store.db, file, { batchSize: 1000, onProgress: () => modes.push(statSync(`${store.db.name}-import`).mode & 0o777) });
    expect(modes.length).toBeGreaterThan(0);
    expect(new Set(modes)).toEqual(new Set([0o600]));
    expect(existsSync(`${store.db.name}-import`)).toBe(false);
  });
});

describe('importSnapshot: signature line', () => {
  const cloud = controlKey('c1');
  const today = '2026-11-25';
  const sig = (required: boolean, trusted = cloud.trusted) => ({ signature: { required, trusted, today } });
  const tickets = (...ids: string[]) => ids.map((id) => ({ ticketId: id, typeId: 'adult', visitDate: today }));

  /** A gate with OLDTICKET1/2 at seq 4, and a function to assert that nothing changed. */
  async function gateWithWhitelist() {
    const { store, dir } = freshStore();
    const old = join(dir, 'old.ndjson');
    writeFileSync(old, signedSnapshot(cloud.key, { site: 'demo-park', asOfSeq: '4', tickets: tickets('OLDTICKET1', 'OLDTICKET2') }));
    expect((await importSnapshot(store.db, old, { siteId: 'demo-park', ...sig(true) })).signed).toBe(true);
    const unchanged = () => {
      expect(store.ticketCount()).toBe(2);
      expect(store.getTicket('OLDTICKET1')).toBeDefined();
      expect(store.getTicket('NEWTICKET1')).toBeUndefined();
      expect(store.getMeta('whitelist_seq')).toBe('4');
      expect(store.getMeta('tickets_generation')).toBe('1');
      expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'tickets_%' AND type = 'table'").all()).toEqual([]);
    };
    return { store, dir, unchanged, file: join(dir, 'new.ndjson') };
  }

  async function refusal(p: Promise<unknown>): Promise<StileError> {
    const err = await p.catch((e: unknown) => e);
    expect(isStileError(err, StileErrorCode.SnapshotInvalid), String(err)).toBe(true);
    return err as StileError;
  }

  it('a signed snapshot imports and says so; a 5000-ticket file signed after the fact verifies too', async () => {
    const { store, file } = await gateWithWhitelist();
    await writeWhitelist(file, { count: 5000, today, idHashKey: KEY, idCardEvery: 10, asOfSeq: '77' });
    signSnapshotFile(file, cloud.key);
    const r = await importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) });
    expect(r).toMatchObject({ tickets: 5000, asOfSeq: '77', signed: true });
    expect(store.getMeta('whitelist_seq')).toBe('77');
  });

  it('a forged snapshot (valid lines, trailer signed by a key the gate does not trust) leaves the old whitelist and seq', async () => {
    const { store, file, unchanged } = await gateWithWhitelist();
    const stranger = controlKey('c9');
    const impostor = controlKey('c1'); // the trusted key's id, another key
    for (const [forger, reason] of [[stranger, 'unknown_key'], [impostor, 'bad_signature']] as const) {
      writeFileSync(file, signedSnapshot(forger.key, { site: 'demo-park', asOfSeq: '99', tickets: tickets('NEWTICKET1') }));
      const err = await refusal(importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) }));
      expect(err.message).toMatch(new RegExp(`^${file}: snapshot signature: ${reason}: .*; whitelist unchanged$`));
      expect(err.details).toEqual({ reason });
      // Not required (gatectl): a signed file must still verify.
      await refusal(importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(false) }));
      unchanged();
    }
  });

  it('a tampered ticket line, a raised header seq, another site or a dropped ticket fails the digest check', async () => {
    const { store, file, unchanged } = await gateWithWhitelist();
    const good = signedSnapshot(cloud.key, { site: 'demo-park', asOfSeq: '10', tickets: tickets('NEWTICKET1', 'NEWTICKET2') });
    const attacks: [string, string, RegExp][] = [
      ['status flipped', good.replace('"ticketId":"NEWTICKET2","typeId":"adult"', '"ticketId":"NEWTICKET2","typeId":"child"'), /snapshot signature: mismatch: .*content digest differs/],
      ['whitespace added', good.replace('{"ticketId":"NEWTICKET1"', '{ "ticketId":"NEWTICKET1"'), /snapshot signature: mismatch/],
      ['line dropped', good.split('\n').filter((l) => !l.includes('NEWTICKET2')).join('\n'), /snapshot signature: mismatch: signed 2 tickets, read 1/],
      ['header seq raised', good.replace('"asOfSeq":"10"}}', '"asOfSeq":"11"}}'), /snapshot signature: mismatch: signed asOfSeq 10, header says 11/],
      ['no header', good.split('\n').slice(1).join('\n'), /snapshot signature: mismatch: signed asOfSeq 10, header says none/],
      ['signature edited', good.replace(/"tickets":2/, '"tickets":3'), /snapshot signature: bad_signature/],
    ];
    for (const [what, text, expected] of attacks) {
      writeFileSync(file, text);
      expect((await refusal(importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) }))).message, what).toMatch(expected);
      unchanged();
    }
    // Signed for another site of the same operator, header rewritten to this one.
    writeFileSync(file, signedSnapshot(cloud.key, { site: 'other-park', asOfSeq: '10', tickets: tickets('NEWTICKET1') }).replace('"site":"other-park","asOfSeq"', '"site":"demo-park","asOfSeq"'));
    expect((await refusal(importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) }))).message).toMatch(/snapshot signature: wrong_site: snapshot is signed for site "other-park"/);
    unchanged();
  });

  it('an unsigned snapshot is refused when a signature is required, and imports (signed: false) when not', async () => {
    const { store, file, unchanged } = await gateWithWhitelist();
    writeFileSync(file, `{"snapshot":{"site":"demo-park","asOfSeq":"12"}}\n${ticketLine('NEWTICKET1')}\n`);
    const err = await refusal(importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) }));
    expect(err.message).toBe(`${file}: snapshot is not signed; whitelist unchanged`);
    expect(err.details).toEqual({ reason: 'unsigned' });
    unchanged();
    expect(await importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(false) })).toMatchObject({ tickets: 1, signed: false });
    expect(store.getMeta('whitelist_seq')).toBe('12');
  });

  it('the signature line must be the last non-empty line and hold only the signature', async () => {
    const { store, file, unchanged } = await gateWithWhitelist();
    const good = signedSnapshot(cloud.key, { site: 'demo-park', asOfSeq: '10', tickets: tickets('NEWTICKET1') });
    writeFileSync(file, `${good}${ticketLine('SMUGGLED01')}\n`);
    await expect(importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) })).rejects.toThrow(`${file}:4: nothing may follow the signature line (line 3); whitelist unchanged`);
    writeFileSync(file, `${good}${good.split('\n')[2]}\n`);
    await expect(importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(false) })).rejects.toThrow(/:4: nothing may follow the signature line/);
    const lines = good.split('\n');
    writeFileSync(file, [...lines.slice(0, 2), lines[2]!.replace('{"signature"', '{"ticketId":"X","signature"'), ''].join('\n'));
    await expect(importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) })).rejects.toThrow(/:3: the signature line may hold only "signature"/);
    unchanged();
    // Trailing blank lines are fine.
    writeFileSync(file, `${good}\n\n`);
    expect((await importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) })).signed).toBe(true);
  });

  it('digests the exact text of each ticket line, also with \\r\\n breaks', async () => {
    const { store, file } = await gateWithWhitelist();
    const lines = tickets('NEWTICKET1', 'NEWTICKET2').map((t) => JSON.stringify(t));
    const text = [JSON.stringify({ snapshot: { site: 'demo-park', asOfSeq: '20' } }), ...lines, signatureLine(cloud.key, 'demo-park', '20', lines)].join('\r\n');
    writeFileSync(file, text);
    expect(await importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) })).toMatchObject({ tickets: 2, signed: true });
    // Blank lines between tickets are not part of the digest; no line break after the signature line.
    writeFileSync(file, [JSON.stringify({ snapshot: { site: 'demo-park', asOfSeq: '21' } }), lines[0], '', '  ', lines[1], signatureLine(cloud.key, 'demo-park', '21', lines)].join('\n'));
    expect(await importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) })).toMatchObject({ tickets: 2, signed: true });
    // Many tickets across several 64 KiB reads, mixed \n and \r\n.
    const many = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ ticketId: `MIXED${String(i).padStart(6, '0')}`, typeId: 'adult', visitDate: today, idHash: 'b'.repeat(64) }));
    const body = many.map((l, i) => `${l}${i % 7 === 0 ? '\r\n' : '\n'}`).join('');
    writeFileSync(file, `{"snapshot":{"site":"demo-park","asOfSeq":"22"}}\n${body}${signatureLine(cloud.key, 'demo-park', '22', many)}\n`);
    expect(await importSnapshot(store.db, file, { siteId: 'demo-park', ...sig(true) })).toMatchObject({ tickets: 2000, signed: true });
  });
});

describe('openDatabase', () => {
  it('runs WAL with synchronous=FULL', () => {
    const { store } = freshStore();
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('names a corrupt or foreign file as such instead of crashing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-corrupt-'));
    const file = join(dir, 'gate.db');
    writeFileSync(file, 'this is not a database, it is a shopping list'.repeat(200));
    try {
      openDatabase(file);
      expect.unreachable();
    } catch (err) {
      expect(isStileError(err, StileErrorCode.StoreCorrupt)).toBe(true);
      expect((err as Error).message).toMatch(/corrupt or not a database/);
    }
  });

  it('with mustExist, a missing database is a clear error, not an empty new one', () => {
    expect(() => openDatabase('/nonexistent-dir/gate.db', { mustExist: true })).toThrow(/cannot open gate database/);
  });
});
