import { join } from 'node:path';
import { pino } from 'pino';
import { generateSigningKeyPair } from '@stile/config';
import { startCloudBridge, type CloudBridge } from '../bridge.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker.js';

/**
 * The cloud of `npm start`: an in-process Aedes broker on a free loopback port and a
 * cloud-bridge on SQLite in the demo folder, for one site and gate. Nothing outside the
 * process is needed. Shaped like gate-agent's DemoCloud (demo/start.js wires the two;
 * neither package depends on the other).
 */
export function demoCloud(opts: { logLevel?: string } = {}) {
  let broker: EmbeddedBroker | undefined;
  let bridge: CloudBridge | undefined;
  let siteId = '';
  return {
    async start(dir: string, site: { id: string; gate: string }) {
      siteId = site.id;
      const pair = generateSigningKeyPair('demo-control');
      broker = await startEmbeddedBroker(0);
      const mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
      bridge = await startCloudBridge({
        sqlitePath: join(dir, 'cloud.db'),
        mqttUrl,
        mqttProtocol: 4, // Aedes speaks MQTT 3.1.1
        httpPort: 0,
        sites: [{ id: site.id, controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, gates: [site.gate] }],
        sharedGroup: 'stile-demo',
        clientId: 'stile-demo-cloud',
        logger: pino({ level: opts.logLevel ?? 'warn' }),
      });
      return {
        mqtt: { url: mqttUrl, protocolVersion: 4, reconnectMinMs: 200, reconnectMaxMs: 2000 },
        control: { id: pair.keyId, publicKey: pair.publicKey },
        describe: `cloud: embedded MQTT broker ${mqttUrl}, cloud-bridge on ${join(dir, 'cloud.db')} (metrics: http://127.0.0.1:${bridge.httpPort}/metrics)`,
      };
    },

    async summary(expectedEntries: number): Promise<string> {
      if (!bridge) return 'cloud: not started';
      const until = Date.now() + 5000;
      let stored = await bridge.store.countEntries(siteId);
      while (stored < expectedEntries && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        stored = await bridge.store.countEntries(siteId);
      }
      const m = bridge.metrics;
      const conflicts = (await bridge.store.conflicts(siteId)).length;
      return `cloud received ${stored} entries (${m.received} messages, ${m.duplicates} duplicates), published ${m.deltasPublished} whitelist deltas, ${conflicts} conflicts`;
    },

    async close(): Promise<void> {
      await bridge?.close();
      await broker?.close();
    },
  };
}
