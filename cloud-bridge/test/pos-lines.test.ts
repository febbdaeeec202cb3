// POS lines as pure functions (modules/pos/lines.ts, csv.ts): what a till sends is a line or
// a list of what is wrong, never an exception.
import { describe, expect, it } from 'vitest';
import { checkLine, normalisePhone, parsePosTime, sameLine, type PosLine } from '../src/modules/pos/lines.js';
import { csvToLines, parseCsv, yuanToFen } from '../src/modules/pos/csv.js';
import { posCallers } from '../src/modules/pos/module.js';
import { PosConfigSchema } from '../src/core/site-config/pos.js';
import { parseCatalogue, sha256Hex } from '../src/core/catalogue.js';
import { SiteRegistry } from '../src/core/sites.js';
import { testSite } from './helpers.js';

const TZ = 'Asia/Shanghai';
const NOW = new Date('2027-03-10T08:00:00Z'); // 16:00 park time
const good = { lineId: 'R1-0042', at: '2027-03-10T12:31:05+08:00', amountFen: 4800, category: 'Restaurant', item: 'noodles', ticketCode: 'ST1:abc' };

describe('checkLine', () => {
  it('takes a well-formed line: UTC instant, park-local day, category in lower case', () => {
    const r = checkLine(good, TZ, NOW);
    expect(r).toEqual({ ok: true, line: { lineId: 'R1-0042', at: '2027-03-10T04:31:05.000Z', visitDate: '2027-03-10', amountFen: 4800, category: 'restaurant', item: 'noodles', ticketCode: 'ST1:abc', couponCode: null } });
  });

  it('puts a sale just after midnight park time on that park day, not the UTC one', () => {
    const r = checkLine({ ...good, at: '2027-03-09T16:30:00Z' }, TZ, NOW);
    expect(r.ok && r.line.visitDate).toBe('2027-03-10');
  });

  it('reads a time without an offset as park time (a till export)', () => {
    const r = checkLine({ ...good, at: '2027-03-10 12:31:05' }, TZ, NOW);
    expect(r.ok && r.line.at).toBe('2027-03-10T04:31:05.000Z');
  });

  it('names every problem of a bad line at once, and keeps its id when it has one', () => {
    const r = checkLine({ lineId: 'R1-7', at: 'yesterday', amountFen: 12.5, category: '', phone: '12345', nonsense: 1 }, TZ, NOW);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.lineId).toBe('R1-7');
    expect(r.problems.join('\n')).toMatch(/nonsense: unknown field/);
    expect(r.problems.join('\n')).toMatch(/^at: not a time/m);
    expect(r.problems.join('\n')).toMatch(/^amountFen:/m);
    expect(r.problems.join('\n')).toMatch(/^category:/m);
    expect(r.problems.join('\n')).toMatch(/^phone: not a mainland mobile/m);
  });

  it('needs a way to find the visit', () => {
    const { ticketCode, ...anon } = good;
    void ticketCode;
    const r = checkLine(anon, TZ, NOW);
    expect(r.ok === false && r.problems).toEqual(['memberCode, ticketCode or phone: one is required to find the visit']);
  });

  it('refuses negative and absurd amounts, future times and impossible dates', () => {
    for (const bad of [{ amountFen: -100 }, { amountFen: 10_000_001 }, { amountFen: '4800' }, { at: '2027-03-10T17:00:00+08:00' }, { at: '2027-02-30T12:00:00+08:00' }, { at: '2027-03-10T24:00:00+08:00' }])
      expect(checkLine({ ...good, ...bad }, TZ, NOW).ok, JSON.stringify(bad)).toBe(false);
    // Ten minutes of clock skew are allowed.
    expect(checkLine({ ...good, at: '2027-03-10T16:05:00+08:00' }, TZ, NOW).ok).toBe(true);
  });

  it('normalises phones and never keeps anything but the 11 digits', () => {
    expect(normalisePhone('+86 138-0013-8000')).toBe('13800138000');
    expect(normalisePhone('008613800138000')).toBe('13800138000');
    expect(normalisePhone('0571-88888888')).toBeUndefined();
    const r = checkLine({ ...good, ticketCode: undefined, phone: '+86 138 0013 8000' }, TZ, NOW);
    expect(r.ok && r.line.phone).toBe('13800138000');
  });

  it('refuses control characters in text fields', () => {
    expect(checkLine({ ...good, item: 'a\u0000b' }, TZ, NOW).ok).toBe(false);
  });
});

