import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, issueOfflineTicket, loadSigningKey, loadTrustedKeys, MqttSchema, topics, type EntryEvent } from '@stile/config';
import { openGate } from '../../src/daemon/gate-context.js';
import type { Gatekeeper } from '../../src/gate/gatekeeper.js';
import type { GateStore } from '../../src/store/index.js';
import { PEER_MAX_AGE_MS, PeerEntries } from '../../src/sync/peer-entries.js';
import { newSyncStatus, type SyncStatus } from '../../src/sync/status.js';
import { captureLog } from '../helpers/lane.js';
import { makeSite, noonShanghai, silent, type TestSite } from '../helpers/site.js';

// Park-local mode, one gate's side: the entries its peers publish, applied to its store.
// What a real broker, bridge and two real gates do with it: park-local.e2e.test.ts.

const SITE = 'demo-park';
const ME = 'west-1';
let site: TestSite;
let store: GateStore;
let gk: Gatekeeper;
let now: number;
let status: SyncStatus;
let log: ReturnType<typeof captureLog>;
let peers: PeerEntries;

beforeEach(async () => {
  site = await makeSite(80);
  now = noonShanghai(site.today);
  ({ store, gatekeeper: gk } = openGate({ ...site.cfg, gate: { ...site.cfg.gate, id: ME } }, silent, { clock: () => now }));
  status = newSyncStatus('mqtt://park-broker');
  log = captureLog();
  peers = new PeerEntries({ store, site: SITE, gate: ME, timeZone: 'Asia/Shanghai', offlineKeys: loadTrustedKeys(site.cfg.keys.offline), clock: () => now, status, log: log.log });
});
afterEach(() => {
  store.close();
  site.cleanup();
});

let n = 0;
const ev = (seq: number, ticketId: string, over: Partial<EntryEvent> = {}): EntryEvent => ({
  eventId: `evt-${process.pid}-${++n}`,
  seq: String(seq),
  epoch: 1,
  kind: 'admit',
  ticketId,
  typeId: 'adult',
  credential: 'qr',
  persons: 1,
  at: new Date(now - 1000).toISOString(),
  ...over,
});
const payload = (gate: string, events: EntryEvent[], body: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ v: 1, site: SITE, gate, events, ...body }));
const send = (gate: string, events: EntryEvent[], body: Record<string, unknown> = {}) => peers.handle(topics.entries(SITE, gate), payload(gate, events, body));
const scan = (id: string) => gk.evaluate({ kind: 'qr', text: `ST1:${id}` });
/** Ticket ids of the demo whitelist by type (index % 8: 0–2 adult, 5 two-day). */
const adult = (i: number) => site.sample.ids.filter((_, k) => k % 8 < 3)[i]!;
const twoDay = (i: number) => site.sample.ids.filter((_, k) => k % 8 === 5)[i]!;
const peerRows = () => (store.db.prepare('SELECT count(*) AS n FROM peer_entries').get() as { n: number }).n;

describe('mqtt.peers', () => {
  it('is an opt-in boolean', () => {
    expect(MqttSchema.parse({ url: 'mqtts://park-broker.lan:8883' }).peers).toBeUndefined();
    expect(MqttSchema.parse({ url: 'mqtts://park-broker.lan:8883', peers: true }).peers).toBe(true);
    expect(MqttSchema.safeParse({ url: 'mqtts://park-broker.lan:8883', peers: 'yes' }).success).toBe(false);
  });
});

