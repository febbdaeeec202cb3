import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from './helpers/fake-serial.js';
import { DISPLAY, startLaneGate, type LaneGate } from './helpers/lane.js';
import { makeSite, noonShanghai, type TestSite } from './helpers/site.js';

let site: TestSite;
let gate: LaneGate | undefined;
let now: number;

beforeAll(async () => {
  site = await makeSite(40);
  now = noonShanghai(site.today);
});
afterEach(async () => {
  await gate?.daemon.stop();
  gate = undefined;
});
afterAll(() => site?.cleanup());

const written = (g: LaneGate) => g.port(DISPLAY)!.written.map((b) => b.toString('utf8'));

describe('lane display', () => {
  it('a serial display gets one line per decision: OK with the group size, NO with reason and both languages', async () => {
    const g = (gate = startLaneGate(site, { display: { type: 'serial', path: DISPLAY } }, { now }));
    await until(() => g.daemon.status().lane?.display?.state === 'ok');
    await g.scan(0);
    await g.scan(4);
    await g.scan(0);
    await g.daemon.scan({ kind: 'qr', text: 'hello' }, 'test');
    await until(() => g.daemon.status().lane!.display!.scans === 4);
    expect(written(g)).toEqual([
      'OK 请通行 Welcome\n',
      'OK 请通行 Welcome ×3\n',
      'NO entries_exhausted 票已使用 Already used\n',
      'NO malformed_code 无法识别 Unreadable code\n',
    ]);
  });

  it('gb18030 boards get GB18030 bytes', async () => {
    const g = (gate = startLaneGate(site, { display: { type: 'serial', path: DISPLAY, encoding: 'gb18030' } }, { now }));
    await until(() => g.daemon.status().lane?.display?.state === 'ok');
    await g.daemon.scan({ kind: 'qr', text: 'ST1:NOSUCHTICKET0000000001' }, 'test');
    await until(() => g.port(DISPLAY)!.written.length === 1);
    const bytes = g.port(DISPLAY)!.written[0]!;
    expect(new TextDecoder('gb18030').decode(bytes)).toBe('NO unknown_ticket 票不存在 Unknown ticket\n');
    expect(bytes.includes(Buffer.from('票', 'utf8'))).toBe(false);
  });

  it('an unplugged display drops lines (counted) and the gate keeps admitting', async () => {
    const g = (gate = startLaneGate(site, { display: { type: 'serial', path: DISPLAY } }, { now }));
    await until(() => g.daemon.status().lane?.display?.state === 'ok');
    g.fake.unavailable = true;
    g.port(DISPLAY)!.unplug();
    expect((await g.scan(1)).decision).toBe('admit');
    expect(g.daemon.status().lane!.display).toMatchObject({ state: 'reconnecting', discarded: { not_connected: 1 } });
    g.fake.unavailable = false;
    await until(() => g.daemon.status().lane?.display?.state === 'ok');
    await g.scan(1);
    await until(() => g.port(DISPLAY)!.written.length === 1);
    expect(written(g)).toEqual(['NO entries_exhausted 票已使用 Already used\n']);
  });

  it('a log display logs the line it would show', async () => {
    const g = (gate = startLaneGate(site, { display: { type: 'log' } }, { now }));
    await g.scan(2);
    expect(g.log.events('display')).toMatchObject([{ line: 'OK 请通行 Welcome' }]);
  });
});
