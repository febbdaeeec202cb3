import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import { startEmbeddedBroker } from '../../cloud-bridge/src/broker.js';
import type { CloudBridge } from '../../cloud-bridge/src/bridge.js';
import { idNumber, testBridge, testDb, testSite, uniqueId } from '../../cloud-bridge/test/helpers.js';
import { loadAnnouncerConfig } from '../src/config.js';
import { startAnnouncer } from '../src/daemon.js';
import { CommandSpeaker } from '../src/speech.js';
import { captureLog, measureWav, playEvents, tempDir, waitFor, writeConfig } from './helpers.js';

// The whole path: a real cloud-bridge on its embedded broker sells the park into yellow; its
// capacity monitor signs and publishes the announcement; the announcer, logged in with a
// `screen` credential from the cloud's registry (the broker's ACL and client-id rule apply),
// verifies it and speaks it.

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('with the cloud', () => {
  it('the park goes yellow: the cloud announces it, the PA says it', async () => {
    const late: { bridge?: CloudBridge } = {};
    const broker = await startEmbeddedBroker({ port: 0, verifyDevice: (u, p) => late.bridge?.registry.verify(u, p) ?? Promise.resolve(null) });
    const db = await testDb('sqlite');
    const site = testSite(['g1']);
    const s = site.config.id;
    const sales = {
      catalogue: { ...demoCatalogue(), slots: [] },
      capacity: { daily: 10, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 0 },
      idHashKey: 'id-hash-key-for-tests-0123456789',
      staffTokenSha256: createHash('sha256').update('staff-token-for-tests').digest('hex'),
    };
    const bridge = (late.bridge = await testBridge(db, [{ ...site.config, sales }], { mqttUrl: broker.cloudUrl, mqttProtocol: 4, demoMode: true }));
    const dir = tempDir();
    dirs.push(dir);
    let stopAnnouncer = async () => {};
    try {
      const login = await bridge.registry.issue(s, 'screen', 'pa-1');
      expect(login.username).toBe(`screen.${s}.pa-1`);
      writeFileSync(join(dir, 'pa.pw'), `${login.token}\n`, { mode: 0o600 });
      const { file, capture } = writeConfig(dir, s, [{ id: 'ck1', publicKey: site.publicKey }], {
        mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, protocolVersion: 4, passwordFile: 'pa.pw', reconnectMinMs: 100, reconnectMaxMs: 500 },
        repeat: { intervalSec: 0 },
      });
      const loaded = loadAnnouncerConfig(file);
      const { log, lines } = captureLog();
      const speaker = new CommandSpeaker(loaded.config);
      const daemon = startAnnouncer(loaded, log, speaker);
      stopAnnouncer = () => daemon.stop().finally(() => speaker.close());
      await waitFor(() => daemon.status.subscribed, 'the announcer logged in and subscribed', 10_000);

      const base = `http://127.0.0.1:${bridge.httpPort}`;
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
      const auth = { authorization: `Bearer ${DEMO_API_KEYS.wechat}`, 'content-type': 'application/json' };
      const visitors = Array.from({ length: 7 }, (_, i) => ({ name: '游客', idNumber: idNumber(i + 1) }));
      const res = await fetch(`${base}/v1/channel/orders`, { method: 'POST', headers: { ...auth, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ typeId: 'adult', date: today, contactPhone: '13800138000', visitors }) });
      expect(res.status).toBe(201);
      const order = (await res.json()) as { orderId: string; amountFen: number };
      const paid = await fetch(`${base}/v1/channel/orders/${order.orderId}/pay`, { method: 'POST', headers: { ...auth, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ paymentRef: uniqueId('pay'), amountFen: order.amountFen }) });
      expect(paid.status).toBe(200);

      await waitFor(() => lines.some((l) => l.event === 'spoken'), 'the yellow announcement spoken', 20_000);
      const said = lines.find((l) => l.event === 'announcement') as { level: string; text: { zh: string; en: string } };
      expect(said.level).toBe('yellow');
      expect(said.text.zh).toContain('70%');
      const plays = playEvents(capture).filter((e) => e.event === 'start');
      expect(plays.map((p) => p.file.split('-').pop())).toEqual(['zh.wav', 'en.wav']);
      for (const p of plays) {
        const st = measureWav(p.copy!);
        expect(st.lengthSec).toBeGreaterThan(1);
        expect(st.rms).toBeGreaterThan(0.01);
      }
      expect(lines.filter((l) => l.event === 'announcement_refused' || l.event === 'capacity_refused')).toEqual([]);
      expect(daemon.announcer.currentLevel).toBe('yellow');
    } finally {
      await stopAnnouncer();
      await bridge.close();
      await db.cleanup();
      await broker.close();
    }
  });
});
