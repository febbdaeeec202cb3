import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { REJECT_REASONS, type TicketRecord, type TicketStatus, type TicketType } from '@stile/config';
import { decide, recordAdmission, type Decision, type GateContext } from '../../src/validation/index.js';

const GATE: GateContext = { siteId: 'demo-park', gateId: 'G1', zone: 'main', timeZone: 'Asia/Shanghai' };
const DAY = '2026-11-25';
/** An instant given as Shanghai wall-clock time (UTC+8, no DST). */
const at = (hms: string, date = DAY) => Date.parse(`${date}T${hms}+08:00`);

function ticket(over: Partial<TicketRecord> = {}): TicketRecord {
  return {
    ticketId: 'TKT00000001', typeId: 'adult', status: 'valid', visitDate: DAY, slotStart: null, slotEnd: null,
    persons: 1, entriesUsed: 0, entriesDay: null, entriesDayCount: 0, lastEntryAt: null, idHash: null, source: 'whitelist',
    ...over,
  };
}
function type(over: Partial<TicketType> = {}): TicketType {
  return { id: 'adult', name: 'Adult', entries: { mode: 'single' }, slotGrace: { earlyMin: 0, lateMin: 0 }, antiPassbackSec: 0, ...over };
}
const outcome = (d: Decision): string => (d.decision === 'admit' ? `admit:${d.persons}` : d.reason);
const check = (t: Partial<TicketRecord>, ty: Partial<TicketType>, now: number) => outcome(decide(ticket(t), type(ty), GATE, now));

const NOON = at('12:00:00');
const multi = (max: number) => ({ entries: { mode: 'multi' as const, max } });
const perDay = (max: number) => ({ entries: { mode: 'perDay' as const, max } });

describe('decide: every reason', () => {
  it('unknown ticket / unknown type', () => {
    expect(outcome(decide(undefined, type(), GATE, NOON))).toBe('unknown_ticket');
    expect(outcome(decide(undefined, undefined, GATE, NOON))).toBe('unknown_ticket');
    expect(outcome(decide(ticket(), undefined, GATE, NOON))).toBe('unknown_ticket_type');
  });

  it.each<[string, Partial<TicketRecord>, Partial<TicketType>, number, string]>([
    ['valid ticket admits', {}, {}, NOON, 'admit:1'],
    ['refunded', { status: 'refunded' }, {}, NOON, 'refunded'],
    ['revoked', { status: 'revoked' }, {}, NOON, 'revoked'],
    ['rebooked', { status: 'rebooked' }, {}, NOON, 'rebooked'],
    ['used', { status: 'used' }, {}, NOON, 'entries_exhausted'],
    ['gate listed', {}, { gates: ['G0', 'G1'] }, NOON, 'admit:1'],
    ['gate not listed', {}, { gates: ['G2'] }, NOON, 'gate_not_allowed'],
    ['zone listed', {}, { zones: ['main'] }, NOON, 'admit:1'],
    ['zone not listed', {}, { zones: ['north'] }, NOON, 'zone_not_allowed'],
    ['visit tomorrow', { visitDate: '2026-11-26' }, {}, NOON, 'date_not_yet'],
    ['visit yesterday', { visitDate: '2026-11-24' }, {}, NOON, 'date_expired'],
    ['before slot', { slotStart: '14:00', slotEnd: '15:00' }, {}, NOON, 'before_slot'],
    ['after slot', { slotStart: '09:00', slotEnd: '10:00' }, {}, NOON, 'after_slot'],
    ['outside window', {}, { entryWindow: { from: '17:00', to: '24:00' } }, NOON, 'outside_entry_window'],
    ['single used', { entriesUsed: 1 }, {}, NOON, 'entries_exhausted'],
    ['multi used up', { entriesUsed: 3 }, multi(3), NOON, 'entries_exhausted'],
    ['per day used up', { entriesDay: DAY, entriesDayCount: 2 }, perDay(2), NOON, 'daily_entries_exhausted'],
    ['anti-passback', { lastEntryAt: NOON - 10_000 }, { ...multi(5), antiPassbackSec: 60 }, NOON, 'anti_passback'],
    ['group ticket opens N passages', { persons: 5 }, {}, NOON, 'admit:5'],
    ['group of 5 is one entry, not five', { persons: 5, entriesUsed: 1 }, multi(2), NOON, 'admit:5'],
  ])('%s', (_label, t, ty, now, want) => {
    expect(check(t, ty, now)).toBe(want);
  });

  it('puts a human detail on rejects', () => {
    expect(decide(ticket({ visitDate: '2026-11-26' }), type(), GATE, NOON)).toEqual({
      decision: 'reject', reason: 'date_not_yet', detail: 'visit date 2026-11-26',
    });
    const early = decide(ticket({ slotStart: '00:10', slotEnd: '01:00' }), type({ slotGrace: { earlyMin: 15, lateMin: 0 } }), GATE, at('02:00:00'));
    expect(early).toMatchObject({ reason: 'after_slot', detail: 'slot closed 01:00:00' });
  });
});

