import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { EntryEventSchema, hashIdNumber, issueOfflineTicket, maskIdNumber, type GateConfig } from '@stile/config';
import { openGate } from '../src/daemon/gate-context.js';
import { GateStore, importSnapshot, openDatabase } from '../src/store/index.js';
import { GATECTL_BIN } from './helpers/processes.js';
import { makeSite, noonShanghai, silent, type TestSite } from './helpers/site.js';

/** Issue #12: what a gate must not take on trust, and what it must not leak. */

let site: TestSite;
let now: number;
type Gate = ReturnType<typeof openGate>;
const open: Gate[] = [];

beforeAll(async () => {
  site = await makeSite(40);
  now = noonShanghai(site.today);
});
afterEach(() => {
  for (const g of open.splice(0)) g.store.close();
});
afterAll(() => site?.cleanup());

/** A second gate of the same site with its own, fresh database. */
function otherGate(id: string): GateConfig {
  return { ...site.cfg, gate: { ...site.cfg.gate, id }, store: { ...site.cfg.store, path: join(site.dir, `${id}-${Math.random().toString(36).slice(2, 8)}.db`) } };
}

/** Open a gate as the daemon does (config sync included); closed after each test. */
function start(cfg: GateConfig): Gate {
  const g = openGate(cfg, silent, { clock: () => now });
  open.push(g);
  return g;
}

function restart(g: Gate, cfg: GateConfig): Gate {
  g.store.close();
  return start(cfg);
}

const qr = (text: string) => ({ kind: 'qr' as const, text });
const signed = (ticketId: string, over: Partial<Parameters<typeof issueOfflineTicket>[1]> = {}) =>
  issueOfflineTicket(site.signingKey, { site: 'demo-park', ticketId, typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: 1_700_000_000, ...over });