describe('parsePosTime', () => {
  it('reads offsets, Z, fractions and local times', () => {
    expect(parsePosTime('2027-03-10T12:00:00+0800', TZ)?.toISOString()).toBe('2027-03-10T04:00:00.000Z');
    expect(parsePosTime('2027-03-10T12:00:00.250Z', TZ)?.toISOString()).toBe('2027-03-10T12:00:00.250Z');
    expect(parsePosTime('2027-03-10T12:00', TZ)?.toISOString()).toBe('2027-03-10T04:00:00.000Z');
    // A zone with daylight saving: the offset of that day.
    expect(parsePosTime('2027-07-01 12:00:00', 'Europe/Berlin')?.toISOString()).toBe('2027-07-01T10:00:00.000Z');
    expect(parsePosTime('2027-01-01 12:00:00', 'Europe/Berlin')?.toISOString()).toBe('2027-01-01T11:00:00.000Z');
    expect(parsePosTime('12:00', TZ)).toBeUndefined();
  });
});

describe('CSV', () => {
  it('splits quoted fields with commas, quotes and line breaks, and numbers lines from the header', () => {
    const r = parseCsv('\uFEFFa,b\r\n1,"x, ""y"""\n\n2,"two\nlines"\n3,z');
    expect(r).toEqual({
      ok: true,
      records: [
        { csvLine: 1, fields: ['a', 'b'] },
        { csvLine: 2, fields: ['1', 'x, "y"'] },
        { csvLine: 4, fields: ['2', 'two\nlines'] },
        { csvLine: 6, fields: ['3', 'z'] },
      ],
    });
  });

  it('names the line of an unclosed quote', () => {
    expect(parseCsv('a,b\n1,"open\n2,3\n')).toEqual({ ok: false, error: 'line 2: a quoted field is not closed (a " is missing)' });
    expect(parseCsv('a,b\n1,"x"y\n').ok).toBe(false);
  });

  it('maps documented columns (any case, snake_case too), yuan to fen, and leaves empty cells out', () => {
    const r = csvToLines('line_id,AT,amountYuan,category,item,ticketCode,couponCode\nR1-1,2027-03-10 12:00:00,48.5,restaurant,,ST1:abc,\n');
    expect(r).toEqual({ ok: true, lines: [{ csvLine: 2, raw: { lineId: 'R1-1', at: '2027-03-10 12:00:00', amountFen: 4850, category: 'restaurant', ticketCode: 'ST1:abc' } }] });
  });

  it('refuses a header it does not know, and marks a row of the wrong width', () => {
    expect(csvToLines('lineId,at,amountFen,category,ticketCode,tip\n')).toMatchObject({ ok: false, error: expect.stringMatching(/^line 1: column 6 "tip" is not one of/) });
    expect(csvToLines('lineId,at,category,ticketCode\n')).toMatchObject({ ok: false, error: expect.stringMatching(/exactly one of amountFen, amountYuan/) });
    expect(csvToLines('lineId,at,amountFen,category\n')).toMatchObject({ ok: false, error: expect.stringMatching(/memberCode, ticketCode or phone/) });
    expect(csvToLines('')).toMatchObject({ ok: false });
    const r = csvToLines('lineId,at,amountFen,category,ticketCode\nR1-1,2027-03-10 12:00:00,100,food\n');
    expect(r.ok && r.lines[0]).toEqual({ csvLine: 2, raw: { lineId: 'R1-1' }, problem: '4 fields, the header has 5' });
  });

  it('turns yuan into fen exactly', () => {
    expect(yuanToFen('0.1')).toBe(10);
    expect(yuanToFen('19.99')).toBe(1999);
    expect(yuanToFen('7')).toBe(700);
    expect(yuanToFen('1.999')).toBeUndefined();
    expect(yuanToFen('-1')).toBeUndefined();
  });
});

describe('sameLine', () => {
  const line = (checkLine(good, TZ, NOW) as { line: PosLine }).line;
  const stored = { at: line.at, amountFen: 4800, category: 'restaurant', item: 'noodles', couponCode: null, link: 'ticket', idHash: 'h1' };
  it('is a retry when everything matches, a conflict when anything differs', () => {
    expect(sameLine(stored, line, { via: 'ticket', idHash: 'h1' })).toBe(true);
    expect(sameLine({ ...stored, at: '2027-03-10T12:31:05+08:00' }, line, { via: 'ticket', idHash: 'h1' })).toBe(true);
    expect(sameLine({ ...stored, amountFen: 4801 }, line, undefined)).toBe(false);
    expect(sameLine(stored, line, { via: 'ticket', idHash: 'h2' })).toBe(false);
    expect(sameLine(stored, { ...line, couponCode: 'C1' }, undefined)).toBe(false);
  });
});