describe('decide: order matters (first failing rule wins)', () => {
  it.each<[string, Partial<TicketRecord>, Partial<TicketType>, string]>([
    ['refunded on the wrong date', { status: 'refunded', visitDate: '2026-11-20' }, {}, 'refunded'],
    ['revoked at the wrong gate', { status: 'revoked' }, { gates: ['G9'] }, 'revoked'],
    ['used and expired', { status: 'used', visitDate: '2026-11-20' }, {}, 'entries_exhausted'],
    ['wrong gate and wrong zone and date', { visitDate: '2026-11-20' }, { gates: ['G9'], zones: ['x'] }, 'gate_not_allowed'],
    ['wrong zone before date', { visitDate: '2026-11-20' }, { zones: ['x'] }, 'zone_not_allowed'],
    ['date before slot', { visitDate: '2026-11-26', slotStart: '09:00', slotEnd: '10:00' }, {}, 'date_not_yet'],
    ['slot before window', { slotStart: '14:00', slotEnd: '15:00' }, { entryWindow: { from: '17:00', to: '24:00' } }, 'before_slot'],
    ['window before entries', { entriesUsed: 1 }, { entryWindow: { from: '17:00', to: '24:00' } }, 'outside_entry_window'],
    ['entries before anti-passback', { entriesUsed: 1, lastEntryAt: NOON - 1 }, { antiPassbackSec: 60 }, 'entries_exhausted'],
  ])('%s', (_label, t, ty, want) => {
    expect(check(t, ty, NOON)).toBe(want);
  });
});

describe('decide: visit date in the park time zone', () => {
  it.each<[string, string, string]>([
    ['2026-11-26', '2026-11-25T15:59:59Z', 'date_not_yet'], // 23:59:59 in Shanghai
    ['2026-11-26', '2026-11-25T16:00:00Z', 'admit:1'], // Shanghai midnight, UTC still the 25th
    ['2026-11-26', '2026-11-25T16:30:00Z', 'admit:1'],
    ['2026-11-26', '2026-11-26T15:59:59Z', 'admit:1'],
    ['2026-11-26', '2026-11-26T16:00:00Z', 'date_expired'],
    ['2026-11-25', '2026-11-25T16:30:00Z', 'date_expired'], // UTC date matches, local does not
  ])('visit %s at %s → %s', (visitDate, instant, want) => {
    expect(check({ visitDate }, {}, Date.parse(instant))).toBe(want);
  });
});

describe('decide: time slot boundaries (second precision, half-open)', () => {
  const slot = { slotStart: '10:00', slotEnd: '11:00' };
  const grace = { slotGrace: { earlyMin: 15, lateMin: 30 } };
  it.each<[string, Partial<TicketType>, string, string]>([
    ['start, no grace', {}, '09:59:59', 'before_slot'],
    ['start, no grace', {}, '10:00:00', 'admit:1'],
    ['start, no grace', {}, '10:00:01', 'admit:1'],
    ['end, no grace', {}, '10:59:59', 'admit:1'],
    ['end, no grace', {}, '11:00:00', 'after_slot'],
    ['end, no grace', {}, '11:00:01', 'after_slot'],
    ['start, 15 min early', grace, '09:44:59', 'before_slot'],
    ['start, 15 min early', grace, '09:45:00', 'admit:1'],
    ['start, 15 min early', grace, '09:45:01', 'admit:1'],
    ['end, 30 min late', grace, '11:29:59', 'admit:1'],
    ['end, 30 min late', grace, '11:30:00', 'after_slot'],
    ['end, 30 min late', grace, '11:30:01', 'after_slot'],
  ])('%s at %s → %s', (_label, ty, hms, want) => {
    expect(check(slot, ty, at(hms))).toBe(want);
  });

  it('no slot admits all day', () => {
    expect(check({}, {}, at('00:00:00'))).toBe('admit:1');
    expect(check({}, {}, at('23:59:59'))).toBe('admit:1');
  });

  it.each<[string, Partial<TicketRecord>, number, string]>([
    ['early grace clamps at midnight', { slotStart: '00:10', slotEnd: '01:00' }, at('00:00:00'), 'admit:1'],
    ['early grace does not reach the day before', { slotStart: '00:10', slotEnd: '01:00' }, at('23:30:00', '2026-11-24'), 'date_not_yet'],
    ['late grace clamps at end of day', { slotStart: '22:00', slotEnd: '23:50' }, at('23:59:59'), 'admit:1'],
    ['late grace does not reach the next day', { slotStart: '22:00', slotEnd: '23:50' }, at('00:00:30', '2026-11-26'), 'date_expired'],
    ['slot ending 24:00', { slotStart: '22:00', slotEnd: '24:00' }, at('23:59:59'), 'admit:1'],
  ])('%s', (_label, t, now, want) => {
    expect(check(t, { slotGrace: { earlyMin: 60, lateMin: 60 } }, now)).toBe(want);
  });
});

