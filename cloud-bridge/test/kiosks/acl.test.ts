import { describe, expect, it } from 'vitest';
import { connectAsync } from 'mqtt';
import { generateSigningKeyPair, issueOfflineTicket, kioskTopics, loadSigningKey, localDate, newTicketId, topics } from '@stile/config';
import { demoCatalogue } from '@stile/demo/catalogue';
import { startEmbeddedBroker } from '../../src/broker.js';
import { clientIdAllowed, mayPublish, maySubscribe, type BrokerIdentity } from '../../src/broker-acl.js';
import type { CloudBridge } from '../../src/bridge.js';
import { testBridge, testDb, testSite, waitFor } from '../helpers.js';

const k1: BrokerIdentity = { kind: 'kiosk', site: 'park', id: 'k1' };

describe('kiosk ACL (broker-acl.ts)', () => {
  it.each([
    [kioskTopics.sales('park', 'k1'), true],
    [kioskTopics.sales('park', 'k2'), false],
    [kioskTopics.sales('other', 'k1'), false],
    [kioskTopics.salesAck('park', 'k1'), false],
    [kioskTopics.pack('park', 'k1'), false],
    [topics.entries('park', 'k1'), false],
    [topics.whitelistDelta('park'), false],
  ])('a kiosk publishing on %s: %s', (topic, allowed) => expect(mayPublish(k1, topic)).toBe(allowed));

  it.each([
    [kioskTopics.salesAck('park', 'k1'), true],
    [kioskTopics.pack('park', 'k1'), true],
    [topics.capacity('park'), true],
    [kioskTopics.salesAck('park', 'k2'), false],
    [kioskTopics.pack('park', 'k2'), false],
    ['stile/park/kiosks/+/sales/ack', false],
    [topics.whitelistDelta('park'), false],
  ])('a kiosk subscribing to %s: %s', (filter, allowed) => expect(maySubscribe(k1, filter)).toBe(allowed));

  it('a kiosk takes only its own client ids', () => {
    expect(clientIdAllowed(k1, 'stile-kiosk-park-k1')).toBe(true);
    expect(clientIdAllowed(k1, 'stile-kiosk-park-k2')).toBe(false);
    expect(clientIdAllowed(k1, 'stile-park-k1')).toBe(false);
  });
});

describe('embedded broker with kiosk credentials', () => {
  it("refuses a sale published with another kiosk's credentials; the kiosk's own arrives", async () => {
    const late: { bridge?: CloudBridge } = {};
    const broker = await startEmbeddedBroker({ port: 0, verifyDevice: (u, p) => late.bridge?.registry.verify(u, p) ?? Promise.resolve(null) });
    const db = await testDb('sqlite');
    const site = testSite(['g1']);
    const s = site.config.id;
    const pair = (id: string) => generateSigningKeyPair(id);
    const key1 = pair('kk1');
    const key2 = pair('kk2');
    const bridge = (late.bridge = await testBridge(
      db,
      [
        {
          ...site.config,
          kiosks: [
            { id: 'k1', channel: 'kiosk', offlineCap: 10, offlineKey: { id: 'kk1', publicKey: key1.publicKey } },
            { id: 'k2', channel: 'kiosk', offlineCap: 10, offlineKey: { id: 'kk2', publicKey: key2.publicKey } },
          ],
          sales: { catalogue: { ...demoCatalogue(), slots: [] }, capacity: { daily: 100, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 10 }, idHashKey: 'id-hash-key-for-tests-0123456789' },
        },
      ],
      { mqttUrl: broker.cloudUrl, mqttProtocol: 4, demoMode: true },
    ));
    try {
      const login = await bridge.registry.issue(s, 'kiosk', 'k1');
      const as = (clientId: string) => connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 4, reconnectPeriod: 0, clientId, username: login.username, password: login.token });
      const forger = await as(`stile-kiosk-${s}-k1.x`);
      const closed = new Promise<void>((r) => forger.once('close', () => r()));
      const today = localDate(new Date(), 'Asia/Shanghai');
      const record = (seq: number, key: ReturnType<typeof pair>) => {
        const ticketId = newTicketId();
        const code = issueOfflineTicket(loadSigningKey(key.keyId, key.privateKeyPem), { site: s, ticketId, typeId: 'adult', visitDate: today, slotStart: null, slotEnd: null, persons: 1, issuedAt: 1 });
        return { kind: 'sale', saleId: `S-${ticketId}`, seq: String(seq), at: new Date().toISOString(), typeId: 'adult', date: today, persons: 1, amountFen: 100, payment: 'offline-cash', tickets: [{ ticketId, code, persons: 1 }], print: 'printed' };
      };
      // k1, holding k1's credential, tries to sell in k2's name (with a code it could not sign as k2 anyway).
      // The embedded broker drops the connection of a client that publishes where it may not.
      void forger.publishAsync(kioskTopics.sales(s, 'k2'), JSON.stringify({ v: 1, site: s, kiosk: 'k2', records: [record(1, key1)] }), { qos: 1 }).catch(() => undefined);
      await closed;
      forger.end(true);
      const c = await as(`stile-kiosk-${s}-k1`);
      await c.publishAsync(kioskTopics.sales(s, 'k1'), JSON.stringify({ v: 1, site: s, kiosk: 'k1', records: [record(1, key1)] }), { qos: 1 });
      await waitFor(async () => (await bridge.kiosks.repository.records(s, 'k1')).length === 1, "k1's own sale");
      expect(await bridge.kiosks.repository.records(s, 'k2')).toEqual([]);
      expect(broker.refused.publish_denied).toBe(1);
      await c.endAsync();
    } finally {
      await bridge.close();
      await db.cleanup();
      await broker.close();
    }
  });
});
