import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allArrived, checkInvariants, CloudProcess, decisions, feed, freePort, gateCleanup, makeCloud, makeGate, Mosquitto, scratch, sleep, startGate, Teardown, until, type CloudSide, type GateSide } from './harness.js';

/**
 * The broker dies (kill -9, nothing persisted) and comes back on the same port while a real
 * stile-gate admits a stream of 10,000 scans (5,000 fresh tickets, 3,000 re-scans, 2,000
 * unknown codes). Every journal row must reach the cloud exactly once.
 */
const SCANS = 10_000;
const CHUNK = 1_000;

const t = new Teardown();
let broker: Mosquitto;
let cloud: CloudSide;
let gate: GateSide;

beforeAll(async () => {
  const s = scratch();
  t.add(() => s.cleanup());
  broker = new Mosquitto(await freePort(), s.dir);
  t.add(() => broker.kill9());
  await broker.start();
  cloud = await makeCloud(s.dir, broker.url, ['east-1']);
  t.add(() => cloud.db.cleanup());
  gate = await makeGate({ gateId: 'east-1', mqttUrl: broker.url, controlPublicKey: cloud.publicKey, cloud, tickets: 6000 });
  gateCleanup(t, gate);
});
afterAll(() => t.run());

function scanLines(): string[] {
  const ids = gate.site.sample.ids;
  const lines: string[] = [];
  let fresh = 0;
  for (let i = 0; i < SCANS; i++) {
    const r = i % 10;
    if (r < 5) lines.push(`ST1:${ids[fresh++ % ids.length]!}`);
    else if (r < 8) lines.push(`ST1:${ids[Math.floor(fresh / 2)]!}`); // a re-scan of an earlier ticket
    else lines.push(`ST1:UNKNOWN${String(i).padStart(13, '0')}`);
  }
  return lines;
}

// KNOWN LOSS (found by this test, not fixed): the gate deletes outbox rows on the broker's
// PUBACK, so batches (a) the broker accepted but had not yet handed to the cloud when it was
// killed, and (b) published after the restart before stile-cloud resubscribed (PUBACK reason
// 16 "No matching subscribers", which mqtt.js reports as success) are lost. Opt in with
describe('broker kill -9 and restart during a stream of scans', () => {
  it(`${SCANS} scans: nothing lost, nothing twice, nothing admitted twice`, async () => {
    const cloudProc = await CloudProcess.start(cloud);
    t.add(() => cloudProc.kill());
    const g = await startGate(gate);
    await g.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);
    const lines = scanLines();
    for (let c = 0; c < SCANS / CHUNK; c++) {
      await feed(gate, lines.slice(c * CHUNK, (c + 1) * CHUNK));
      await until(() => decisions(gate) >= (c + 1) * CHUNK, `chunk ${c} decided`);
      if (c === 2) {
        await broker.kill9();
        await g.waitFor((l) => l.some((x) => x.event === 'mqtt_disconnected'), 20_000);
      }
      if (c === 5) await broker.start(); // same port, empty: no sessions, no retained messages
      await sleep(100);
    }
    await until(() => allArrived(cloud, [gate]), 'every entry in the cloud', 20_000).catch(() => undefined); // the invariants below say what is missing
    await sleep(500); // any late duplicate would land now
    const { violations, journal } = await checkInvariants(cloud, [gate]);
    if (violations.length && process.env.FAULTS_DUMP) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync('/tmp/faults-cloud.log', cloudProc.out);
      writeFileSync('/tmp/faults-gate.log', g.logs.filter((l) => !['admit', 'reject', 'relay_pulse'].includes(String(l.event))).map((l) => JSON.stringify(l)).join('\n'));
    }
    expect(violations).toEqual([]);
    expect(journal.filter((r) => r.kind === 'admit').length).toBeGreaterThan(3000);
    expect(g.logs.filter((l) => l.event === 'mqtt_connected').length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