describe('decide: entry window of day', () => {
  const win = (from: string, to: string) => ({ entryWindow: { from, to } });
  it.each<[string, string, string, string]>([
    ['00:00', '08:00', '00:00:00', 'admit:1'],
    ['00:00', '08:00', '07:59:59', 'admit:1'],
    ['00:00', '08:00', '08:00:00', 'outside_entry_window'],
    ['00:00', '08:00', '08:00:01', 'outside_entry_window'],
    ['00:00', '08:00', '23:59:59', 'outside_entry_window'],
    ['17:00', '24:00', '16:59:59', 'outside_entry_window'],
    ['17:00', '24:00', '17:00:00', 'admit:1'],
    ['17:00', '24:00', '17:00:01', 'admit:1'],
    ['17:00', '24:00', '23:59:59', 'admit:1'],
    ['17:00', '24:00', '00:00:00', 'outside_entry_window'],
    ['22:00', '02:00', '21:59:59', 'outside_entry_window'],
    ['22:00', '02:00', '22:00:00', 'admit:1'],
    ['22:00', '02:00', '23:59:59', 'admit:1'],
    ['22:00', '02:00', '00:00:00', 'admit:1'],
    ['22:00', '02:00', '01:59:59', 'admit:1'],
    ['22:00', '02:00', '02:00:00', 'outside_entry_window'],
    ['22:00', '02:00', '12:00:00', 'outside_entry_window'],
  ])('%s–%s at %s → %s', (from, to, hms, want) => {
    expect(check({}, win(from, to), at(hms))).toBe(want);
  });
});

describe('decide: entries and anti-passback', () => {
  it.each<[number, string]>([
    [0, 'admit:1'], [2, 'admit:1'], [3, 'entries_exhausted'], [4, 'entries_exhausted'],
  ])('multi max 3 with %i used → %s', (entriesUsed, want) => {
    expect(check({ entriesUsed }, multi(3), NOON)).toBe(want);
  });

  it.each<[number, string]>([
    [-60_001, 'admit:1'], [-60_000, 'admit:1'], [-59_999, 'anti_passback'], [-1, 'anti_passback'], [0, 'anti_passback'],
  ])('anti-passback 60 s, last entry %i ms away → %s', (offset, want) => {
    expect(check({ lastEntryAt: NOON + offset }, { ...multi(9), antiPassbackSec: 60 }, NOON)).toBe(want);
  });

  it('anti-passback 0 is off', () => expect(check({ lastEntryAt: NOON - 1 }, { ...multi(9), antiPassbackSec: 0 }, NOON)).toBe('admit:1'));

  // visitDate is the 26th (Shanghai); the counter belongs to the local day, not the UTC one.
  it.each<[string | null, string, string]>([
    ['2026-11-26', '2026-11-25T16:00:00Z', 'daily_entries_exhausted'], // local 26th 00:00, UTC 25th
    ['2026-11-26', '2026-11-25T23:59:59Z', 'daily_entries_exhausted'],
    ['2026-11-26', '2026-11-26T00:00:00Z', 'daily_entries_exhausted'], // UTC midnight does not roll over
    ['2026-11-26', '2026-11-26T00:00:01Z', 'daily_entries_exhausted'],
    ['2026-11-25', '2026-11-25T16:00:00Z', 'admit:1'], // yesterday's count no longer applies
    [null, '2026-11-25T16:00:00Z', 'admit:1'],
  ])('perDay max 2, 2 used on %s, at %s → %s', (entriesDay, instant, want) => {
    expect(check({ visitDate: '2026-11-26', entriesDay, entriesDayCount: 2 }, perDay(2), Date.parse(instant))).toBe(want);
  });

  it('perDay with 1 of 2 used today admits', () => expect(check({ entriesDay: DAY, entriesDayCount: 1 }, perDay(2), NOON)).toBe('admit:1'));
});

