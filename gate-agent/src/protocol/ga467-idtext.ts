/**
 * Meaning layer for the 256-byte "text" block a GA/T 467 reader returns for a card
 * (the part before the 1024-byte WLT photo). Every field is fixed-width UCS-2LE, padded with
 * spaces. Four layouts share the block; the UCS-2 character at byte offset 248 says which:
 *
 *   ' ' (reserved)  resident ID card (居民身份证)
 *   'J'             Hong Kong / Macau / Taiwan residence permit (港澳台居民居住证, 2018)
 *   'I'             foreign permanent-residence ID card, 2017 edition (外国人永久居留身份证)
 *   'Y'             foreign permanent-residence ID card, 2023 edition (新版永居证)
 *
 * Sources and uncertainty:
 * - Resident layout: GA 467 / every reader SDK agree (30/2/4/16/70/36/30/16/16 + 36 reserved).
 * - 2017 foreign layout: the machine-readable item table published with the card (英文姓名 120,
 *   性别 2, 证件号码 30, 国籍代码 6, 中文姓名 30, 签发 16, 终止 16, 出生 16, 版本号 4,
 *   受理机关代码 8, 类型标识 2 'I', 预留 6). Widely reproduced, not read from the standard itself.
 * - HMT layout: taken from vendor SDK headers (通行证号码 18, 签发次数 4, 预留 6, 'J', 预留 6 after
 *   the resident fields, with the nation slot reserved). Not checked against a real card.
 * - 2023 foreign layout: from one vendor SDK header only (English name split 70 + 22 bytes,
 *   换证次数 in the nation slot, 18-digit number, 'Y', 6 bytes linking to the old 15-char
 *   number). Treat as the least certain of the four.
 *
 * Decoding never throws; encoding (used by hardware-sim and tests) throws RangeError on values
 * that do not fit, because a simulator silently truncating a name would hide a test bug.
 */
import { ethnicGroupName } from './ga467-nations.js';

/** Size of the text block in every layout. */
export const ID_TEXT_BYTES = 256;
/** Byte offset of the card-type marker character. */
export const ID_TEXT_MARKER_OFFSET = 248;

type Field = readonly [key: string | null, bytes: number];
type Keys<L extends readonly Field[]> = Exclude<L[number][0], null>;

// null keys are reserved bytes; 'marker' is the card-type character at offset 248.
const RESIDENT = [
  ['name', 30], ['genderCode', 2], ['nationCode', 4], ['birthDate', 16], ['address', 70],
  ['idNumber', 36], ['authority', 30], ['validFrom', 16], ['validTo', 16], [null, 28], ['marker', 2], [null, 6],
] as const satisfies readonly Field[];

const HMT = [
  ['name', 30], ['genderCode', 2], [null, 4], ['birthDate', 16], ['address', 70],
  ['idNumber', 36], ['authority', 30], ['validFrom', 16], ['validTo', 16],
  ['passNumber', 18], ['issueCount', 4], [null, 6], ['marker', 2], [null, 6],
] as const satisfies readonly Field[];

const FOREIGN_2017 = [
  ['englishName', 120], ['genderCode', 2], ['permitNumber', 30], ['nationalityCode', 6], ['chineseName', 30],
  ['validFrom', 16], ['validTo', 16], ['birthDate', 16], ['cardVersion', 4], ['authorityCode', 8],
  ['marker', 2], [null, 6],
] as const satisfies readonly Field[];

const FOREIGN_2023 = [
  ['chineseName', 30], ['genderCode', 2], ['renewalCount', 4], ['birthDate', 16], ['englishName1', 70],
  ['permitNumber', 36], [null, 30], ['validFrom', 16], ['validTo', 16], ['englishName2', 22],
  ['nationalityCode', 6], ['marker', 2], ['previousNumberLink', 6],
] as const satisfies readonly Field[];

/** Chars of the English name stored in the first 2023 slot (at byte 52); the rest go to the 22-byte slot. */
const EN_2023_FIRST = 35;
const EN_2023_OFFSET = 52;

type Values<L extends readonly Field[]> = Omit<Record<Keys<L>, string>, 'marker'>;

/** GB/T 2261.1 sex codes; 'invalid' for anything else so a bad card is visible, not guessed. */
export type GenderName = 'male' | 'female' | 'unknown' | 'unstated' | 'invalid';
const GENDERS: Record<string, GenderName> = { '0': 'unknown', '1': 'male', '2': 'female', '9': 'unstated' };
export function genderName(code: string): GenderName {
  return GENDERS[code] ?? 'invalid';
}

export type ResidentFields = Values<typeof RESIDENT>;
export type HmtFields = Values<typeof HMT>;
export type Foreign2017Fields = Values<typeof FOREIGN_2017>;
export type Foreign2023Fields = Omit<Values<typeof FOREIGN_2023>, 'englishName1' | 'englishName2'> & { englishName: string };

