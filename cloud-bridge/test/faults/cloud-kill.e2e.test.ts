import { afterAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers.js';
import {
  allArrived,
  checkInvariants,
  cloudCount,
  CloudProcess,
  decisions,
  feed,
  freePort,
  gateCleanup,
  makeCloud,
  makeGate,
  Mosquitto,
  scratch,
  sleep,
  startGate,
  Teardown,
  until,
} from './harness.js';

/**
 * stile-cloud is killed with SIGKILL in the middle of a stream and started again: its
 * persistent session keeps what the broker accepted meanwhile, and a batch it had stored
 * but not yet acknowledged comes again as a duplicate. SQLite and PostgreSQL.
 */
const t = new Teardown();
afterAll(() => t.run());

describe.each(DIALECTS)('stile-cloud kill -9 and restart mid-stream (%s)', (dialect) => {
  it('nothing lost, nothing duplicated', async () => {
    const s = scratch();
    t.add(() => s.cleanup());
    const broker = new Mosquitto(await freePort(), s.dir);
    t.add(() => broker.kill9());
    await broker.start();
    const cloud = await makeCloud(s.dir, broker.url, ['east-1'], dialect);
    t.add(() => cloud.db.cleanup());
    const gate = await makeGate({ gateId: 'east-1', mqttUrl: broker.url, controlPublicKey: cloud.publicKey, cloud, tickets: 6000 });
    gateCleanup(t, gate);

    let cloudProc = await CloudProcess.start(cloud);
    t.add(() => cloudProc.kill());
    const g = await startGate(gate);
    await g.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);
    const ids = gate.site.sample.ids;
    const chunk = (c: number) => ids.slice(c * 800, (c + 1) * 800).map((id) => `ST1:${id}`);
    let decided = 0;
    for (let c = 0; c < 6; c++) {
      await feed(gate, chunk(c));
      decided += 800;
      if (c === 1) {
        // Kill while it is ingesting this chunk.
        const before = await cloudCount(cloud);
        await until(async () => (await cloudCount(cloud)) > before, 'cloud ingesting');
        await cloudProc.kill('SIGKILL');
      }
      await until(() => decisions(gate) >= decided, `chunk ${c} decided`);
      if (c === 3) cloudProc = await CloudProcess.start(cloud);
      await sleep(100);
    }
    await until(() => allArrived(cloud, [gate]), 'every entry in the cloud', 60_000).catch(() => undefined); // the invariants below say what is missing
    await sleep(500);
    const { violations, journal } = await checkInvariants(cloud, [gate]);
    expect(violations).toEqual([]);
    expect(journal.length).toBeGreaterThan(2500);
    await cloudProc.kill('SIGTERM');
    await broker.kill9();
  }, 90_000);
});