describe('recordAdmission', () => {
  it('updates usage fields and leaves the input untouched', () => {
    const t = Object.freeze(ticket({ persons: 3 }));
    const after = recordAdmission(t, GATE, NOON);
    expect(after).toEqual({ ...t, entriesUsed: 1, entriesDay: DAY, entriesDayCount: 1, lastEntryAt: NOON });
    expect(t.entriesUsed).toBe(0);
  });

  it('rolls the day counter at Shanghai midnight, not at UTC midnight', () => {
    const steps = ['2026-11-25T15:59:59Z', '2026-11-25T16:00:00Z', '2026-11-25T23:59:59Z', '2026-11-26T00:00:00Z'];
    let t = ticket();
    const seen = steps.map((s) => {
      t = recordAdmission(t, GATE, Date.parse(s));
      return [t.entriesDay, t.entriesDayCount, t.entriesUsed];
    });
    expect(seen).toEqual([['2026-11-25', 1, 1], ['2026-11-26', 1, 2], ['2026-11-26', 2, 3], ['2026-11-26', 3, 4]]);
  });
});

describe('decide: properties', () => {
  const hm = fc.tuple(fc.integer({ min: 0, max: 24 }), fc.constantFrom(0, 15, 30, 59)).map(([h, m]) =>
    h === 24 ? '24:00' : `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
  const dates = ['2026-11-24', '2026-11-25', '2026-11-26'];
  const start = Date.parse('2026-11-24T00:00:00+08:00');
  const instant = fc.integer({ min: start - 86_400_000, max: start + 4 * 86_400_000 });
  const ticketArb = fc.record({
    status: fc.constantFrom<TicketStatus>('valid', 'valid', 'used', 'refunded', 'revoked', 'rebooked'),
    visitDate: fc.constantFrom(...dates),
    slot: fc.option(fc.tuple(hm, hm), { nil: null }),
    persons: fc.integer({ min: 1, max: 100 }),
    entriesUsed: fc.integer({ min: 0, max: 5 }),
    entriesDay: fc.option(fc.constantFrom(...dates), { nil: null }),
    entriesDayCount: fc.integer({ min: 0, max: 5 }),
    lastEntryAt: fc.option(instant, { nil: null }),
  }).map(({ slot, ...t }) => ticket({ ...t, slotStart: slot?.[0] ?? null, slotEnd: slot?.[1] ?? null }));
  const typeArb = fc.record({
    entries: fc.oneof(fc.constant({ mode: 'single' as const }), fc.integer({ min: 1, max: 5 }).map((max) => multi(max).entries),
      fc.integer({ min: 1, max: 5 }).map((max) => perDay(max).entries)),
    entryWindow: fc.option(fc.record({ from: hm, to: hm }), { nil: undefined }),
    slotGrace: fc.record({ earlyMin: fc.integer({ min: 0, max: 720 }), lateMin: fc.integer({ min: 0, max: 720 }) }),
    gates: fc.option(fc.constantFrom<string[]>(['G1'], ['G2'], ['G1', 'G2']), { nil: undefined }),
    zones: fc.option(fc.constantFrom<string[]>(['main'], ['north']), { nil: undefined }),
    antiPassbackSec: fc.integer({ min: 0, max: 86_400 }),
  }).map((ty) => type(ty));

  it('never throws; admits exactly ticket.persons or rejects with a known reason', () => {
    fc.assert(fc.property(fc.option(ticketArb, { nil: undefined }), fc.option(typeArb, { nil: undefined }), instant, (t, ty, now) => {
      const d = decide(t, ty, GATE, now);
      if (d.decision === 'admit') expect(d.persons).toBe(t!.persons);
      else expect(REJECT_REASONS).toContain(d.reason);
    }), { numRuns: 2000 });
  });

  it('a single-entry ticket never passes twice', () => {
    fc.assert(fc.property(ticketArb, typeArb, instant, fc.nat(3 * 86_400_000), (t, ty, now, later) => {
      const single = type({ ...ty, entries: { mode: 'single' } });
      const after = recordAdmission(t, GATE, now);
      expect(decide(after, single, GATE, now + later).decision).toBe('reject');
    }), { numRuns: 2000 });
  });
});
