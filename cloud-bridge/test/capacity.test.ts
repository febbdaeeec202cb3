import { describe, expect, it } from 'vitest';
import {
  AnnouncementMessageSchema,
  announceTopic,
  announcementMessage,
  CapacityConfigSchema,
  capacityMessage,
  CapacityMessageSchema,
  CapacityState,
  capacityTopic,
  type CapacityConfigInput,
  type Level,
  levelFor,
  nextCapacityState,
  nextLevel,
  renderAnnouncement,
  salesDecision,
  thresholds,
} from '../src/core/capacity-levels.js';

const cfg = (input: CapacityConfigInput) => CapacityConfigSchema.parse(input);
const std = cfg({ daily: 5000 });
/** A site with its own thresholds: yellow 50 %, orange 75 %, red 95 % of 800. */
const custom = cfg({ daily: 800, yellow: 0.5, orange: 0.75, red: 0.95, kioskReserve: 20 });

describe('CapacityConfigSchema', () => {
  it('fills the defaults', () => {
    expect(std).toMatchObject({ daily: 5000, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 250 });
    // Red stops sales, not entry: ticket holders are still admitted, and the announcement says so.
    expect(std.announcements.red).toEqual({ zh: '今日游客已满，已停止售票；持今日门票的游客仍可凭票入园。', en: 'The park is full for today: ticket sales have stopped. Visitors with a ticket for today can still enter.' });
    expect(cfg({ daily: 1234 }).kioskReserve).toBe(62);
    expect(thresholds(std)).toEqual({ yellow: 3500, orange: 4250, red: 5000 });
    expect(thresholds(custom)).toEqual({ yellow: 400, orange: 600, red: 760 });
  });

  it('keeps the default text for levels an override leaves out', () => {
    const c = cfg({ daily: 10, announcements: { red: { zh: '满', en: 'Full' } } });
    expect(c.announcements.red).toEqual({ zh: '满', en: 'Full' });
    expect(c.announcements.yellow.en).toContain('almost full');
  });

  const bad: [string, CapacityConfigInput | Record<string, unknown>, string, RegExp][] = [
    ['yellow ≥ orange', { daily: 5000, yellow: 0.9, orange: 0.85 }, 'orange', /orange \(0.85\) must be above yellow \(0.9\)/],
    ['yellow = orange', { daily: 5000, yellow: 0.85 }, 'orange', /must be above yellow/],
    ['orange ≥ red', { daily: 5000, orange: 0.95, red: 0.9 }, 'red', /red \(0.9\) must be above orange/],
    ['red > 1', { daily: 5000, red: 1.2 }, 'red', /red must be at most 1/],
    ['daily 0', { daily: 0 }, 'daily', /daily must be at least 1/],
    ['daily fractional', { daily: 10.5 }, 'daily', /whole number/],
    ['daily missing', {}, 'daily', /daily must be a whole number/],
    ['yellow 0', { daily: 10, yellow: 0 }, 'yellow', /yellow must be above 0/],
    ['negative reserve', { daily: 10, kioskReserve: -1 }, 'kioskReserve', /must not be negative/],
    ['reserve > daily', { daily: 10, kioskReserve: 11 }, 'kioskReserve', /must not exceed daily/],
    ['unknown key', { daily: 10, daly: 5 }, '', /daly/],
    ['half a text', { daily: 10, announcements: { red: { zh: '满' } } }, 'announcements.red.en', /./],
    ['unknown level', { daily: 10, announcements: { purple: { zh: 'x', en: 'x' } } }, 'announcements', /purple/],
  ];
  it.each(bad)('rejects %s and names the field', (_name, input, path, message) => {
    const r = CapacityConfigSchema.safeParse(input);
    expect(r.success).toBe(false);
    const issue = r.error!.issues.find((i) => i.path.join('.') === path);
    expect(issue, JSON.stringify(r.error!.issues)).toBeDefined();
    expect(issue!.message + JSON.stringify(issue)).toMatch(message);
  });
});