describe('fuzz: random input is a line or a refusal, never an exception', () => {
  // A small seeded generator, so a failure can be replayed.
  let seed = 19;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const atoms = ['', ',', '"', '""', '\n', '\r\n', 'lineId', 'at', 'amountFen', 'category', 'ticketCode', 'R1-1', '2027-03-10T12:00:00+08:00', '4800', '-1', 'x'.repeat(600), '\u0000', '餐饮', '1e400', 'NaN', ' '];
  const values: unknown[] = [null, undefined, 0, -1, 1.5, 1e300, Number.NaN, '', 'x', [], {}, true, '2027-03-10', { a: 1 }, '13800138000', 'ST1:abc'];

  it('CSV', () => {
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: Math.floor(rnd() * 30) }, () => pick(atoms)).join(pick(['', ',', '\n']));
      const head = rnd() < 0.5 ? 'lineId,at,amountFen,category,ticketCode\n' : '';
      const r = csvToLines(head + text);
      if (r.ok) for (const l of r.lines) expect(() => checkLine(l.raw, TZ, NOW)).not.toThrow();
    }
  });

  it('JSON', () => {
    const keys = ['lineId', 'at', 'amountFen', 'category', 'item', 'memberCode', 'ticketCode', 'phone', 'couponCode', 'other', '__proto__'];
    for (let i = 0; i < 2000; i++) {
      const raw = rnd() < 0.05 ? pick(values) : Object.fromEntries(Array.from({ length: Math.floor(rnd() * 8) }, () => [pick(keys), pick(values)]));
      const r = checkLine(raw, TZ, NOW);
      if (!r.ok) expect(r.problems.length).toBeGreaterThan(0);
    }
  });
});

describe('cloud.yaml sites[].pos', () => {
  const hash = (k: string) => sha256Hex(k);
  it('takes sources with a key hash each, and refuses a repeated id or key', () => {
    expect(PosConfigSchema.parse({ sources: [{ id: 'rest1', name: 'Lakeside', apiKeySha256: hash('a').toUpperCase() }] }).sources[0]!.apiKeySha256).toBe(hash('a'));
    const twice = PosConfigSchema.safeParse({ sources: [{ id: 'rest1', apiKeySha256: hash('a') }, { id: 'rest1', apiKeySha256: hash('a') }] });
    expect(twice.success).toBe(false);
    expect(twice.error!.issues.map((i) => i.path.join('.'))).toEqual(['sources.1.id', 'sources.1.apiKeySha256']);
    expect(PosConfigSchema.safeParse({ sources: [{ id: 'rest1', apiKeySha256: 'secret-key-in-clear' }] }).success).toBe(false);
  });

  it('maps each key to its source and site; one key for two sources or for a sales channel is refused', () => {
    const catalogue = parseCatalogue({ ticketTypes: [{ id: 'adult', name: 'Adult', priceFen: 8000 }], slots: [], channels: [{ id: 'web', kind: 'online', apiKeySha256: hash('channel') }], refundReasons: [{ code: 'x', label: 'X' }] });
    const a = testSite().config;
    const b = testSite().config;
    const sales = { catalogue, capacity: { daily: 10, yellow: 0.7, orange: 0.85 }, idHashKey: 'k'.repeat(32) };
    const map = posCallers({ sites: new SiteRegistry([{ ...a, sales, pos: { sources: [{ id: 'r', apiKeySha256: hash('r') }] } }, { ...b, pos: { sources: [{ id: 's', apiKeySha256: hash('s') }] } }]) });
    expect(map.get(hash('r'))).toEqual({ site: a.id, source: 'r', timeZone: 'Asia/Shanghai' });
    expect(map.get(hash('s'))).toMatchObject({ site: b.id, source: 's' });
    expect(() => posCallers({ sites: new SiteRegistry([{ ...a, pos: { sources: [{ id: 'r', apiKeySha256: hash('r') }] } }, { ...b, pos: { sources: [{ id: 's', apiKeySha256: hash('r') }] } }]) })).toThrow(/same API key/);
    expect(() => posCallers({ sites: new SiteRegistry([{ ...a, sales, pos: { sources: [{ id: 'r', apiKeySha256: hash('channel') }] } }]) })).toThrow(/API key of a sales channel/);
  });
});
