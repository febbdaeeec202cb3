import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, loadSigningKey, signControl, topics, type EntriesMessage } from '@stile/config';
import { Observer, receiptFor, startSyncedGate, waitFor } from '../helpers/mqtt.js';

// Real Mosquitto at 127.0.0.1:1883 (anonymous). Only the cloud's signed receipt for exactly
// these events may empty the outbox: anyone else on the broker must not make entries vanish.
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

describe('sync uplink: entries receipts', () => {
  it('an unsigned, forged, foreign-gate or mismatched-eventId receipt leaves the outbox untouched; the signed one empties it', async () => {
    const gate = await startSyncedGate();
    const obs = await Observer.connect();
    cleanups.push(async () => {
      await gate.stop();
      await obs.clearRetained(topics.status(gate.siteId, gate.gateId));
      await obs.close();
    });
    const entries = topics.entries(gate.siteId, gate.gateId);
    const ackTopic = topics.entriesAck(gate.siteId, gate.gateId);
    await obs.subscribe(entries);
    await waitFor(() => gate.daemon.sync?.status.connected === true, 'gate connected');
    await new Promise((r) => setTimeout(r, 200));

    const admitted: number[] = [];
    for (const id of gate.site.sample.ids.filter((_, i) => i % 8 < 4).slice(0, 3)) {
      const o = await gate.scanId(id);
      if (o.entry) admitted.push(o.entry.seq);
    }
    expect(admitted).toHaveLength(3);
    await waitFor(() => obs.json<EntriesMessage>(entries).flatMap((m) => m.events).length >= 3, 'entries at the broker');
    const events = obs.json<EntriesMessage>(entries).flatMap((m) => m.events).slice(0, 3);
    expect(events.map((e) => Number(e.seq))).toEqual(admitted);

    const good = receiptFor(gate.siteId, gate.gateId, events, gate.controlKey);
    const { sig: _sig, ...body } = good;
    const stranger = loadSigningKey('c9', generateSigningKeyPair('c9').privateKeyPem);
    const impostor = loadSigningKey('c1', generateSigningKeyPair('c1').privateKeyPem);
    const bad: [string, unknown][] = [
      ['invalid_receipt', { v: 1, from: good.from, to: good.to }], // the old, unbound receipt
      ['unsigned', { ...body, sig: 'none' }],
      ['unknown_key', signControl(body, stranger)],
      ['bad_signature', signControl(body, impostor)],
      ['wrong_gate', gate.sign({ ...body, gate: 'west-9' })],
      ['wrong_gate', gate.sign({ ...body, site: 'another-park' })],
      // A receipt from before a database reset: same seqs, other events.
      ['receipt_mismatch', gate.sign({ ...body, firstEventId: 'evt-from-an-older-life-0001' })],
      ['receipt_mismatch', gate.sign({ ...body, lastEventId: events[1]!.eventId })],
      ['receipt_mismatch', gate.sign({ ...body, from: '900', to: '902' })],
    ];
    for (const [, m] of bad) await obs.publish(ackTopic, m);
    const dropped = gate.daemon.sync!.status.dropped;
    await waitFor(() => Object.values(dropped).reduce((a, b) => a + b, 0) === bad.length, 'all bad receipts dropped');
    expect(dropped).toEqual({ invalid_receipt: 1, unsigned: 1, unknown_key: 1, bad_signature: 1, wrong_gate: 2, receipt_mismatch: 3 });
    expect(gate.log.events('message_dropped').map((l) => l.reason)).toEqual(bad.map(([reason]) => reason));
    expect(gate.outboxSeqs()).toEqual(admitted);

    await obs.publish(ackTopic, good);
    await waitFor(() => gate.outboxSeqs().length === 0, 'outbox emptied by the signed receipt');
    expect(Object.values(dropped).reduce((a, b) => a + b, 0)).toBe(bad.length);
  }, 60_000);
});
