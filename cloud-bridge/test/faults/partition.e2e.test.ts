import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allArrived,
  checkInvariants,
  CloudProcess,
  decisions,
  feed,
  freePort,
  gateCleanup,
  makeCloud,
  makeGate,
  Mosquitto,
  Partition,
  scratch,
  sleep,
  startGate,
  Teardown,
  until,
  usedOnGate,
  type CloudSide,
  type GateSide,
} from './harness.js';

/**
 * Two lanes of one site are cut off from the broker (each behind its own TCP relay) and
 * both admit the same single-use ticket. After healing: the cloud has both admissions,
 * exactly one conflict row for that ticket, and each gate learns (used-elsewhere) what the
 * other admitted.
 */
const t = new Teardown();
let broker: Mosquitto;
let cloud: CloudSide;
let east1: GateSide;
let east2: GateSide;
const links: Partition[] = [];

beforeAll(async () => {
  const s = scratch();
  t.add(() => s.cleanup());
  broker = new Mosquitto(await freePort(), s.dir);
  t.add(() => broker.kill9());
  await broker.start();
  for (let i = 0; i < 2; i++) {
    const p = new Partition(broker.port);
    await p.start();
    t.add(() => p.close());
    links.push(p);
  }
  cloud = await makeCloud(s.dir, broker.url, ['east-1', 'east-2']);
  t.add(() => cloud.db.cleanup());
  east1 = await makeGate({ gateId: 'east-1', mqttUrl: links[0]!.url, controlPublicKey: cloud.publicKey, cloud, tickets: 400, snapshotUrl: cloud.httpUrl });
  gateCleanup(t, east1);
  east2 = await makeGate({ gateId: 'east-2', mqttUrl: links[1]!.url, controlPublicKey: cloud.publicKey, cloud, tickets: 400, whitelistFrom: east1.site, snapshotUrl: cloud.httpUrl });
  gateCleanup(t, east2);
});
afterAll(() => t.run());

describe('two gates partitioned from the broker admit the same ticket', () => {
  it('the cloud keeps both admissions, flags one conflict, and both gates learn used-elsewhere', async () => {
    const cloudProc = await CloudProcess.start(cloud);
    t.add(() => cloudProc.kill());
    const g1 = await startGate(east1);
    const g2 = await startGate(east2);
    await g1.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);
    await g2.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);

    // Single-use adult tickets (index % 8 < 3 in the demo whitelist).
    const adults = east1.site.sample.ids.filter((_, i) => i % 8 < 3);
    const shared = adults[0]!;
    const only1 = adults.slice(1, 60);
    const only2 = adults.slice(60, 120);

    for (const p of links) p.cut();
    await g1.waitFor((l) => l.some((x) => x.event === 'mqtt_disconnected'), 20_000);
    await g2.waitFor((l) => l.some((x) => x.event === 'mqtt_disconnected'), 20_000);
    await feed(east1, [shared, ...only1].map((id) => `ST1:${id}`));
    await feed(east2, [shared, ...only2].map((id) => `ST1:${id}`));
    await until(() => decisions(east1) >= 60 && decisions(east2) >= 61, 'partitioned scans decided');
    for (const g of [g1, g2]) expect(g.events('admit').filter((l) => l.ticketId === shared)).toHaveLength(1);

    for (const p of links) p.heal();
    await until(() => allArrived(cloud, [east1, east2]), 'both journals in the cloud', 60_000).catch(() => undefined); // the invariants below say what is missing
    await sleep(500);
    const { violations, cloud: rows, conflicts } = await checkInvariants(cloud, [east1, east2]);
    expect(violations).toEqual([]);
    expect(rows.filter((r) => r.ticket_id === shared && r.kind === 'admit').map((r) => r.gate).sort()).toEqual(['east-1', 'east-2']);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.ticket_id).toBe(shared);
    expect([conflicts[0]!.first_gate, conflicts[0]!.second_gate].sort()).toEqual(['east-1', 'east-2']);
    expect(cloudProc.out).toContain('"alert":"partition_conflict"');

    // used-elsewhere: each gate now counts the shared ticket twice (the cloud's absolute
    // count) and knows the tickets only the other lane admitted.
    await until(() => usedOnGate(east1, shared) === 2 && usedOnGate(east2, shared) === 2, 'shared ticket used twice on both gates', 30_000);
    await until(() => only2.every((id) => usedOnGate(east1, id) === 1) && only1.every((id) => usedOnGate(east2, id) === 1), 'used-elsewhere applied', 30_000);
    await feed(east1, [only2[0]!].map((id) => `ST1:${id}`));
    await feed(east2, [only1[0]!].map((id) => `ST1:${id}`));
    await until(() => decisions(east1) >= 61 && decisions(east2) >= 62, 'cross scans decided');
    for (const [g, id] of [
      [g1, only2[0]!],
      [g2, only1[0]!],
    ] as const) {
      expect(g.events('admit').filter((l) => l.ticketId === id)).toEqual([]);
      expect(g.events('reject').find((l) => l.ticketId === id)?.reason).toBe('entries_exhausted');
    }
    // Still nothing admitted twice at one gate, and still exactly one conflict.
    const after = await checkInvariants(cloud, [east1, east2]);
    expect(after.violations).toEqual([]);
    expect(after.conflicts).toHaveLength(1);
  }, 90_000);
});
