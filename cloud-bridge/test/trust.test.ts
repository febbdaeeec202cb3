import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, issueOfflineTicket, loadSigningKey, loadTrustedKeys, type EntryEvent } from '@stile/config';
import { judgeAdmissions, LaneRateLimiter } from '../src/modules/sync/admission-check.js';
import { admit, DIALECTS, seedTickets, signedAdmit, testBridge, testClient, testDb, testSite, waitFor, entriesMessage } from './helpers.js';
import { topics } from '@stile/config';

const offline = generateSigningKeyPair('ok1');
const trusted = loadTrustedKeys([{ id: 'ok1', publicKey: offline.publicKey }]);
const key = loadSigningKey('ok1', offline.privateKeyPem);
const code = (site: string, ticketId: string) => issueOfflineTicket(key, { site, ticketId, typeId: 'adult', visitDate: '2026-11-25', slotStart: null, slotEnd: null, persons: 1, issuedAt: 1_764_000_000 });
const ev = (seq: number, extra: Partial<EntryEvent> = {}): EntryEvent => ({ eventId: `e-${seq}-xxxxxxxx`, seq: String(seq), epoch: 1, kind: 'admit', ticketId: `TKT-${seq}-AAAA`, typeId: 'adult', credential: 'qr', persons: 1, at: '2026-11-25T09:00:00+08:00', ...extra });
const NOW = Date.parse('2026-11-25T09:05:00+08:00');

describe('judging a gate\'s admissions (pure)', () => {
  it('believes an ST2 admission only when the carried code verifies for this site and ticket', () => {
    const good = ev(1, { credential: 'signed-qr', ticketId: 'TKT-SIGNED-01', code: code('park', 'TKT-SIGNED-01') });
    const none = ev(2, { credential: 'signed-qr', ticketId: 'TKT-SIGNED-02' });
    const otherTicket = ev(3, { credential: 'signed-qr', ticketId: 'TKT-SIGNED-03', code: code('park', 'TKT-SIGNED-01') });
    const otherSite = ev(4, { credential: 'signed-qr', ticketId: 'TKT-SIGNED-04', code: code('elsewhere', 'TKT-SIGNED-04') });
    const forged = ev(5, { credential: 'signed-qr', ticketId: 'TKT-SIGNED-05', code: issueOfflineTicket(loadSigningKey('ok1', generateSigningKeyPair('ok1').privateKeyPem), { site: 'park', ticketId: 'TKT-SIGNED-05', typeId: 'adult', visitDate: '2026-11-25', slotStart: null, slotEnd: null, persons: 100, issuedAt: 1 }) });
    const v = judgeAdmissions('park', 'g1', [good, none, otherTicket, otherSite, forged], trusted, new LaneRateLimiter(() => 0), NOW);
    expect([...v.signed.keys()]).toEqual([good.eventId]);
    expect(Object.fromEntries(v.anomalies)).toEqual({ [none.eventId]: 'st2_unverified', [otherTicket.eventId]: 'st2_unverified', [otherSite.eventId]: 'st2_unverified', [forged.eventId]: 'st2_unverified' });
  });

  it('lets a lane pass a burst and then its rate, by the events\' own time, and refuses the future', () => {
    const limiter = new LaneRateLimiter(() => 5, 20);
    const at = (ms: number) => new Date(NOW - 60_000 + ms).toISOString();
    // 30 admissions claimed within one second: 20 (the burst) and ~5 more fit.
    const burst = Array.from({ length: 30 }, (_, i) => ev(i + 1, { at: at(i * 33) }));
    const v = judgeAdmissions('park', 'g1', burst, trusted, limiter, NOW);
    expect([...v.anomalies.values()].filter((r) => r === 'rate_exceeded').length).toBeGreaterThanOrEqual(5);
    expect([...v.anomalies.values()].filter((r) => r === 'rate_exceeded').length).toBeLessThanOrEqual(10);
    // A backlog after an outage: hours old, one every second — nothing refused.
    const backlog = Array.from({ length: 100 }, (_, i) => ev(100 + i, { at: new Date(NOW - 3 * 3_600_000 + i * 1000).toISOString() }));
    expect(judgeAdmissions('park', 'g2', backlog, trusted, new LaneRateLimiter(() => 5), NOW).anomalies.size).toBe(0);
    const future = judgeAdmissions('park', 'g3', [ev(300, { at: new Date(NOW + 3_600_000).toISOString() })], trusted, limiter, NOW);
    expect([...future.anomalies.values()]).toEqual(['future_time']);
    // Rate 0: unchecked.
    expect(judgeAdmissions('park', 'g4', burst, trusted, new LaneRateLimiter(() => 0), NOW).anomalies.size).toBe(0);
  });
});

