import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entriesTail, status } from '../src/cli/commands.js';
import { makeOut } from '../src/cli/output.js';
import { startGateDaemon } from '../src/daemon/gate-daemon.js';
import { until } from './helpers/fake-serial.js';
import { DISPLAY, SENSOR, startLaneGate } from './helpers/lane.js';
import { makeSite, noonShanghai, silent, type TestSite } from './helpers/site.js';

let site: TestSite;

beforeAll(async () => {
  site = await makeSite(20);
});
afterAll(() => site?.cleanup());

/** Run a gatectl command in-process and return what it printed. */
async function gatectl(cmd: typeof status, json: boolean, flags: Record<string, string> = {}): Promise<string> {
  let out = '';
  await cmd({ configPath: site.configPath, out: makeOut(json, (s) => (out += s)), flags, args: [] });
  return out;
}

describe('gatectl status with a lane', () => {
  it('shows sensor and display health, emergency state and the passage counters, as text and JSON', async () => {
    const g = startLaneGate(site, {
      sensor: { type: 'serial', path: SENSOR },
      passageConfirm: { windowMs: 100 },
      emergency: { mode: 'fail-safe' },
      display: { type: 'serial', path: DISPLAY },
    }, { now: noonShanghai(site.today) });
    await until(() => g.daemon.status().lane?.sensor?.state === 'ok' && g.daemon.status().lane?.display?.state === 'ok');
    const sensor = g.port(SENSOR)!;
    await g.scan(0);
    sensor.receive('PASS\n');
    await g.scan(1); // nobody comes
    await until(() => g.daemon.status().lane!.notPassed === 1);
    sensor.receive('PASS\nGARBAGE\nEMERGENCY ON\n');
    await until(() => g.relay.emergency);
    await g.daemon.stop(); // writes the last heartbeat

    const text = await gatectl(status, false);
    expect(text).toMatch(new RegExp(`^sensor\\s+sensor ${SENSOR} \\(serial\\): stopped, 2 passes, 1 discarded$`, 'm'));
    expect(text).toMatch(new RegExp(`^display\\s+display ${DISPLAY} \\(serial\\): stopped, 2 lines, 0 discarded$`, 'm'));
    expect(text).toMatch(/^lane\s+EMERGENCY OPEN since \S+ \(input; fail-safe\); passage confirm 100 ms: 2 passed, 1 tailgate\(s\), 1 not passed \(1 person\(s\), 1 entry\(ies\) given back\), 0 waiting$/m);

    const data = JSON.parse(await gatectl(status, true)) as { daemon: { lane: Record<string, unknown> } };
    expect(data.daemon.lane).toMatchObject({
      sensor: { name: `sensor ${SENSOR}`, kind: 'serial', scans: 2, discarded: { unknown_line: 1 } },
      display: { name: `display ${DISPLAY}`, kind: 'serial', scans: 2 },
      emergency: { active: true, mode: 'fail-safe', causes: ['input'] },
      passageConfirm: { windowMs: 100 },
      passes: 2,
      tailgates: 1,
      notPassed: 1,
      notPassedPersons: 1,
      entriesReturned: 1,
      pending: 0,
    });

    const tail = await gatectl(entriesTail, false, { n: '5' });
    expect(tail).toMatch(/ not-passed #2 /);
  });

  it('a daemon without a lane shows no lane lines, and null in JSON', async () => {
    const d = startGateDaemon(site.cfg, silent);
    expect(d.status().lane).toBeNull();
    await d.stop();
    expect(await gatectl(status, false)).not.toMatch(/^(lane|sensor|display)\s/m);
    expect((JSON.parse(await gatectl(status, true)) as { daemon: { lane: unknown } }).daemon.lane).toBeNull();
  });
});