describe('levelFor', () => {
  // Percent of daily → level; loads are whole persons, so 69.99 % of 5000 is 3499 (floored).
  const table: [string, ReturnType<typeof cfg>, number, Level][] = [
    ['0 %', std, 0, 'green'],
    ['69.99 %', std, 69.99, 'green'],
    ['70 %', std, 70, 'yellow'],
    ['84.99 %', std, 84.99, 'yellow'],
    ['85 %', std, 85, 'orange'],
    ['99.99 %', std, 99.99, 'orange'],
    ['100 %', std, 100, 'red'],
    ['120 %', std, 120, 'red'],
    ['custom 49.99 %', custom, 49.99, 'green'],
    ['custom 50 %', custom, 50, 'yellow'],
    ['custom 74.99 %', custom, 74.99, 'yellow'],
    ['custom 75 %', custom, 75, 'orange'],
    ['custom 94.99 %', custom, 94.99, 'orange'],
    ['custom 95 %', custom, 95, 'red'],
    ['custom 100 %', custom, 100, 'red'],
  ];
  it.each(table)('%s → %s', (_name, c, percent, level) => {
    expect(levelFor(Math.floor((percent * c.daily) / 100 + 1e-9), c)).toBe(level);
  });

  it('places a fractional threshold at the first whole person at or above it', () => {
    const c = cfg({ daily: 1234, yellow: 0.6 }); // 740.4 persons
    expect(levelFor(740, c)).toBe('green');
    expect(levelFor(741, c)).toBe('yellow');
    // 0.07 * 100 is 7.000000000000001 in floating point; the threshold is still 7.
    expect(thresholds(cfg({ daily: 100, yellow: 0.07, orange: 0.5 })).yellow).toBe(7);
  });
});

describe('salesDecision', () => {
  type Row = [string, ReturnType<typeof cfg>, number, 'online' | 'kiosk', number, ReturnType<typeof salesDecision>];
  const table: Row[] = [
    // standard site: Y 3500, O 4250, R 5000, reserve 250
    ['green, online', std, 1000, 'online', 2, { ok: true, almostFull: false }],
    ['green, kiosk', std, 1000, 'kiosk', 2, { ok: true, almostFull: false }],
    ['online order that makes the park yellow', std, 3499, 'online', 1, { ok: true, almostFull: true }],
    ['yellow, online', std, 4000, 'online', 4, { ok: true, almostFull: true }],
    ['last online ticket before orange', std, 4248, 'online', 1, { ok: true, almostFull: true }],
    ['online order that would reach orange', std, 4249, 'online', 1, { ok: false, reason: 'capacity_orange' }],
    ['online group crossing orange', std, 4200, 'online', 60, { ok: false, reason: 'capacity_orange' }],
    ['kiosk order that reaches orange', std, 4249, 'kiosk', 1, { ok: true, almostFull: true }],
    ['orange, online', std, 4300, 'online', 1, { ok: false, reason: 'capacity_orange' }],
    ['orange, kiosk', std, 4300, 'kiosk', 10, { ok: true, almostFull: true }],
    ['kiosk: the last ticket', std, 4999, 'kiosk', 1, { ok: true, almostFull: true }],
    ['kiosk: order past daily', std, 4998, 'kiosk', 3, { ok: false, reason: 'capacity_exceeded' }],
    ['red, kiosk', std, 5000, 'kiosk', 1, { ok: false, reason: 'capacity_red' }],
    ['red, online', std, 5000, 'online', 1, { ok: false, reason: 'capacity_red' }],
    ['over capacity, kiosk', std, 5100, 'kiosk', 1, { ok: false, reason: 'capacity_red' }],
    ['green, kiosk group larger than the park', std, 0, 'kiosk', 5001, { ok: false, reason: 'capacity_exceeded' }],
    // custom site: Y 400, O 600, R 760 (red 95 %), reserve 20
    ['custom: last online ticket before orange', custom, 598, 'online', 1, { ok: true, almostFull: true }],
    ['custom: online reaching orange', custom, 599, 'online', 1, { ok: false, reason: 'capacity_orange' }],
    ['custom: kiosk up to the red line', custom, 750, 'kiosk', 10, { ok: true, almostFull: true }],
    ['custom: kiosk past the red line (below daily)', custom, 750, 'kiosk', 11, { ok: false, reason: 'capacity_exceeded' }],
    ['custom: red below daily', custom, 760, 'kiosk', 1, { ok: false, reason: 'capacity_red' }],
  ];
  it.each(table)('%s', (_name, c, load, channelKind, requestedPersons, expected) => {
    expect(salesDecision(c, { load, channelKind, requestedPersons })).toEqual(expected);
  });

  it('keeps the kiosk reserve when orange sits close to red', () => {
    // O = 98 % = 980, R = 1000, reserve 50: online stops at 950 although orange is at 980.
    const c = cfg({ daily: 1000, orange: 0.98, kioskReserve: 50 });
    expect(salesDecision(c, { load: 949, channelKind: 'online', requestedPersons: 1 })).toEqual({ ok: true, almostFull: true });
    expect(salesDecision(c, { load: 950, channelKind: 'online', requestedPersons: 1 })).toEqual({ ok: false, reason: 'kiosk_reserve_exhausted' });
    expect(salesDecision(c, { load: 940, channelKind: 'online', requestedPersons: 20 })).toEqual({ ok: false, reason: 'kiosk_reserve_exhausted' });
    expect(salesDecision(c, { load: 950, channelKind: 'kiosk', requestedPersons: 50 })).toEqual({ ok: true, almostFull: true });
    // A zero reserve leaves online bounded by orange only.
    const none = cfg({ daily: 1000, orange: 0.98, kioskReserve: 0 });
    expect(salesDecision(none, { load: 978, channelKind: 'online', requestedPersons: 1 })).toEqual({ ok: true, almostFull: true });
  });

  it('follows a published level held up by hysteresis, never a lower stale one', () => {
    // Load fell back to 4240 (< O) but the park still announces orange: online stays paused.
    expect(salesDecision(std, { load: 4240, level: 'orange', channelKind: 'online', requestedPersons: 1 })).toEqual({ ok: false, reason: 'capacity_orange' });
    expect(salesDecision(std, { load: 4990, level: 'red', channelKind: 'kiosk', requestedPersons: 1 })).toEqual({ ok: false, reason: 'capacity_red' });
    expect(salesDecision(std, { load: 5000, level: 'green', channelKind: 'kiosk', requestedPersons: 1 })).toEqual({ ok: false, reason: 'capacity_red' });
  });

  it('rejects a nonsense order size', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => salesDecision(std, { load: 0, channelKind: 'kiosk', requestedPersons: n })).toThrow(expect.objectContaining({ name: 'CloudError', code: 'invalid_request' }));
  });
});

