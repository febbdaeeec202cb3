import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allArrived,
  checkInvariants,
  cloudCount,
  CloudProcess,
  decisions,
  feed,
  freePort,
  gateCleanup,
  gateJournal,
  killGate,
  makeCloud,
  makeGate,
  Mosquitto,
  outboxDepth,
  Partition,
  scratch,
  sleep,
  startGate,
  Teardown,
  until,
  type CloudSide,
  type GateSide,
} from './harness.js';

/**
 * An outage builds a backlog in the gate's outbox; the link comes back (slowly) and the gate
 * is killed with SIGKILL in the middle of draining it, then restarted. Every entry must
 * arrive, none twice: rows published but not yet deleted are sent again and the cloud
 * ignores them.
 */
const t = new Teardown();
let broker: Mosquitto;
let link: Partition;
let cloud: CloudSide;
let gate: GateSide;

beforeAll(async () => {
  const s = scratch();
  t.add(() => s.cleanup());
  broker = new Mosquitto(await freePort(), s.dir);
  t.add(() => broker.kill9());
  await broker.start();
  link = new Partition(broker.port);
  await link.start();
  t.add(() => link.close());
  cloud = await makeCloud(s.dir, broker.url, ['east-1']);
  t.add(() => cloud.db.cleanup());
  gate = await makeGate({ gateId: 'east-1', mqttUrl: link.url, controlPublicKey: cloud.publicKey, cloud, tickets: 6000 });
  gateCleanup(t, gate);
});
afterAll(() => t.run());

describe('gate kill -9 while draining a backlog', () => {
  it('all entries arrive after the restart, none twice', async () => {
    const cloudProc = await CloudProcess.start(cloud);
    t.add(() => cloudProc.kill());
    const g = await startGate(gate);
    await g.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);

    // Outage: the gate keeps admitting into its outbox.
    link.cut();
    await g.waitFor((l) => l.some((x) => x.event === 'mqtt_disconnected'), 20_000);
    const ids = gate.site.sample.ids.slice(0, 5000);
    await feed(
      gate,
      ids.map((id) => `ST1:${id}`),
    );
    await until(() => decisions(gate) >= ids.length, 'backlog scanned');
    const backlog = gateJournal(gate).length;
    expect(outboxDepth(gate)).toBe(backlog);
    expect(backlog).toBeGreaterThan(2000);

    // Back, over a slow link; kill the gate once the cloud has part of the backlog.
    link.delayMs = 40;
    link.heal();
    await until(async () => (await cloudCount(cloud)) > 0, 'drain started');
    await killGate(gate);
    const leftInOutbox = outboxDepth(gate);
    const inCloudAtKill = await cloudCount(cloud);
    expect(leftInOutbox).toBeGreaterThan(0); // really mid-drain
    expect(inCloudAtKill).toBeLessThan(backlog);

    // Restart on a normal link; a few more scans after the restart too.
    link.delayMs = 0;
    const g2 = await startGate(gate);
    await g2.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);
    await feed(
      gate,
      gate.site.sample.ids.slice(5000 - 300).map((id) => `ST1:${id}`), // already used: rejected, cheap
    );
    await until(() => decisions(gate) >= 300, 're-scans decided');
    await until(() => outboxDepth(gate) === 0, 'outbox drained', 60_000);
    await until(() => allArrived(cloud, [gate]), 'every entry in the cloud', 60_000).catch(() => undefined); // the invariants below say what is missing
    await sleep(500);
    const { violations } = await checkInvariants(cloud, [gate]);
    expect(violations).toEqual([]);
  }, 120_000);
});
