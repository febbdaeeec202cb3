import { describe, expect, it } from 'vitest';
import { connectAsync } from 'mqtt';
import { topics } from '@stile/config';
import { startEmbeddedBroker } from '../src/broker.js';
import type { CloudBridge } from '../src/bridge.js';
import { admit, entriesMessage, seedTickets, testBridge, testDb, testSite, waitFor } from './helpers.js';

describe('embedded broker', () => {
  it('runs the cloud bridge over MQTT 3.1.1 (plain subscription) end to end, gates logged in from the registry', async () => {
    const late: { bridge?: CloudBridge } = {};
    const broker = await startEmbeddedBroker({ port: 0, verifyDevice: (u, p) => late.bridge?.registry.verify(u, p) ?? Promise.resolve(null) });
    const db = await testDb('sqlite');
    const site = testSite(['g1']);
    const s = site.config.id;
    const bridge = (late.bridge = await testBridge(db, [site.config], { mqttUrl: broker.cloudUrl, mqttProtocol: 4 }));
    try {
      const login = await bridge.registry.issue(s, 'gate', 'g1');
      await seedTickets(bridge, s, ['TKT-EMB-0001']);
      const gate = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 4, reconnectPeriod: 0, clientId: `stile-${s}-g1`, username: login.username, password: login.token });
      const receipts: string[] = [];
      gate.on('message', (_t, p) => receipts.push(p.toString()));
      await gate.subscribeAsync(topics.entriesAck(s, 'g1'), { qos: 1 });
      await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(1, 'TKT-EMB-0001')]), { qos: 1 });
      await waitFor(async () => (await bridge.sync.countEntries(s)) === 1, 'the entry via the embedded broker');
      await waitFor(() => receipts.length === 1, 'the signed receipt on the gate’s own topic');
      expect(JSON.parse(receipts[0]!)).toMatchObject({ v: 1, site: s, gate: 'g1', from: '1', to: '1', sig: expect.stringMatching(/^ck1\./) });
      await gate.endAsync();
    } finally {
      await bridge.close();
      await db.cleanup();
      await broker.close();
    }
  });
});
