import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ETHNIC_GROUPS,
  ID_TEXT_MARKER_OFFSET,
  decodeIdText,
  encodeIdText,
  ethnicGroupName,
  genderName,
  isValidIdNumber,
  type IdFields,
} from '../../src/protocol/ga467.js';

function loadHex(name: string): Buffer {
  const text = readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
  return Buffer.from(text.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

const RESIDENT: IdFields = {
  cardType: 'resident',
  name: '王小红',
  genderCode: '2',
  nationCode: '01',
  birthDate: '19491231',
  address: '安徽省黄山市黄山区汤口镇寨西村1号',
  idNumber: '11010519491231002X',
  authority: '黄山市公安局黄山分局',
  validFrom: '20150615',
  validTo: '长期',
};

describe('decodeIdText: resident card', () => {
  const fixture = loadHex('ga467-resident-text.hex');

  it('decodes the fixture', () => {
    expect(fixture.length).toBe(256);
    expect(decodeIdText(fixture)).toEqual({ ...RESIDENT, gender: 'female', nation: '汉' });
  });

  it('encodes the same bytes as the fixture', () => {
    expect(encodeIdText(RESIDENT)).toEqual(fixture);
  });

  it('puts each field at its GA/T 467 offset', () => {
    const at = (off: number, bytes: number) => fixture.toString('utf16le', off, off + bytes);
    expect(fixture.subarray(0, 6)).toEqual(Buffer.from([0x8b, 0x73, 0x0f, 0x5c, 0xa2, 0x7e])); // 王小红, UCS-2LE
    expect(at(30, 2)).toBe('2'); //                  gender
    expect(at(32, 4)).toBe('01'); //                 nation
    expect(at(36, 16)).toBe('19491231'); //          birth date
    expect(at(122, 36)).toBe('11010519491231002X'); // ID number
    expect(fixture.subarray(204, 208)).toEqual(Buffer.from([0x7f, 0x95, 0x1f, 0x67])); // valid to: 长期
    expect(at(208, 12)).toBe('      '); //            长期 padded with spaces
    expect(at(ID_TEXT_MARKER_OFFSET, 2)).toBe(' '); // no card-type marker
  });

  it('has a valid check digit (X)', () => {
    expect(isValidIdNumber('11010519491231002X')).toBe(true);
    expect(isValidIdNumber('110105194912310021')).toBe(false);
    expect(isValidIdNumber('11010519491231002')).toBe(false);
  });

  it('trims trailing spaces and NUL padding but keeps leading spaces', () => {
    const b = encodeIdText({ ...RESIDENT, name: ' 阿依古丽' });
    b.write('\u0000\u0000', 10 * 2, 'utf16le'); // some modules pad with NUL
    expect(decodeIdText(b)).toMatchObject({ name: ' 阿依古丽' });
  });

  it('reports codes outside the tables instead of guessing', () => {
    expect(decodeIdText(encodeIdText({ ...RESIDENT, genderCode: '7', nationCode: '77' }))).toMatchObject({ gender: 'invalid', nation: null });
  });
});

describe('decodeIdText: other card types', () => {
  it('flags a 2017 foreign permanent-residence card by the I marker', () => {
    const fields: IdFields = {
      cardType: 'foreign_permanent',
      edition: 2017,
      englishName: 'SMITH, JOHN ALEXANDER',
      genderCode: '1',
      permitNumber: 'USA110086032701',
      nationalityCode: 'USA',
      chineseName: '史密斯',
      validFrom: '20180301',
      validTo: '20280301',
      birthDate: '19860327',
      cardVersion: '01',
      authorityCode: '1100',
    };
    const b = encodeIdText(fields);
    expect(b.subarray(248, 250)).toEqual(Buffer.from([0x49, 0x00])); // 'I' at byte 248
    expect(b.toString('utf16le', 0, 42)).toBe('SMITH, JOHN ALEXANDER'); // English name first, 120 bytes
    expect(b.toString('utf16le', 122, 152)).toBe('USA110086032701'); // permit number at 122, 15 chars
    expect(decodeIdText(b)).toEqual({ ...fields, gender: 'male' });
  });

  it('flags a Hong Kong/Macau/Taiwan residence permit by the J marker', () => {
    const fields: IdFields = {
      cardType: 'hmt_residence',
      name: '陈大文',
      genderCode: '1',
      birthDate: '19900101',
      address: '广东省深圳市福田区',
      idNumber: '810000199001010013',
      authority: '深圳市公安局',
      validFrom: '20190101',
      validTo: '20240101',
      passNumber: 'H12345678',
      issueCount: '01',
    };
    const b = encodeIdText(fields);
    expect(b.toString('utf16le', 220, 238)).toBe('H12345678'); // pass number right after the validity
    expect(b.toString('utf16le', 248, 250)).toBe('J');
    expect(decodeIdText(b)).toEqual({ ...fields, gender: 'male' });
  });

  it('decodes the 2023 foreign card (Y), joining an English name split across two slots', () => {
    const englishName = 'VANDERBILT-MONTGOMERY, MARY ELIZABETH ANNE'; // 42 chars: 35 in the first slot, 7 in the second
    const fields: IdFields = {
      cardType: 'foreign_permanent',
      edition: 2023,
      chineseName: '玛丽',
      genderCode: '2',
      renewalCount: '00',
      birthDate: '19850704',
      englishName,
      permitNumber: '933000198507040028',
      validFrom: '20240101',
      validTo: '20340101',
      nationalityCode: '840',
      previousNumberLink: '',
    };
    const b = encodeIdText(fields);
    expect(b.toString('utf16le', 52, 122)).toBe(englishName.slice(0, 35)); // first slot, byte 52, not padded
    expect(b.toString('utf16le', 220, 242)).toBe(englishName.slice(35).padEnd(11, ' ')); // second slot, byte 220
    expect(b.toString('utf16le', 242, 248)).toBe('840'); // nationality code
    expect(b.toString('utf16le', 248, 250)).toBe('Y');
    expect(decodeIdText(b)).toEqual({ ...fields, gender: 'female' });
  });

  it('reports a block of the wrong size as unreadable', () => {
    expect(decodeIdText(Buffer.alloc(255))).toEqual({ cardType: 'unreadable', reason: 'bad_length', length: 255 });
  });

  it('refuses to encode a value that does not fit its field', () => {
    expect(() => encodeIdText({ ...RESIDENT, name: '名'.repeat(16) })).toThrow(RangeError);
  });
});

describe('code tables', () => {
  it('has the 56 ethnic groups plus 97/98, with unique two-digit codes', () => {
    expect(ETHNIC_GROUPS.filter((g) => Number(g.code) <= 56)).toHaveLength(56);
    expect(new Set(ETHNIC_GROUPS.map((g) => g.code)).size).toBe(ETHNIC_GROUPS.length);
    expect(ethnicGroupName('01')).toBe('汉');
    expect(ethnicGroupName('56')).toBe('基诺');
    expect(ethnicGroupName('57')).toBeNull();
  });

  it('maps GB/T 2261.1 gender codes', () => {
    expect(['0', '1', '2', '9', 'M'].map(genderName)).toEqual(['unknown', 'male', 'female', 'unstated', 'invalid']);
  });
});

describe('ID text round trip', () => {
  // BMP characters only (UCS-2 has no surrogates), no trailing padding characters.
  const field = (chars: number) =>
    fc
      .array(fc.integer({ min: 0x21, max: 0xd7ff }), { maxLength: chars })
      .map((cs) => String.fromCharCode(...cs));

  it('decode(encode(fields)) returns the fields for every layout', () => {
    fc.assert(
      fc.property(field(15), field(35), field(18), fc.constantFrom('0', '1', '2', '9'), (name, address, id, genderCode) => {
        const resident: IdFields = { ...RESIDENT, name, address, idNumber: id, genderCode };
        expect(decodeIdText(encodeIdText(resident))).toMatchObject(resident);
        const hmt: IdFields = { cardType: 'hmt_residence', name, genderCode, birthDate: '', address, idNumber: id, authority: '', validFrom: '', validTo: '', passNumber: id.slice(0, 9), issueCount: '' };
        expect(decodeIdText(encodeIdText(hmt))).toMatchObject(hmt);
      }),
      { numRuns: 500 },
    );
  });
});
