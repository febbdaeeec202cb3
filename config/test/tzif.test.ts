import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localClock } from '../src/index.js';
import { offsetAt, parsePosixTz, parseTzif, readZoneOffsets, ruleOffset } from '../src/tzif.js';

const ZONEINFO = '/usr/share/zoneinfo';
const hasTzdata = existsSync(join(ZONEINFO, 'Asia/Shanghai'));

/** ICU's offset (seconds east) of `zone` at `ms`, the reference the tz files must agree with. */
const offsetFormats = new Map<string, Intl.DateTimeFormat>();
function icuOffset(zone: string, ms: number): number {
  let f = offsetFormats.get(zone);
  if (!f) offsetFormats.set(zone, (f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })));
  const name = f.formatToParts(ms).find((p) => p.type === 'timeZoneName')!.value;
  const m = /GMT(?:([+-])(\d\d):(\d\d)(?::(\d\d))?)?/.exec(name)!;
  return m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0)) : 0;
}

/** ICU's local date and second of day, built from formatToParts (the path local-time.ts used before). */
const clockFormats = new Map<string, Intl.DateTimeFormat>();
function icuClock(zone: string, ms: number): { date: string; secondOfDay: number } {
  let f = clockFormats.get(zone);
  if (!f) clockFormats.set(zone, (f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })));
  const parts = f.formatToParts(ms);
  const v = (t: string) => parts.find((p) => p.type === t)!.value;
  return { date: `${v('year')}-${v('month')}-${v('day')}`, secondOfDay: Number(v('hour')) * 3600 + Number(v('minute')) * 60 + Number(v('second')) };
}

/** A deterministic spread of instants (xorshift), so a failure repeats. */
function instants(n: number, fromIso: string, toIso: string, seed = 7): number[] {
  const from = Date.parse(fromIso);
  const span = Date.parse(toIso) - from;
  let x = seed;
  return Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return from + Math.floor(((x >>> 0) / 2 ** 32) * span / 1000) * 1000;
  });
}

// Zones with every kind of rule: none, northern and southern DST, 30- and 45-minute offsets,
// a half-hour DST, negative DST (Dublin), transitions listed far ahead (Casablanca), +14.
const ZONES = [
  'Asia/Shanghai', 'Asia/Urumqi', 'Asia/Hong_Kong', 'UTC', 'Europe/Berlin', 'Europe/London', 'Europe/Dublin', 'America/New_York',
  'America/Santiago', 'America/St_Johns', 'America/Sao_Paulo', 'Australia/Sydney', 'Australia/Lord_Howe', 'Pacific/Chatham',
  'Asia/Kolkata', 'Asia/Kathmandu', 'Asia/Tehran', 'Africa/Casablanca', 'Pacific/Kiritimati', 'Etc/GMT+8', 'America/Nuuk',
];

describe.skipIf(!hasTzdata)('offsets from the system tz database agree with ICU', () => {
  it.each(ZONES)('%s, 1,000 instants 1990–2090', (zone) => {
    const z = readZoneOffsets(zone);
    expect(z).toBeDefined();
    const diffs = instants(1000, '1990-01-01T00:00:00Z', '2090-01-01T00:00:00Z')
      .map((ms) => ({ at: new Date(ms).toISOString(), ours: offsetAt(z!, ms / 1000), icu: icuOffset(zone, ms) }))
      .filter((d) => d.ours !== d.icu);
    expect(diffs).toEqual([]);
  });

  it('localClock reads the same date and time of day as ICU, also either side of every 2026 change', () => {
    for (const zone of ZONES) {
      const z = readZoneOffsets(zone)!;
      const near = [...z.at].filter((s) => s >= Date.parse('2026-01-01') / 1000 && s < Date.parse('2027-01-01') / 1000).flatMap((s) => [s * 1000 - 1000, s * 1000, s * 1000 + 1000]);
      for (const ms of [...near, ...instants(200, '2020-01-01T00:00:00Z', '2040-01-01T00:00:00Z')]) {
        expect({ zone, at: new Date(ms).toISOString(), ...localClock(zone, ms) }).toEqual({ zone, at: new Date(ms).toISOString(), ...icuClock(zone, ms) });
      }
    }
  });
});

