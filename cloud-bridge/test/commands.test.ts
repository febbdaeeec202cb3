import { afterEach, describe, expect, it } from 'vitest';
import { GateCommandSchema, topics, verifyControl } from '@stile/config';
import { testBridge, testClient, testDb, testSite, waitFor } from './helpers.js';

describe('gate commands over Mosquitto', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const db = await testDb('sqlite');
    cleanups.push(() => db.cleanup());
    const site = testSite(['g1', 'g2']);
    const bridge = await testBridge(db, [site.config]);
    cleanups.push(() => bridge.close());
    return { site, s: site.config.id, bridge };
  }

  it('sends a signed, expiring command and resolves on the gate ack', async () => {
    const { site, s, bridge } = await setup();
    const gate = await testClient();
    cleanups.push(() => gate.endAsync());
    const seen: Record<string, unknown>[] = [];
    gate.on('message', (topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as Record<string, unknown>;
      seen.push(cmd);
      const verdict = verifyControl(cmd, site.trusted, '2026-11-25');
      const ack = { v: 1, cmdId: cmd.cmdId, result: verdict.ok ? 'done' : 'refused', at: new Date().toISOString() };
      void gate.publishAsync(`${topic}/ack`, JSON.stringify(ack), { qos: 1 });
    });
    await gate.subscribeAsync(topics.cmd(s, 'g1'), { qos: 1 });

    const cmd = await bridge.sendCommand(s, 'g1', 'open', { persons: 2, issuedBy: 'staff:li', reason: 'relay failed after admission' });
    const ack = await bridge.waitForAck(cmd.cmdId, 15_000);
    expect(ack).toMatchObject({ cmdId: cmd.cmdId, result: 'done' });
    expect(GateCommandSchema.parse(seen[0])).toMatchObject({ site: s, gate: 'g1', action: 'open', persons: 2, issuedBy: 'staff:li' });
    const ttl = Date.parse(cmd.expiresAt) - Date.parse(cmd.at);
    expect(ttl).toBe(5 * 60_000);
    // Already acked: resolves at once.
    await expect(bridge.waitForAck(cmd.cmdId, 10)).resolves.toMatchObject({ result: 'done' });
    expect(bridge.metrics.commandsSent).toBe(1);
    expect(bridge.metrics.acksReceived).toBe(1);
  });

  it('ignores an ack from another gate and times out without one', async () => {
    const { s, bridge } = await setup();
    const cmd = await bridge.sendCommand(s, 'g2', 'lock', { issuedBy: 'staff:wang' });
    const other = await testClient();
    cleanups.push(() => other.endAsync());
    await other.publishAsync(topics.cmdAck(s, 'g1'), JSON.stringify({ v: 1, cmdId: cmd.cmdId, result: 'done', at: new Date().toISOString() }), { qos: 1 });
    await waitFor(() => bridge.metrics.invalid.ack_wrong_gate === 1, 'the misrouted ack');
    await expect(bridge.waitForAck(cmd.cmdId, 300)).rejects.toThrow(/no ack/);
  });
});