describe.each(DIALECTS)('the cloud does not take a gate\'s word (%s)', (dialect) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('stores unverifiable, unknown and too-fast admissions as anomalies: no ticket, no delta, no alert storm, and a receipt all the same', async () => {
    const db = await testDb(dialect);
    cleanups.push(() => db.cleanup());
    const site = testSite(['g1']);
    site.config.maxAdmissionsPerSecond = 5;
    const alerts: unknown[] = [];
    const bridge = await testBridge(db, [site.config], { notifier: { notify: (a) => Promise.resolve(void alerts.push(a)) } });
    cleanups.push(() => bridge.close());
    const s = site.config.id;
    await seedTickets(bridge, s, Array.from({ length: 40 }, (_, i) => `TKT-KNOWN-${String(i).padStart(3, '0')}`));
    const head = (await bridge.whitelist.headSeq(s))!;
    const gate = await testClient();
    cleanups.push(() => gate.endAsync());
    const receipts: string[] = [];
    gate.on('message', (t, p) => t === topics.entriesAck(s, 'g1') && receipts.push(p.toString()));
    await gate.subscribeAsync(topics.entriesAck(s, 'g1'), { qos: 1 });
    const t0 = Date.now() - 60_000;
    await gate.publishAsync(
      topics.entries(s, 'g1'),
      entriesMessage(s, 'g1', [
        admit(1, 'TKT-NEVER-SOLD-1', { at: new Date(t0).toISOString() }),
        signedAdmit(site, 2, 'TKT-OFFLINE-01', { at: new Date(t0).toISOString(), code: 'ST2:garbage.garbage' }),
        // 40 known tickets claimed within 400 ms: far beyond a lane.
        ...Array.from({ length: 40 }, (_, i) => admit(3 + i, `TKT-KNOWN-${String(i).padStart(3, '0')}`, { at: new Date(t0 + i * 10).toISOString() })),
      ]),
      { qos: 1 },
    );
    await waitFor(() => receipts.length === 1, 'the receipt');
    const anomalies = await bridge.sync.anomalies(s);
    const by = (r: string) => anomalies.filter((a) => a.anomaly === r).length;
    expect(by('unknown_ticket')).toBe(1);
    expect(by('st2_unverified')).toBe(1);
    expect(by('rate_exceeded')).toBeGreaterThanOrEqual(15);
    expect(await bridge.whitelist.getTicket(s, 'TKT-NEVER-SOLD-1')).toBeUndefined();
    expect(await bridge.whitelist.getTicket(s, 'TKT-OFFLINE-01')).toBeUndefined();
    // Only the admissions within the lane's rate moved tickets, in one delta.
    const used = await Promise.all(Array.from({ length: 40 }, (_, i) => bridge.whitelist.getTicket(s, `TKT-KNOWN-${String(i).padStart(3, '0')}`)));
    expect(used.filter((t) => t?.entriesUsed === 1).length).toBe(40 - by('rate_exceeded'));
    expect(await bridge.whitelist.headSeq(s)).toBe(head + 1);
    expect(bridge.metrics.anomalies).toMatchObject({ unknown_ticket: 1, st2_unverified: 1 });
    // One staff alert per reason, not one per forged event.
    await waitFor(() => alerts.length >= 3, 'the anomaly alerts');
    expect(alerts.filter((a) => (a as { kind: string }).kind === 'gate_anomaly')).toHaveLength(3);
  });

  it('refuses every message of a revoked gate', async () => {
    const db = await testDb(dialect);
    cleanups.push(() => db.cleanup());
    const site = testSite(['g1']);
    const bridge = await testBridge(db, [site.config]);
    cleanups.push(() => bridge.close());
    const s = site.config.id;
    await seedTickets(bridge, s, ['TKT-R-0001', 'TKT-R-0002']);
    await bridge.registry.issue(s, 'gate', 'g1');
    const gate = await testClient();
    cleanups.push(() => gate.endAsync());
    await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(1, 'TKT-R-0001')]), { qos: 1 });
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 1, 'the first entry');
    await bridge.registry.revoke(s, 'gate', 'g1');
    await new Promise((r) => setTimeout(r, 2100)); // the ingest's revocation cache
    await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(2, 'TKT-R-0002')]), { qos: 1 });
    await waitFor(() => bridge.metrics.invalid.gate_revoked === 1, 'the refusal');
    expect(await bridge.sync.countEntries(s)).toBe(1);
    expect((await bridge.whitelist.getTicket(s, 'TKT-R-0002'))?.entriesUsed).toBe(0);
  });
});