const uniqueId = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10).toUpperCase()}`;

async function withWhitelist(g: Gate): Promise<Gate> {
  await importSnapshot(g.store.db, site.whitelistPath);
  return g;
}

/** Give a fresh gate a whitelist seq so deltas after it apply (a snapshot import would). */
function seqAt(store: GateStore, seq: number): void {
  store.setMeta('whitelist_seq', String(seq));
}

describe('a single-entry ST2 code holds across gates (used-elsewhere for an unknown ticket)', () => {
  it('admitted at gate A, refused at gate B once the delta arrived, also after B restarts and re-imports', async () => {
    const cfgA = otherGate('east-1');
    const cfgB = otherGate('west-1');
    const a = start(cfgA);
    let b = start(cfgB);
    const ticketId = uniqueId('OFF');
    const code = signed(ticketId);

    expect(a.gatekeeper.evaluate(qr(code))).toMatchObject({ decision: 'admit', credential: 'signed-qr', ticketId });
    // Before the delta, B cannot know (offline): it would admit.
    expect(b.gatekeeper.evaluate(qr(code), { dryRun: true })).toMatchObject({ decision: 'admit' });

    seqAt(b.store, 7);
    expect(b.store.applyWhitelistDelta({ seq: '8', changes: [{ op: 'used-elsewhere', ticketId, gate: 'east-1', entriesUsed: 1 }] })).toBe('applied');
    expect(b.gatekeeper.evaluate(qr(code))).toMatchObject({ decision: 'reject', reason: 'entries_exhausted', ticketId });
    expect(b.store.getTicket(ticketId)).toBeUndefined(); // no row invented: the usage is kept apart
    expect(b.store.remoteEntriesUsed(ticketId)).toBe(1);

    b = restart(b, cfgB);
    expect(b.gatekeeper.evaluate(qr(code))).toMatchObject({ decision: 'reject', reason: 'entries_exhausted' });
    // A snapshot import swaps the tickets table only.
    await importSnapshot(b.store.db, site.whitelistPath);
    expect(b.gatekeeper.evaluate(qr(code))).toMatchObject({ decision: 'reject', reason: 'entries_exhausted' });
    expect(b.store.entriesForTicket(ticketId)).toHaveLength(0);
  });

  it('remote usage only grows (a repeated or older delta does not lower it)', () => {
    const b = start(otherGate('west-2'));
    const ticketId = uniqueId('TWO');
    seqAt(b.store, 1);
    b.store.applyWhitelistDelta({ seq: '2', changes: [{ op: 'used-elsewhere', ticketId, gate: 'east-1', entriesUsed: 1 }] });
    b.store.applyWhitelistDelta({ seq: '3', changes: [{ op: 'used-elsewhere', ticketId, gate: 'east-1', entriesUsed: 0 }] });
    expect(b.store.remoteEntriesUsed(ticketId)).toBe(1);
    expect(b.store.remoteEntriesUsed('NEVERSEEN001')).toBe(0);
  });

  it('a ticket the gate has a row for is updated in place, as before', () => {
    const b = start(otherGate('west-3'));
    const code = signed(uniqueId('ROW'));
    const ticketId = b.gatekeeper.evaluate(qr(code)).ticketId!;
    seqAt(b.store, 1);
    b.store.applyWhitelistDelta({ seq: '2', changes: [{ op: 'used-elsewhere', ticketId, gate: 'east-1', entriesUsed: 3 }] });
    expect(b.store.getTicket(ticketId)?.entriesUsed).toBe(3);
    expect(b.store.remoteEntriesUsed(ticketId)).toBe(0);
  });
});

describe('revocations persist across restarts and config syncs', () => {
  it('a cloud revoke of an unseen ST2 id stays; a config one goes when gate.yaml drops it', () => {
    const cfg = otherGate('rev-1');
    let g = start(cfg);
    const cloudRevoked = uniqueId('CLD');
    const cloudRefunded = uniqueId('RFD');
    const listed = uniqueId('CFG');
    seqAt(g.store, 1);
    expect(
      g.store.applyWhitelistDelta({ seq: '2', changes: [{ op: 'revoke', ticketId: cloudRevoked }, { op: 'refund', ticketId: cloudRefunded }] }),
    ).toBe('applied');
    expect(g.gatekeeper.evaluate(qr(signed(cloudRevoked)))).toMatchObject({ decision: 'reject', reason: 'revoked' });

    // The daemon's start: config sync with gate.yaml listing nothing.
    g = restart(g, { ...cfg, revokedTickets: [] });
    expect(g.gatekeeper.evaluate(qr(signed(cloudRevoked)))).toMatchObject({ decision: 'reject', reason: 'revoked' });
    expect(g.gatekeeper.evaluate(qr(signed(cloudRefunded)))).toMatchObject({ decision: 'reject', reason: 'revoked' });

    g = restart(g, { ...cfg, revokedTickets: [listed, cloudRevoked] });
    expect(g.gatekeeper.evaluate(qr(signed(listed)), { dryRun: true })).toMatchObject({ reason: 'revoked' });
    expect(g.store.revokedCountsBySource()).toEqual({ config: 2, cloud: 2 });
    expect(g.store.revokedCount()).toBe(3);

    g = restart(g, { ...cfg, revokedTickets: [] });
    expect(g.gatekeeper.evaluate(qr(signed(listed)), { dryRun: true })).toMatchObject({ decision: 'admit' });
    expect(g.gatekeeper.evaluate(qr(signed(cloudRevoked)))).toMatchObject({ reason: 'revoked' });
    expect(g.store.revokedCountsBySource()).toEqual({ config: 0, cloud: 2 });
  });

  it('a gatectl write (tickets import) keeps cloud revocations, and gatectl keys shows both counts', async () => {
    const cfg = otherGate('rev-2');
    const g = start({ ...cfg, revokedTickets: ['CFGLISTED0001'] });
    seqAt(g.store, 1);
    g.store.applyWhitelistDelta({ seq: '2', changes: [{ op: 'revoke', ticketId: 'CLOUDREV0001' }] });
    g.store.close();
    // gatectl reads the config file: point a copy of it at this gate's database.
    const configPath = join(site.dir, 'rev-2.yaml');
    const raw = parse(readFileSync(site.configPath, 'utf8')) as { store: { path: string }; revokedTickets?: string[] };
    writeFileSync(configPath, stringify({ ...raw, store: { ...raw.store, path: cfg.store.path }, revokedTickets: ['CFGLISTED0001'] }));

    const imported = await gatectlAt(configPath, 'tickets', 'import', site.whitelistPath);
    expect(imported.code, imported.stderr).toBe(0);
    const keys = await gatectlAt(configPath, 'keys', '--json');
    expect(keys.code, keys.stderr).toBe(0);
    expect(JSON.parse(keys.stdout)).toMatchObject({ revokedTickets: 2, revokedBySource: { config: 1, cloud: 1 } });
    const text = await gatectlAt(configPath, 'keys');
    expect(text.stdout).toContain('2 revoked ticket(s): 1 listed in gate.yaml, 1 sent by the cloud');
  });
});

describe('the entry event carries the ST2 code (signed-qr only)', () => {
  it('signed-qr admissions send the normalised code; QR and ID-card admissions do not', async () => {
    const g = await withWhitelist(start(otherGate('code-1')));
    const code = signed(uniqueId('SIG'), { persons: 2 });
    const viaScanner = `]Q1${code}\r\n`;
    const a = g.gatekeeper.evaluate(qr(viaScanner));
    const b = g.gatekeeper.evaluate(qr(`ST1:${site.sample.ids[0]!}`));
    const idNumber = site.sample.idCards[1]!;
    const c = g.gatekeeper.evaluate({ kind: 'idcard', idHash: hashIdNumber(site.idHashKey, idNumber), masked: maskIdNumber(idNumber) });
    expect([a.decision, b.decision, c.decision]).toEqual(['admit', 'admit', 'admit']);
    const events = g.store.outboxBatch(0, 10).map((r) => EntryEventSchema.parse(JSON.parse(r.payload)));
    expect(events.map((e) => [e.credential, e.code])).toEqual([['signed-qr', code], ['qr', undefined], ['idcard', undefined]]);
    expect(events.every((e) => !('code' in e) || e.credential === 'signed-qr')).toBe(true);
  });

  it('the store writes a code only for signed-qr, even if handed one for another credential', async () => {
    const g = await withWhitelist(start(otherGate('code-2')));
    const ticket = { ...g.store.getTicket(site.sample.ids[2]!)!, entriesUsed: 1 };
    g.store.recordAdmission({ ticket, credential: 'qr', persons: 1, at: now, gateSite: 's', gateId: 'g', code: 'ST2:x.y' });
    const [row] = g.store.outboxBatch(0, 10);
    expect(JSON.parse(row!.payload)).not.toHaveProperty('code');
  });
});

describe('eventIdAt', () => {
  it("names this gate's event at a seq, undefined for one it never wrote", async () => {
    const g = await withWhitelist(start(otherGate('ev-1')));
    const o = g.gatekeeper.evaluate(qr(`ST1:${site.sample.ids[1]!}`));
    expect(g.store.eventIdAt(o.entry!.seq)).toBe(o.entry!.eventId);
    expect(g.store.eventIdAt(o.entry!.seq + 1)).toBeUndefined();
  });
});

describe('the gate database is private (0600)', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'stile-mode-'));
    dirs.push(d);
    return d;
  };
  const mode = (p: string) => statSync(p).mode & 0o777;

  it('a new database and its -wal/-shm are created 0600', () => {
    const path = join(tmp(), 'sub', 'gate.db');
    const store = new GateStore(openDatabase(path));
    store.beginEpoch(); // a write, so the WAL exists
    try {
      expect(mode(path)).toBe(0o600);
      expect(mode(`${path}-wal`)).toBe(0o600);
      expect(mode(`${path}-shm`)).toBe(0o600);
    } finally {
      store.close();
    }
  });

  it("an older install's 0644 database is tightened on open (also by gatectl's must-exist open)", () => {
    const path = join(tmp(), 'gate.db');
    new GateStore(openDatabase(path)).close();
    chmodSync(path, 0o644);
    const store = new GateStore(openDatabase(path, { mustExist: true }));
    store.beginEpoch();
    try {
      expect(mode(path)).toBe(0o600);
      expect(mode(`${path}-wal`)).toBe(0o600);
    } finally {
      store.close();
    }
  });

  it('a missing database with mustExist is still refused (not created)', () => {
    const path = join(tmp(), 'none.db');
    expect(() => openDatabase(path, { mustExist: true })).toThrow(/cannot open gate database/);
    expect(() => statSync(path)).toThrow();
  });
});

function gatectlAt(configPath: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [GATECTL_BIN, '--config', configPath, ...args], { encoding: 'utf8', env: { ...process.env, STILE_CONFIG: '', GATECTL_DEBUG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
