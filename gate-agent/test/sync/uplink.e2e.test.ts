import { afterEach, describe, expect, it } from 'vitest';
import { EntriesMessageSchema, GateStatusSchema, topics, type EntriesMessage, type GateStatus } from '@stile/config';
import { BrokerProxy, Observer, startSyncedGate, waitFor, type SyncedGate } from '../helpers/mqtt.js';

// Real Mosquitto at 127.0.0.1:1883 (anonymous). Each test has its own site id.
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

async function setup(opts: { proxy?: boolean; tickets?: number } = {}): Promise<{ gate: SyncedGate; obs: Observer; proxy: BrokerProxy | undefined }> {
  let proxy: BrokerProxy | undefined;
  if (opts.proxy) {
    proxy = new BrokerProxy();
    await proxy.start();
  }
  const gate = await startSyncedGate({ ...(proxy ? { url: proxy.url } : {}), tickets: opts.tickets ?? 100 });
  const obs = await Observer.connect();
  cleanups.push(async () => {
    await gate.stop();
    await obs.clearRetained(topics.status(gate.siteId, gate.gateId));
    await obs.close();
    await proxy?.close();
  });
  return { gate, obs, proxy };
}

describe('sync uplink: outbox → entries topic', () => {
  it('drains the outbox in seq order and deletes rows only on the cloud’s receipt', async () => {
    const { gate, obs, proxy } = await setup({ proxy: true, tickets: 400 });
    const entries = topics.entries(gate.siteId, gate.gateId);
    await obs.actAsCloud(gate.siteId, gate.gateId, gate.controlKey);
    await waitFor(() => gate.daemon.sync!.status.connected, 'gate connected');

    // Let the first status publish get its PUBACK (mqtt.js resends unacked messages before it reports a reconnect).
    await new Promise((r) => setTimeout(r, 300));
    // Admissions while the cloud is unreachable pile up in the outbox.
    proxy!.refuse = true;
    proxy!.cut();
    await waitFor(() => !gate.daemon.sync!.status.connected, 'gate disconnected');
    const admitted: number[] = [];
    for (const id of gate.site.sample.ids.slice(0, 400)) {
      const o = await gate.scanId(id);
      if (o.entry) admitted.push(o.entry.seq);
    }
    expect(admitted.length).toBeGreaterThan(250);
    // Back online, but every PUBACK is lost: the broker gets the batches, the gate never hears back.
    proxy!.dropPubacks = true;
    proxy!.refuse = false;
    const received = () => obs.json<EntriesMessage>(entries).flatMap((m) => m.events.map((e) => Number(e.seq)));
    await waitFor(() => received().length >= 200, 'two batches at the broker');
    await new Promise((r) => setTimeout(r, 300));
    // At most two batches of 100 in flight without PUBACK; the cloud's receipts alone delete rows.
    expect(obs.json<EntriesMessage>(entries).map((m) => m.events.length)).toEqual([100, 100]);
    expect(received()).toEqual(admitted.slice(0, 200));
    await waitFor(() => gate.outboxSeqs().length === admitted.length - 200, 'receipted rows deleted');
    expect(gate.outboxSeqs()).toEqual(admitted.slice(200));

    // The connection dies with the PUBACKs still held; after the reconnect everything arrives.
    proxy!.dropPubacks = false;
    proxy!.cut();
    await waitFor(() => gate.outboxSeqs().length === 0, 'outbox drained', 30_000);
    const msgs = obs.json<EntriesMessage>(entries);
    for (const m of msgs) {
      expect(EntriesMessageSchema.safeParse(m).success).toBe(true);
      expect(m.events.length).toBeLessThanOrEqual(100);
      const seqs = m.events.map((e) => Number(e.seq));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    const firstSeen = [...new Set(received())];
    expect(firstSeen).toEqual(admitted); // nothing lost, first delivery in order (redeliveries are duplicates)
    expect(gate.daemon.sync!.status.lastReceiptAt).not.toBeNull();
  }, 60_000);

  it('a PUBACK alone deletes nothing: with no cloud to store them, the entries stay in the outbox', async () => {
    const { gate, obs } = await setup();
    const entries = topics.entries(gate.siteId, gate.gateId);
    await obs.subscribe(entries); // the broker delivers, but nobody stores and answers
    await waitFor(() => gate.daemon.sync!.status.connected, 'gate connected');
    const admitted: number[] = [];
    for (const id of gate.site.sample.ids.filter((_, i) => i % 8 < 4).slice(0, 10)) admitted.push((await gate.scanId(id)).entry!.seq);
    await waitFor(() => obs.json<EntriesMessage>(entries).flatMap((m) => m.events).length >= admitted.length, 'entries at the broker');
    await new Promise((r) => setTimeout(r, 500));
    expect(gate.outboxSeqs()).toEqual(admitted);
    // The cloud comes (back): the gate sends again after its receipt timeout, and the rows go.
    await obs.actAsCloud(gate.siteId, gate.gateId, gate.controlKey);
    await waitFor(() => gate.outboxSeqs().length === 0, 'outbox drained once receipted', 30_000);
  }, 60_000);

  it('keeps admitting and keeps every row while the broker is unreachable', async () => {
    const { gate, obs, proxy } = await setup({ proxy: true });
    await obs.actAsCloud(gate.siteId, gate.gateId, gate.controlKey);
    await waitFor(() => gate.daemon.sync!.status.connected, 'gate connected');
    proxy!.refuse = true;
    proxy!.cut();
    await waitFor(() => !gate.daemon.sync!.status.connected, 'gate disconnected');
    const admitted: number[] = [];
    for (const id of gate.site.sample.ids.filter((_, i) => i % 8 < 4).slice(0, 20)) {
      const o = await gate.scanId(id);
      expect(o.decision).toBe('admit');
      admitted.push(o.entry!.seq);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(gate.outboxSeqs()).toEqual(admitted);
    proxy!.refuse = false;
    await waitFor(() => gate.outboxSeqs().length === 0, 'outbox drained after reconnect', 30_000);
  }, 60_000);

  it('publishes a retained status with its epoch, and the broker publishes the Last Will (offline, same epoch) when the link dies', async () => {
    const { gate, obs, proxy } = await setup({ proxy: true });
    const statusTopic = topics.status(gate.siteId, gate.gateId);
    await waitFor(() => gate.daemon.sync!.status.connected, 'gate connected');
    const epoch = gate.daemon.status().epoch;
    await obs.subscribe(statusTopic);
    await waitFor(() => obs.messages.some((m) => m.topic === statusTopic && m.retain), 'retained status');
    const first = obs.json<GateStatus>(statusTopic)[0]!;
    expect(GateStatusSchema.safeParse(first).success).toBe(true);
    expect(['online', 'degraded']).toContain(first.state);
    expect(first.epoch).toBe(epoch);
    expect(first.whitelistSeq).toBe('1');

    proxy!.refuse = true;
    proxy!.cut();
    await waitFor(() => obs.json<GateStatus>(statusTopic).some((s) => s.state === 'offline'), 'Last Will');
    const will = obs.json<GateStatus>(statusTopic).find((s) => s.state === 'offline')!;
    expect(will.epoch).toBe(epoch);
  }, 60_000);

  it('a clean stop leaves a retained offline status', async () => {
    const { gate, obs } = await setup();
    const statusTopic = topics.status(gate.siteId, gate.gateId);
    await waitFor(() => gate.daemon.sync!.status.connected, 'gate connected');
    await gate.daemon.stop();
    gate.stop = async () => gate.site.cleanup();
    await obs.subscribe(statusTopic);
    await waitFor(() => obs.messages.some((m) => m.topic === statusTopic && m.retain), 'retained status');
    expect(obs.json<GateStatus>(statusTopic).at(-1)!.state).toBe('offline');
  }, 60_000);
});