describe('POSIX TZ footer rules', () => {
  it.each<[string, ReturnType<typeof parsePosixTz>]>([
    ['<+08>-8', { std: 8 * 3600 }],
    ['UTC0', { std: 0 }],
    ['<-0330>3:30', { std: -(3 * 3600 + 1800) }],
    ['CET-1CEST,M3.5.0,M10.5.0/3', { std: 3600, dst: { offset: 7200, start: { kind: 'month', month: 3, week: 5, weekday: 0, time: 7200 }, end: { kind: 'month', month: 10, week: 5, weekday: 0, time: 10800 } } }],
    // Negative and past-24 h rule times (RFC 8536's extension): Nuuk, Jerusalem.
    ['<-02>2<-01>,M3.5.0/-1,M10.5.0/0', { std: -7200, dst: { offset: -3600, start: { kind: 'month', month: 3, week: 5, weekday: 0, time: -3600 }, end: { kind: 'month', month: 10, week: 5, weekday: 0, time: 0 } } }],
    ['IST-2IDT,M3.4.4/26,M10.5.0', { std: 7200, dst: { offset: 10800, start: { kind: 'month', month: 3, week: 4, weekday: 4, time: 26 * 3600 }, end: { kind: 'month', month: 10, week: 5, weekday: 0, time: 7200 } } }],
    ['EST5EDT4,J60/1,300', { std: -5 * 3600, dst: { offset: -4 * 3600, start: { kind: 'julian', day: 60, time: 3600 }, end: { kind: 'zero-based', day: 300, time: 7200 } } }],
  ])('%s', (tz, rule) => {
    expect(parsePosixTz(tz)).toEqual(rule);
  });

  it.each(['', 'CE', 'CET', 'CET-1CEST', 'CET-1CEST,M3.5.0', 'CET-1CEST,M13.5.0,M10.5.0', 'CET-1CEST,M3.6.0,M10.5.0', 'CET-1CEST,J0,J365', 'CET-1CEST,M3.5.0,M10.5.0/168', '<+08-8', 'CET-25', 'CET-1CEST,M3.5.0,M10.5.0 extra'])(
    'refuses %j',
    (tz) => {
      expect(parsePosixTz(tz)).toBeUndefined();
    },
  );

  it('year-round daylight time (start Jan 1 00:00, end after Dec 31 24:00) is daylight time all year', () => {
    const rule = parsePosixTz('EST5EDT4,0/0,J365/25')!;
    for (const ms of instants(100, '2030-01-01T00:00:00Z', '2032-12-31T23:59:59Z')) expect(ruleOffset(rule, ms / 1000)).toBe(-4 * 3600);
  });

  it('southern hemisphere: daylight time spans the new year', () => {
    const rule = parsePosixTz('AEST-10AEDT,M10.1.0,M4.1.0/3')!;
    expect(ruleOffset(rule, Date.parse('2031-01-15T00:00:00Z') / 1000)).toBe(11 * 3600);
    expect(ruleOffset(rule, Date.parse('2031-07-15T00:00:00Z') / 1000)).toBe(10 * 3600);
    expect(ruleOffset(rule, Date.parse('2031-12-15T00:00:00Z') / 1000)).toBe(11 * 3600);
  });
});

describe('bad input never reaches a wrong answer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stile-tzif-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names outside the tz spelling are not looked up at all (no path tricks, no devices)', () => {
    for (const name of ['../../etc/passwd', '/etc/passwd', 'Asia/../Asia/Shanghai', 'asia/shanghai', 'localtime', 'posixrules', '', 'A/B/C/D', 'Asia/Shang hai', 'zone.tab']) {
      expect(readZoneOffsets(name, ZONEINFO)).toBeUndefined();
    }
  });

  it('a file that is not TZif, a directory, a truncated or oversized file and a version 1 file give undefined', () => {
    writeFileSync(join(dir, 'Garbage'), 'not a tz file at all, just text\n'.repeat(10));
    mkdirSync(join(dir, 'Folder'));
    writeFileSync(join(dir, 'Big'), Buffer.concat([Buffer.from('TZif2'), Buffer.alloc(300 * 1024)]));
    const v1 = Buffer.alloc(44);
    v1.write('TZif', 0, 'latin1');
    writeFileSync(join(dir, 'Old'), v1);
    for (const name of ['Garbage', 'Folder', 'Big', 'Old', 'Missing']) expect(readZoneOffsets(name, dir)).toBeUndefined();
    if (hasTzdata) {
      const real = readFileSync(join(ZONEINFO, 'Europe/Berlin'));
      for (const cut of [10, 44, 100, real.length - 20, real.length - 1]) expect(parseTzif(real.subarray(0, cut))).toBeUndefined();
    }
  });

  it.skipIf(!hasTzdata)('a leap-second ("right/") file is refused: its seconds are not Date.now() seconds', () => {
    const right = join(ZONEINFO, 'right/Europe/Berlin');
    if (!existsSync(right)) return;
    expect(parseTzif(readFileSync(right))).toBeUndefined();
  });

  it.skipIf(!hasTzdata)('TZDIR is honoured, and a symlinked zone (as tzdata installs aliases) reads like its target', () => {
    mkdirSync(join(dir, 'Test'), { recursive: true });
    copyFileSync(join(ZONEINFO, 'Asia/Shanghai'), join(dir, 'Test/Park'));
    symlinkSync(join(dir, 'Test/Park'), join(dir, 'Test/Alias'));
    const t = Date.parse('2026-11-25T16:00:00Z') / 1000;
    expect(offsetAt(readZoneOffsets('Test/Park', dir)!, t)).toBe(8 * 3600);
    expect(offsetAt(readZoneOffsets('Test/Alias', dir)!, t)).toBe(8 * 3600);
  });
});