/** Input for `encodeIdText`; a decoded card is accepted as-is (its derived fields are ignored). */
export type IdFields =
  | ({ cardType: 'resident' } & ResidentFields)
  | ({ cardType: 'hmt_residence' } & HmtFields)
  | ({ cardType: 'foreign_permanent'; edition: 2017 } & Foreign2017Fields)
  | ({ cardType: 'foreign_permanent'; edition: 2023 } & Foreign2023Fields);

export type ResidentCard = { cardType: 'resident' } & ResidentFields & { gender: GenderName; nation: string | null };
export type HmtResidenceCard = { cardType: 'hmt_residence' } & HmtFields & { gender: GenderName };
export type ForeignPermanentCard =
  | ({ cardType: 'foreign_permanent'; edition: 2017 } & Foreign2017Fields & { gender: GenderName })
  | ({ cardType: 'foreign_permanent'; edition: 2023 } & Foreign2023Fields & { gender: GenderName });
export type IdCard = ResidentCard | HmtResidenceCard | ForeignPermanentCard;
export type IdTextResult = IdCard | { cardType: 'unreadable'; reason: 'bad_length'; length: number };

/** Strip the space (and, on some cards, NUL) padding. Leading spaces are data and are kept. */
function trimPadding(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0)) end--;
  return s.slice(0, end);
}

function readLayout<L extends readonly Field[]>(text: Buffer, layout: L): Values<L> {
  const out: Record<string, string> = {};
  let off = 0;
  for (const [key, bytes] of layout) {
    if (key !== null && key !== 'marker') out[key] = trimPadding(text.toString('utf16le', off, off + bytes));
    off += bytes;
  }
  return out as Values<L>;
}

function writeLayout<L extends readonly Field[]>(layout: L, values: { readonly [K in Keys<L>]?: string }, marker: string): Buffer {
  const buf = Buffer.alloc(ID_TEXT_BYTES);
  let off = 0;
  for (const [key, bytes] of layout) {
    const value = key === 'marker' ? marker : key === null ? '' : (values[key as Keys<L>] ?? '');
    if (value.length * 2 > bytes) throw new RangeError(`ID text field ${key ?? 'reserved'} holds ${bytes / 2} characters, got ${value.length}`);
    buf.write(value.padEnd(bytes / 2, ' '), off, bytes, 'utf16le');
    off += bytes;
  }
  return buf;
}

/** Decode the 256-byte text block. Photo bytes never reach this function. */
export function decodeIdText(text: Buffer): IdTextResult {
  if (text.length !== ID_TEXT_BYTES) return { cardType: 'unreadable', reason: 'bad_length', length: text.length };
  const marker = text.toString('utf16le', ID_TEXT_MARKER_OFFSET, ID_TEXT_MARKER_OFFSET + 2);
  if (marker === 'I') {
    const f = readLayout(text, FOREIGN_2017);
    return { cardType: 'foreign_permanent', edition: 2017, ...f, gender: genderName(f.genderCode) };
  }
  if (marker === 'Y') {
    const { englishName1: _first, englishName2, ...f } = readLayout(text, FOREIGN_2023);
    // The first slot is only padded when the name fits in it, so re-join the raw slot before trimming.
    const englishName = trimPadding(text.toString('utf16le', EN_2023_OFFSET, EN_2023_OFFSET + 70) + englishName2);
    return { cardType: 'foreign_permanent', edition: 2023, ...f, englishName, gender: genderName(f.genderCode) };
  }
  if (marker === 'J') {
    const f = readLayout(text, HMT);
    return { cardType: 'hmt_residence', ...f, gender: genderName(f.genderCode) };
  }
  const f = readLayout(text, RESIDENT);
  return { cardType: 'resident', ...f, gender: genderName(f.genderCode), nation: ethnicGroupName(f.nationCode) };
}

/** Build a 256-byte text block (for hardware-sim and round-trip tests). */
export function encodeIdText(fields: IdFields): Buffer {
  switch (fields.cardType) {
    case 'resident':
      return writeLayout(RESIDENT, fields, ' ');
    case 'hmt_residence':
      return writeLayout(HMT, fields, 'J');
    case 'foreign_permanent':
      if (fields.edition === 2017) return writeLayout(FOREIGN_2017, fields, 'I');
      return writeLayout(
        FOREIGN_2023,
        { ...fields, englishName1: fields.englishName.slice(0, EN_2023_FIRST), englishName2: fields.englishName.slice(EN_2023_FIRST) },
        'Y',
      );
  }
}

/** GB 11643 check digit; the same scheme covers HMT permits (81/82/83) and 2023 foreign cards (9…). */
export { isValidIdNumber } from '@stile/config';