describe('CapacityState', () => {
  const d1 = '2026-05-01';
  const d2 = '2026-05-02';

  it('starts each day at its computed level and counts it as a change', () => {
    expect(nextCapacityState(null, { load: 0, date: d1 }, std)).toEqual({ level: 'green', changed: true });
    expect(nextCapacityState(null, { load: 4300, date: d1 }, std)).toEqual({ level: 'orange', changed: true });
    // New day from red: no hysteresis carried over, even at the same level.
    expect(nextCapacityState({ level: 'red', date: d1 }, { load: 0, date: d2 }, std)).toEqual({ level: 'green', changed: true });
    expect(nextCapacityState({ level: 'green', date: d1 }, { load: 0, date: d2 }, std)).toEqual({ level: 'green', changed: true });
  });

  it('ignores a recount for an earlier day', () => {
    expect(nextCapacityState({ level: 'green', date: d2 }, { load: 5000, date: d1 }, std)).toEqual({ level: 'green', changed: false });
  });

  it('goes up at once and reports no change while the level holds', () => {
    expect(CapacityState.next({ level: 'green', date: d1 }, { load: 3500, date: d1 }, std)).toEqual({ level: 'yellow', changed: true });
    expect(CapacityState.next({ level: 'green', date: d1 }, { load: 5000, date: d1 }, std)).toEqual({ level: 'red', changed: true });
    expect(CapacityState.next({ level: 'yellow', date: d1 }, { load: 3600, date: d1 }, std)).toEqual({ level: 'yellow', changed: false });
  });

  it('does not flap when the load oscillates by one around a threshold', () => {
    let state = { level: 'yellow' as Level, date: d1 };
    const changes: Level[] = [];
    for (const load of [4249, 4250, 4249, 4250, 4249, 4248, 4250, 4249, 4201, 4200]) {
      const r = CapacityState.next(state, { load, date: d1 }, std);
      if (r.changed) changes.push(r.level);
      state = { level: r.level, date: d1 };
    }
    expect(changes).toEqual(['orange']);
    expect(state.level).toBe('orange');
  });

  it('goes down once the load is 1 % of daily below the threshold', () => {
    // Orange at 4250, margin 50: down needs load < 4200.
    expect(nextCapacityState({ level: 'orange', date: d1 }, { load: 4200, date: d1 }, std)).toEqual({ level: 'orange', changed: false });
    expect(nextCapacityState({ level: 'orange', date: d1 }, { load: 4199, date: d1 }, std)).toEqual({ level: 'yellow', changed: true });
    // Red (5000) after refunds: 4951 holds, 4949 drops.
    expect(nextCapacityState({ level: 'red', date: d1 }, { load: 4951, date: d1 }, std)).toEqual({ level: 'red', changed: false });
    expect(nextCapacityState({ level: 'red', date: d1 }, { load: 4949, date: d1 }, std)).toEqual({ level: 'orange', changed: true });
    // A big drop skips levels, each with its own margin: 3451 is still yellow (3500 − 50), 3449 is green.
    expect(nextCapacityState({ level: 'red', date: d1 }, { load: 3451, date: d1 }, std)).toEqual({ level: 'yellow', changed: true });
    expect(nextCapacityState({ level: 'red', date: d1 }, { load: 3449, date: d1 }, std)).toEqual({ level: 'green', changed: true });
  });
});

