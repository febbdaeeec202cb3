import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashIdNumber, issueOfflineTicket, maskIdNumber, type GateConfig } from '@stile/config';
import { openGate } from '../src/daemon/gate-context.js';
import type { Gatekeeper } from '../src/gate/gatekeeper.js';
import type { GateStore } from '../src/store/index.js';
import { makeSite, noonShanghai, silent, type TestSite } from './helpers/site.js';

let site: TestSite;
let store: GateStore;
let gk: Gatekeeper;
let now: number;

function reopen(cfg: GateConfig = site.cfg) {
  store?.close();
  ({ store, gatekeeper: gk } = openGate(cfg, silent, { clock: () => now }));
}

beforeAll(async () => {
  site = await makeSite(400);
  now = noonShanghai(site.today);
  reopen();
});
afterAll(() => {
  store.close();
  site.cleanup();
});

const qr = (text: string) => ({ kind: 'qr' as const, text });
const offline = (over: Partial<Parameters<typeof issueOfflineTicket>[1]> = {}) =>
  issueOfflineTicket(site.signingKey, {
    site: 'demo-park', ticketId: `OFF${Math.random().toString(36).slice(2, 12).toUpperCase()}`, typeId: 'adult',
    visitDate: site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: 1_700_000_000, ...over,
  });

describe('Gatekeeper', () => {
  it('admits a whitelisted QR once and records entry + outbox in the same commit', () => {
    const id = site.sample.ids[0]!; // adult, single entry
    const before = store.outboxDepth();
    const first = gk.evaluate(qr(`]Q1ST1:${id}\r\n`));
    expect(first).toMatchObject({ decision: 'admit', persons: 1, ticketId: id, credential: 'qr' });
    expect(first.entry?.seq).toBeGreaterThan(0);
    expect(store.outboxDepth()).toBe(before + 1);
    expect(store.getTicket(id)).toMatchObject({ entriesUsed: 1, lastEntryAt: now, entriesDay: site.today });
    expect(gk.evaluate(qr(`ST1:${id}`))).toMatchObject({ decision: 'reject', reason: 'entries_exhausted' });
    expect(store.entriesForTicket(id)).toHaveLength(1);
  });

  it('a group ticket admits all its persons on one entry', () => {
    const family = site.sample.ids[4]!; // every 8th ticket from index 4 is a family of 3
    expect(store.getTicket(family)?.typeId).toBe('family');
    expect(gk.evaluate(qr(`ST1:${family}`))).toMatchObject({ decision: 'admit', persons: 3 });
  });

  it('check (dry run) decides without using the ticket', () => {
    const id = site.sample.ids[1]!;
    expect(gk.evaluate(qr(`ST1:${id}`), { dryRun: true })).toMatchObject({ decision: 'admit', dryRun: true });
    expect(gk.evaluate(qr(`ST1:${id}`), { dryRun: true })).toMatchObject({ decision: 'admit' });
    expect(store.entriesForTicket(id)).toHaveLength(0);
  });

  it('rejects unknown and malformed codes with their reasons and writes nothing', () => {
    const entries = store.entryCount();
    expect(gk.evaluate(qr('ST1:NOSUCHTICKET000'))).toMatchObject({ decision: 'reject', reason: 'unknown_ticket' });
    expect(gk.evaluate(qr('hello world'))).toMatchObject({ decision: 'reject', reason: 'malformed_code' });
    expect(gk.evaluate(qr(''))).toMatchObject({ decision: 'reject', reason: 'malformed_code' });
    expect(store.entryCount()).toBe(entries);
  });

  it('admits a signed offline ticket absent from the whitelist, once', () => {
    const code = offline({ persons: 2 });
    expect(gk.evaluate(qr(code))).toMatchObject({ decision: 'admit', persons: 2, credential: 'signed-qr' });
    expect(gk.evaluate(qr(code))).toMatchObject({ decision: 'reject', reason: 'entries_exhausted' });
  });

  it('rejects forged, foreign-site, revoked and expired signed tickets with distinct reasons', () => {
    const code = offline();
    const dot = code.indexOf('.');
    const forged = code.slice(0, dot - 3) + (code[dot - 3] === 'A' ? 'B' : 'A') + code.slice(dot - 2);
    expect(gk.evaluate(qr(forged)).reason).toMatch(/bad_signature|malformed_code/);
    expect(gk.evaluate(qr(offline({ site: 'other-park' })))).toMatchObject({ reason: 'wrong_site' });
    expect(gk.evaluate(qr(offline({ visitDate: '2020-01-01' })))).toMatchObject({ reason: 'date_expired' });
    expect(gk.evaluate(qr(code.slice(0, code.length - 10)))).toMatchObject({ reason: 'malformed_code' });
    reopen({ ...site.cfg, revokedTickets: ['REVOKED0001'] });
    expect(gk.evaluate(qr(offline({ ticketId: 'REVOKED0001' })))).toMatchObject({ reason: 'revoked' });
    reopen({ ...site.cfg, keys: { ...site.cfg.keys, offline: [] } });
    expect(gk.evaluate(qr(offline()))).toMatchObject({ reason: 'unknown_key' });
    reopen();
  });

  it('an ID card admits today\'s bound ticket once, then says why not', () => {
    const id = site.sample.idCards[1]!;
    const card = { kind: 'idcard' as const, idHash: hashIdNumber(site.idHashKey, id), masked: maskIdNumber(id) };
    expect(gk.evaluate(card)).toMatchObject({ decision: 'admit', credential: 'idcard' });
    expect(gk.evaluate(card)).toMatchObject({ decision: 'reject', reason: 'entries_exhausted' });
    const stranger = { kind: 'idcard' as const, idHash: hashIdNumber(site.idHashKey, '11010519491231002X'), masked: '**************002X' };
    expect(gk.evaluate(stranger)).toMatchObject({ decision: 'reject', reason: 'no_ticket_today' });
    const wrongKey = { ...card, idHash: hashIdNumber('another-site-key-another-site-key', id) };
    expect(gk.evaluate(wrongKey)).toMatchObject({ reason: 'no_ticket_today' });
  });

  it('a database that refuses the write keeps the relay shut (gate_fault) and the ticket unused', () => {
    const id = site.sample.ids[8]!;
    store.db.exec('ALTER TABLE outbox RENAME TO outbox_broken');
    try {
      const o = gk.evaluate(qr(`ST1:${id}`));
      expect(o).toMatchObject({ decision: 'reject', reason: 'gate_fault' });
    } finally {
      store.db.exec('ALTER TABLE outbox_broken RENAME TO outbox');
    }
    expect(store.getTicket(id)?.entriesUsed).toBe(0);
    expect(store.entriesForTicket(id)).toHaveLength(0);
    expect(gk.evaluate(qr(`ST1:${id}`))).toMatchObject({ decision: 'admit' });
  });
});