describe('PeerEntries', () => {
  it('a peer admission uses the ticket here, once, however often the peer sends it again', () => {
    const id = adult(0);
    const events = [ev(1, id), ev(2, adult(1))];
    send('east-1', events);
    expect(store.getTicket(id)).toMatchObject({ entriesUsed: 1, entriesDay: site.today, entriesDayCount: 1, lastEntryAt: now - 1000 });
    expect(scan(id)).toMatchObject({ decision: 'reject', reason: 'entries_exhausted' });
    // The peer's outbox again (reconnect, receipt timeout), alone and inside a bigger batch.
    send('east-1', events);
    send('east-1', [...events, ev(3, adult(2))]);
    expect(store.getTicket(id)?.entriesUsed).toBe(1);
    expect(store.getTicket(adult(2))?.entriesUsed).toBe(1);
    expect(peers.stats).toMatchObject({ messages: 3, counted: 3, duplicates: 4 });
    expect(log.events('peer_entries').map((l) => [l.peer, l.from, l.to, l.counted])).toEqual([['east-1', 1, 2, 2], ['east-1', 1, 2, 0], ['east-1', 1, 3, 1]]);
  });

  it('counts like a local admission: multi-entry tickets, anti-passback, an older day left alone', () => {
    const id = twoDay(0); // two entries, anti-passback 600 s
    send('east-1', [ev(1, id, { typeId: 'two-day', at: new Date(now - 60_000).toISOString() })]);
    expect(scan(id)).toMatchObject({ decision: 'reject', reason: 'anti_passback' });
    now += 600_000;
    expect(scan(id)).toMatchObject({ decision: 'admit' });
    expect(store.getTicket(id)).toMatchObject({ entriesUsed: 2, entriesDayCount: 2 });
    // A late event from yesterday counts as an entry, not on today's counter.
    const yesterday = new Date(now - 86_400_000).toISOString();
    send('east-2', [ev(1, id, { typeId: 'two-day', at: yesterday })]);
    expect(store.getTicket(id)).toMatchObject({ entriesUsed: 3, entriesDay: site.today, entriesDayCount: 2, lastEntryAt: now });
  });

  it('this gate\'s own entries and other sites are ignored; a body that names another gate or site is dropped', () => {
    const id = adult(0);
    peers.handle(topics.entries(SITE, ME), payload(ME, [ev(1, id)]));
    expect(peers.matches(topics.entries('other-park', 'east-1'))).toBe(false);
    expect(peers.matches(topics.entriesAck(SITE, 'east-1'))).toBe(false);
    peers.handle(topics.entries('other-park', 'east-1'), payload('east-1', [ev(1, id)], { site: 'other-park' }));
    // east-2 may publish only on its own topic: an entries body naming east-1 is east-2 lying.
    peers.handle(topics.entries(SITE, 'east-2'), payload('east-1', [ev(1, id)]));
    peers.handle(topics.entries(SITE, 'east-2'), payload('east-2', [ev(1, id)], { site: 'other-park' }));
    peers.handle(topics.entries(SITE, 'east-2'), Buffer.from('{"v":1'));
    peers.handle(topics.entries(SITE, 'east-2'), payload('east-2', [{ ...ev(1, id), persons: 0 }]));
    expect(status.dropped).toEqual({ peer_wrong_gate: 2, peer_bad_json: 1, peer_invalid: 1 });
    expect(store.getTicket(id)?.entriesUsed).toBe(0);
    expect(peerRows()).toBe(0);
  });

  it('a not-passed of all persons gives the entry back (also when it comes first); partly passed keeps it used', () => {
    const [a, b, c] = [adult(0), adult(1), adult(2)];
    const admissions = [ev(1, a), ev(2, b), ev(3, c, { persons: 2 })];
    const corrections = [ev(4, a, { kind: 'not-passed', refSeq: '1' }), ev(5, c, { kind: 'not-passed', refSeq: '3', persons: 1 })];
    send('east-1', admissions);
    send('east-1', corrections);
    expect(store.getTicket(a)).toMatchObject({ entriesUsed: 0, entriesDayCount: 0, lastEntryAt: null });
    expect(store.getTicket(c)?.entriesUsed).toBe(1);
    // Sent again: the entry is neither taken again nor given back twice.
    send('east-1', [...admissions, ...corrections]);
    expect(store.getTicket(a)?.entriesUsed).toBe(0);
    expect(scan(a)).toMatchObject({ decision: 'admit' });
    expect(store.getTicket(a)?.entriesUsed).toBe(1);
    // The correction overtakes its admission (two batches in flight): the admission never counts.
    const d = adult(3);
    send('east-2', [ev(8, d, { kind: 'not-passed', refSeq: '7' })]);
    send('east-2', [ev(7, d)]);
    expect(store.getTicket(d)?.entriesUsed).toBe(0);
    expect(peers.stats).toMatchObject({ returned: 1 });
  });

  it('a signed ticket this gate has no row for: counted apart if its code verifies here, otherwise not kept', () => {
    const code = (ticketId: string, key = site.signingKey) =>
      issueOfflineTicket(key, { site: SITE, ticketId, typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: 1_700_000_000 });
    const good = code('OFFLINEPEER0001');
    send('east-1', [ev(1, 'OFFLINEPEER0001', { credential: 'signed-qr', code: good })]);
    expect(store.remoteEntriesUsed('OFFLINEPEER0001')).toBe(1);
    expect(gk.evaluate({ kind: 'qr', text: good })).toMatchObject({ decision: 'reject', reason: 'entries_exhausted' });

    const stranger = loadSigningKey('k1', generateSigningKeyPair('k1').privateKeyPem);
    send('east-1', [
      ev(2, 'OFFLINEPEER0002', { credential: 'signed-qr', code: code('OFFLINEPEER0002', stranger) }), // not our key
      ev(3, 'OFFLINEPEER0003', { credential: 'signed-qr', code: good }), // a code of another ticket
      ev(4, 'NOTINWHITELIST01'), // an ST1 id this gate does not have
    ]);
    expect(['OFFLINEPEER0002', 'OFFLINEPEER0003', 'NOTINWHITELIST01'].map((id) => store.remoteEntriesUsed(id))).toEqual([0, 0, 0]);
    expect(peers.stats.unknown).toBe(3);
    expect(peerRows()).toBe(1);
    // The not-passed of a remote admission gives it back there.
    send('east-1', [ev(5, 'OFFLINEPEER0001', { kind: 'not-passed', refSeq: '1', credential: 'signed-qr' })]);
    expect(store.remoteEntriesUsed('OFFLINEPEER0001')).toBe(0);
  });

  it('an unknown ticket that reaches the whitelist later counts when the peer sends the event again', () => {
    const e = ev(1, 'LATETICKET000001');
    send('east-1', [e]);
    expect(peers.stats.unknown).toBe(1);
    store.upsertWhitelistTicket({ ticketId: 'LATETICKET000001', typeId: 'adult', status: 'valid', visitDate: site.today, persons: 1, entriesUsed: 0 });
    send('east-1', [e]);
    expect(store.getTicket('LATETICKET000001')?.entriesUsed).toBe(1);
  });

  it('events older than PEER_MAX_AGE_MS are skipped, and their rows pruned', () => {
    const id = adult(0);
    send('east-1', [ev(1, id, { at: new Date(now - PEER_MAX_AGE_MS - 1000).toISOString() })]);
    expect(store.getTicket(id)?.entriesUsed).toBe(0);
    expect(peers.stats.tooOld).toBe(1);
    send('east-1', [ev(2, id)]);
    expect(peerRows()).toBe(1);
    now += PEER_MAX_AGE_MS + 3600_000;
    send('east-1', [ev(3, adult(1), { at: new Date(now).toISOString() })]);
    expect(peerRows()).toBe(1);
  });

  it('one message is one transaction: a failed write applies none of it, and the gate carries on', () => {
    const [a, b] = [adult(0), adult(1)];
    store.db.exec('ALTER TABLE remote_usage RENAME TO remote_usage_broken');
    const code = issueOfflineTicket(site.signingKey, { site: SITE, ticketId: 'OFFLINEPEER0009', typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: 1_700_000_000 });
    expect(() => send('east-1', [ev(1, a), ev(2, 'OFFLINEPEER0009', { credential: 'signed-qr', code }), ev(3, b)])).not.toThrow();
    expect(status.dropped).toEqual({ peer_store_failed: 1 });
    store.db.exec('ALTER TABLE remote_usage_broken RENAME TO remote_usage');
    expect([store.getTicket(a)?.entriesUsed, store.getTicket(b)?.entriesUsed, peerRows()]).toEqual([0, 0, 0]);
  });
});