describe('bare limits', () => {
  it('accept { daily, yellow, orange } with the schema defaults for the rest', () => {
    const bare = { daily: 5000, yellow: 0.7, orange: 0.85 };
    expect(thresholds(bare)).toEqual(thresholds(std));
    expect(levelFor(5000, bare)).toBe('red');
    expect(nextLevel({ level: 'red', date: '2026-05-01' }, { load: 4951, date: '2026-05-01' }, bare)).toEqual({ level: 'red', changed: false });
    expect(salesDecision(bare, { load: 4248, channelKind: 'online', requestedPersons: 1 })).toEqual({ ok: true, almostFull: true });
    expect(renderAnnouncement(bare, 'red', { count: 5000, capacity: 5000 })).toEqual(std.announcements.red);
  });
});

describe('announcements and messages', () => {
  it('fills {count}, {capacity} and {percent} and leaves unknown placeholders visible', () => {
    const c = cfg({ daily: 5000, announcements: { yellow: { zh: '已入园 {count}/{capacity} 人（{percent}%），{count} 人', en: '{count} of {capacity} ({percent}%) {nope}' } } });
    expect(renderAnnouncement(c, 'yellow', { count: 3999, capacity: 5000 })).toEqual({ zh: '已入园 3999/5000 人（79%），3999 人', en: '3999 of 5000 (79%) {nope}' });
    // Rounded down: 69.99 % reads 69, never 70 while the park is green.
    expect(renderAnnouncement(c, 'yellow', { count: 3499, capacity: 5000 }).en).toContain('(69%)');
    expect(renderAnnouncement(std, 'orange', { count: 4250, capacity: 5000 }).zh).toContain('85%');
    expect(renderAnnouncement(std, 'red', { count: 5000, capacity: 5000 })).toEqual(std.announcements.red);
  });

  it('builds payloads that pass their own schemas, on the expected topics', () => {
    const at = new Date('2026-05-01T02:30:00.000Z');
    // Unsigned as built; the monitor adds the control-key signature, which the schema requires.
    const m = { ...capacityMessage(std, 'park1', { level: 'yellow', date: '2026-05-01' }, 3600, at), sig: 'k1.sig' };
    expect(CapacityMessageSchema.safeParse({ ...m, sig: undefined }).success).toBe(false);
    expect(CapacityMessageSchema.parse(m)).toEqual({ v: 1, site: 'park1', date: '2026-05-01', level: 'yellow', load: 3600, capacity: 5000, percent: 72, at: '2026-05-01T02:30:00.000Z', sig: 'k1.sig' });
    const a = { ...announcementMessage(std, 'park1', 'red', 5000, at), sig: 'k1.sig' };
    expect(AnnouncementMessageSchema.parse(a).text).toEqual(std.announcements.red);
    expect(capacityTopic('park1')).toBe('stile/park1/capacity');
    expect(announceTopic('park1')).toBe('stile/park1/announce');
    expect(CapacityMessageSchema.safeParse({ ...m, date: '2026-02-30' }).success).toBe(false);
    expect(CapacityMessageSchema.safeParse({ ...m, percent: 72.5 }).success).toBe(false);
    expect(CapacityMessageSchema.safeParse({ ...m, extra: 1 }).success).toBe(false);
    expect(AnnouncementMessageSchema.safeParse({ ...a, level: 'purple' }).success).toBe(false);
  });
});
