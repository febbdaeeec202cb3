import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from './helpers/fake-serial.js';
import { SENSOR, sleep, startLaneGate, type LaneGate } from './helpers/lane.js';
import { makeSite, noonShanghai, type TestSite } from './helpers/site.js';

let site: TestSite;
let gate: LaneGate | undefined;
let now: number;

beforeAll(async () => {
  site = await makeSite(80);
  now = noonShanghai(site.today);
});
afterEach(async () => {
  await gate?.daemon.stop();
  gate = undefined;
});
afterAll(() => site?.cleanup());

const lane = () => gate!.daemon.status().lane!;
const sensor = () => gate!.port(SENSOR)!;

async function start(mode: 'fail-safe' | 'fail-secure', extra: Record<string, unknown> = {}, opts: { sensorMissing?: boolean } = {}): Promise<LaneGate> {
  gate = startLaneGate(site, { sensor: { type: 'serial', path: SENSOR }, emergency: { mode }, ...extra }, { now, ...opts });
  if (!opts.sensorMissing) await until(() => lane().sensor?.state === 'ok');
  return gate;
}

describe('emergency input', () => {
  it('EMERGENCY ON holds the relay closed (lane open) and skips pulses; OFF releases it', async () => {
    const g = await start('fail-secure', { passageConfirm: { windowMs: 200 } });
    await g.scan(0);
    expect(lane().pending).toBe(1);
    g.relay.drives.length = 0;

    sensor().receive('EMERGENCY ON\n');
    await until(() => g.relay.emergency);
    expect(g.relay.drives).toEqual([true]);
    expect(lane().emergency).toMatchObject({ active: true, causes: ['input'], mode: 'fail-secure' });
    expect(g.log.events('emergency_open')).toMatchObject([{ cause: 'input' }]);
    // Who passes an open lane cannot be told apart: the waiting admission stands.
    expect(lane().pending).toBe(0);
    expect(g.log.events('passage_unconfirmed')).toMatchObject([{ reason: 'emergency', seq: expect.any(Number) }]);

    // Scans still decide and record, but the relay does not move.
    const family = await g.scan(4);
    expect(family).toMatchObject({ decision: 'admit', persons: 3 });
    expect(g.relay.drives).toEqual([true]);
    expect(g.log.events('relay_pulse_skipped')).toHaveLength(3);
    expect(g.log.events('relay_pulse_skipped')[0]).toMatchObject({ reason: 'emergency', seq: family.entry!.seq, person: 1, of: 3 });
    sensor().receive('PASS\nPASS\n');
    await sleep(300);
    expect(lane()).toMatchObject({ tailgates: 0, notPassed: 0 });

    sensor().receive('EMERGENCY OFF\n');
    await until(() => !g.relay.emergency);
    expect(g.relay.drives).toEqual([true, false]);
    expect(g.log.events('emergency_closed')).toMatchObject([{ cause: 'input' }]);
    expect(lane().emergency).toMatchObject({ active: false, causes: [] });

    // Back to normal: one pulse per person.
    await g.scan(8);
    expect(g.relay.drives).toEqual([true, false, true, false]);
  });

  it('an emergency that starts during a pulse keeps the contact closed', async () => {
    const g = await start('fail-secure');
    const pulsing = g.scan(12); // family: three pulses
    await until(() => g.relay.drives.length === 1);
    sensor().receive('EMERGENCY ON\n');
    await pulsing;
    expect(g.relay.drives.at(-1)).toBe(true);
    expect(g.relay.emergency).toBe(true);
  });

  it('fail-safe: an unplugged sensor opens the lane until it is back', async () => {
    const g = await start('fail-safe');
    g.fake.unavailable = true;
    sensor().unplug();
    await until(() => g.relay.emergency);
    expect(lane().emergency).toMatchObject({ active: true, causes: ['sensor_lost'], mode: 'fail-safe' });
    expect(lane().sensor).toMatchObject({ state: 'reconnecting' });
    expect(g.log.events('emergency_open')).toMatchObject([{ cause: 'sensor_lost', detail: 'disconnected' }]);
    expect(g.relay.drives).toEqual([true]);

    g.fake.unavailable = false;
    await until(() => !g.relay.emergency);
    expect(g.relay.drives).toEqual([true, false]);
    expect(g.log.events('emergency_closed')).toMatchObject([{ cause: 'sensor_lost' }]);
  });

  it('fail-safe: a sensor missing at start opens the lane at once', async () => {
    const g = await start('fail-safe', {}, { sensorMissing: true });
    await until(() => g.relay.emergency);
    expect(lane().emergency.causes).toEqual(['sensor_lost']);
    g.fake.unavailable = false;
    await until(() => !g.relay.emergency);
  });

  it('fail-secure: an unplugged sensor leaves the lane closed', async () => {
    const g = await start('fail-secure');
    g.fake.unavailable = true;
    sensor().unplug();
    await until(() => lane().sensor?.state === 'reconnecting');
    await sleep(100);
    expect(g.relay.emergency).toBe(false);
    expect(g.relay.drives).toEqual([]);
    expect(lane().emergency.active).toBe(false);
    expect(g.log.events('sensor_lost')).toMatchObject([{ mode: 'fail-secure' }]);
    // Scans go on with normal pulses.
    await g.scan(9);
    expect(g.relay.drives).toEqual([true, false]);
  });

  it('causes are independent: EMERGENCY OFF does not close a lane held open by a lost fail-safe sensor', async () => {
    const g = await start('fail-safe');
    sensor().receive('EMERGENCY ON\n');
    await until(() => g.relay.emergency);
    g.fake.unavailable = true;
    sensor().unplug();
    await until(() => lane().emergency.causes.length === 2);
    g.fake.unavailable = false;
    await until(() => lane().emergency.causes.length === 1);
    expect(lane().emergency.causes).toEqual(['input']); // the alarm was on when the cable went
    sensor().receive('EMERGENCY OFF\n');
    await until(() => !g.relay.emergency);
    expect(g.relay.drives).toEqual([true, false]);
  });
});
