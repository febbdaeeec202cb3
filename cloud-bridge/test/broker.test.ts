import { describe, expect, it } from 'vitest';
import { connectAsync } from 'mqtt';
import { topics } from '@stile/config';
import { startEmbeddedBroker } from '../src/broker.js';
import { admit, entriesMessage, testBridge, testDb, testSite, waitFor } from './helpers.js';

describe('embedded broker', () => {
  it('accepts MQTT 3.1.1 clients and routes a message', async () => {
    const broker = await startEmbeddedBroker(0);
    try {
      const url = `mqtt://127.0.0.1:${broker.port}`;
      const sub = await connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
      const pub = await connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
      const got = new Promise<string>((resolve) => sub.on('message', (_t, p) => resolve(p.toString())));
      await sub.subscribeAsync('stile/x/whitelist/delta', { qos: 1 });
      await pub.publishAsync('stile/x/whitelist/delta', 'hello', { qos: 1 });
      expect(await got).toBe('hello');
      await sub.endAsync();
      await pub.endAsync();
    } finally {
      await broker.close();
    }
  });

  it('runs the cloud bridge over MQTT 3.1.1 (plain subscription) end to end', async () => {
    const broker = await startEmbeddedBroker(0);
    const db = await testDb('sqlite');
    const site = testSite(['g1']);
    const s = site.config.id;
    const bridge = await testBridge(db, [site.config], { mqttUrl: `mqtt://127.0.0.1:${broker.port}`, mqttProtocol: 4 });
    try {
      const gate = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 4, reconnectPeriod: 0 });
      await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(1, 'TKT-EMB-0001')]), { qos: 1 });
      await waitFor(async () => (await bridge.store.countEntries(s)) === 1, 'the entry via the embedded broker');
      await gate.endAsync();
    } finally {
      await bridge.close();
      await db.cleanup();
      await broker.close();
    }
  });
});
