import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SnapshotTicketSchema } from '@stile/config';
import { fastSnapshotTicket, parseSnapshotTicket } from '../src/store/snapshot-line.js';

// The importer's fast path must never accept a line the schema refuses, and must read an
// accepted one exactly as the schema does; anything else is the schema's to decide.

const good = {
  ticketId: 'T2XK9QW4ZP7M',
  typeId: 'adult',
  status: 'valid',
  visitDate: '2026-11-25',
  persons: 1,
  entriesUsed: 0,
};

/** Values a line's field could hold: valid ones, near misses and the wrong types. */
const anyValue = fc.oneof(
  fc.constantFrom(
    null, undefined, true, 0, -1, 1, 2, 3, 100, 101, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -0,
    '', 'adult', 'valid', 'used', 'refunded', 'revoked', 'rebooked', 'VALID', 'x'.repeat(64), 'x'.repeat(65),
    '2026-11-25', '2024-02-29', '2023-02-29', '2026-13-01', '2026-00-10', '2026-04-31', '0000-01-01', '9999-12-31', '2026-1-05', ' 2026-11-25',
    '09:00', '23:59', '24:00', '24:01', '9:00', '09:60', '12:00 ',
    'T2XK9QW4ZP7M', 'short', 'ABCDEFGH', 'A'.repeat(64), 'A'.repeat(65), 'has space1', 'ünïcode12',
    'a'.repeat(64), 'A'.repeat(64).toLowerCase().replace(/a/g, 'f'), 'g'.repeat(64), 'a'.repeat(63),
  ),
  fc.string(),
  fc.integer({ min: -5, max: 200 }),
  fc.double(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);
const FIELDS = ['ticketId', 'typeId', 'status', 'visitDate', 'slotStart', 'slotEnd', 'persons', 'entriesUsed', 'idHash', 'extra', '__proto__'] as const;

describe('snapshot line fast path', () => {
  it('accepts the ordinary line, with the same result as the schema', () => {
    const withAll = { ...good, slotStart: '09:00', slotEnd: '10:00', idHash: 'ab'.repeat(32) };
    for (const line of [good, withAll, { ticketId: good.ticketId, typeId: 'child', visitDate: '2026-11-25' }, { ...good, slotStart: null, slotEnd: null, idHash: null }]) {
      const fast = fastSnapshotTicket(line);
      expect(fast).toBeDefined();
      expect(fast).toEqual(SnapshotTicketSchema.parse(line));
    }
  });

  it('never accepts what the schema refuses, and agrees with it on what it accepts (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...FIELDS), anyValue, { maxKeys: 9 }),
        fc.boolean(),
        (fields, startFromGood) => {
          // JSON round trip: a line is what JSON.parse gives (own "__proto__" keys included).
          const text = JSON.stringify(startFromGood ? { ...good, ...fields } : fields);
          if (text === undefined) return;
          const obj: unknown = JSON.parse(text);
          const fast = fastSnapshotTicket(obj);
          const schema = SnapshotTicketSchema.safeParse(obj);
          if (fast !== undefined) {
            expect(schema.success).toBe(true);
            expect(fast).toEqual(schema.data);
          }
          // The importer's answer is always the schema's verdict.
          const parsed = parseSnapshotTicket(obj);
          expect(parsed.success).toBe(schema.success);
          if (parsed.success && schema.success) expect(parsed.data).toEqual(schema.data);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it.each([
    ['an unknown field', { ...good, colour: 'red' }],
    ['a ticket id with a space', { ...good, ticketId: 'ABC DEFGH' }],
    ['a date that does not exist', { ...good, visitDate: '2026-02-30' }],
    ['a slot start without an end', { ...good, slotStart: '09:00' }],
    ['persons 0', { ...good, persons: 0 }],
    ['a fractional entriesUsed', { ...good, entriesUsed: 0.5 }],
    ['an upper-case ID hash', { ...good, idHash: 'AB'.repeat(32) }],
    ['an array', [good]],
  ])('leaves %s to the schema, which refuses it', (_, line) => {
    expect(fastSnapshotTicket(JSON.parse(JSON.stringify(line)))).toBeUndefined();
    expect(parseSnapshotTicket(JSON.parse(JSON.stringify(line))).success).toBe(false);
  });
});
