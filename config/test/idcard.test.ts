import { describe, expect, it } from 'vitest';
import { hashIdNumber, idNumberProblem, isValidIdNumber, maskIdNumber, normalizeIdNumber } from '../src/idcard.js';

// Independent reference: weight 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11, 10 -> X.
function withCheck(body17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body17[i]) * (2 ** (17 - i) % 11);
  const c = (12 - (sum % 11)) % 11;
  return body17 + (c === 10 ? 'X' : String(c));
}

const BODIES = ['11010119900307123', '44030419851212004', '31011520000229888', '51010719700101001', '65010219991231999'];
const KEY = 'site-key-0123456789abcdef0123456789abcdef';

describe('isValidIdNumber', () => {
  it.each(BODIES.map(withCheck))('accepts %s', (id) => expect(isValidIdNumber(id)).toBe(true));

  it('accepts the public example 11010519491231002X, also with lowercase x and spaces', () => {
    expect(isValidIdNumber('11010519491231002X')).toBe(true);
    expect(isValidIdNumber(' 11010519491231002x\n')).toBe(true);
  });

  it('rejects every wrong check character', () => {
    for (const body of BODIES) {
      const good = withCheck(body);
      for (const c of '0123456789X') if (body + c !== good) expect(isValidIdNumber(body + c)).toBe(false);
    }
  });

  it.each(['', '1101051949123100', '110105194912310021X', '1101051949123100 2X', '11010519491231002Y', 'X10105194912310020', '１１０１０５１９４９１２３１００２X'])(
    'rejects malformed %j',
    (id) => expect(isValidIdNumber(id)).toBe(false),
  );

  it('catches a single transposition', () => {
    expect(isValidIdNumber('11010519491321002X')).toBe(false);
  });
});

describe('normalizeIdNumber', () => {
  it('trims and uppercases a trailing x only', () => {
    expect(normalizeIdNumber('  11010519491231002x \r\n')).toBe('11010519491231002X');
    expect(normalizeIdNumber('110101199003071234')).toBe('110101199003071234');
  });
});

describe('hashIdNumber', () => {
  const id = '11010519491231002X';
  it('is lowercase hex HMAC-SHA256, stable and keyed', () => {
    const h = hashIdNumber(KEY, id);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(hashIdNumber(KEY, id)).toBe(h);
    expect(hashIdNumber(Buffer.from(KEY), id)).toBe(h);
    expect(hashIdNumber(`${KEY}!`, id)).not.toBe(h);
    expect(hashIdNumber(KEY, withCheck(BODIES[0] as string))).not.toBe(h);
    expect(h).not.toContain(id.toLowerCase());
  });
  it('is stable under lowercase x and whitespace', () => {
    expect(hashIdNumber(KEY, ' 11010519491231002x\n')).toBe(hashIdNumber(KEY, id));
  });
  it('refuses an empty key', () => {
    expect(() => hashIdNumber('', id)).toThrow(/empty/);
  });
});

describe('maskIdNumber', () => {
  it('keeps only the last 4 of a full number, never the region prefix', () => {
    expect(maskIdNumber('110101199003071234')).toBe('**************1234');
    expect(maskIdNumber('11010519491231002x')).toBe('**************002X');
    expect(maskIdNumber(' 44030419851212004X\n')).toBe('**************004X');
  });
  it.each([
    ['', ''],
    ['1', '*'],
    ['123', '***'],
    ['1234', '***4'],
    ['1234567', '******7'],
    ['110105491231002', '*************02'], // 15-digit first-generation number
    ['1101051949123100212', '*****************12'],
  ])('%j -> %j', (id, want) => expect(maskIdNumber(id)).toBe(want));

  it('never reveals more than the last 4 characters nor all of a short input', () => {
    for (let n = 1; n <= 60; n++) {
      const id = '9'.repeat(n);
      const masked = maskIdNumber(id);
      const shown = masked.replace(/\*/g, '');
      expect(shown.length).toBeLessThanOrEqual(4);
      expect(masked.endsWith(shown)).toBe(true);
      expect(shown.length).toBeLessThan(n);
    }
    expect(maskIdNumber('9'.repeat(10_000)).length).toBeLessThanOrEqual(34);
  });
});

describe('idNumberProblem', () => {
  const TODAY = '2026-11-30';
  it.each(BODIES.map(withCheck))('accepts %s', (id) => expect(idNumberProblem(id, TODAY)).toBeUndefined());
  it('accepts Hong Kong, Macao and Taiwan residence permits (810000, 820000, 830000)', () => {
    for (const r of ['810000', '820000', '830000']) expect(idNumberProblem(withCheck(`${r}19900101123`), TODAY)).toBeUndefined();
  });
  it('says what is wrong: format, check digit, region, birth date', () => {
    expect(idNumberProblem('1101051949123100', TODAY)).toBe('format');
    expect(idNumberProblem('11010519491231002Y', TODAY)).toBe('format');
    expect(idNumberProblem('110105194912310021', TODAY)).toBe('check_digit');
    for (const region of ['000000', '100105', '160105', '710101', '990101', '110000', '810101']) expect(idNumberProblem(withCheck(`${region}19900101123`), TODAY), region).toBe('region');
    for (const birth of ['19900230', '19901301', '19900100', '20261201', '18960101']) expect(idNumberProblem(withCheck(`110105${birth}123`), TODAY), birth).toBe('birth_date');
  });
  it('takes today as the caller gives it: born today is fine, tomorrow is not; 130 years is the oldest', () => {
    expect(idNumberProblem(withCheck('11010520261130123'), TODAY)).toBeUndefined();
    expect(idNumberProblem(withCheck('11010520261201123'), TODAY)).toBe('birth_date');
    expect(idNumberProblem(withCheck('11010518961130123'), TODAY)).toBeUndefined();
    expect(idNumberProblem(withCheck('11010518961129123'), TODAY)).toBe('birth_date');
  });
});
