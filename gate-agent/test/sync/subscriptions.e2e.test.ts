import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { syncLines } from '../../src/cli/status-lines.js';
import { startSyncedGate, waitFor } from '../helpers/mqtt.js';

let cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

describe('a broker that takes the gate but refuses its subscriptions', () => {
  it('is not "connected": gatectl status says NOT SUBSCRIBED with the reason, until a retry is granted', async () => {
    const { Aedes } = await import('aedes');
    let refuse = true;
    const broker = await Aedes.createBroker({ authorizeSubscribe: (_c, sub, done) => done(null, refuse ? null : sub) });
    const server = createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => broker.close(() => server.close(() => r(undefined)))));
    const gate = await startSyncedGate({ url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, mqtt: { protocolVersion: 4 } });
    cleanups.push(() => gate.stop());
    const status = gate.daemon.sync!.status;

    await waitFor(() => status.connected && status.lastError !== null, 'the refused SUBACK');
    expect(status.subscribed).toBe(false);
    const line = syncLines(status)[0]!;
    expect(line).toMatch(/connected to .* NOT SUBSCRIBED \(subscription refused.*\): no deltas, commands or receipts/);
    expect([...gate.log.events('subscribe_refused'), ...gate.log.events('subscribe_failed')].length).toBeGreaterThan(0); // logged with the reason

    refuse = false; // the broker's ACL fixed: the gate's retry (every 5 s) is granted
    await waitFor(() => status.subscribed, 'the retried subscription', 15_000);
    expect(status.lastError).toBeNull();
    expect(syncLines(status)[0]).not.toContain('NOT SUBSCRIBED');
  }, 30_000);
});
