/*
 * The resident ID number check (GB 11643-1999), pure and free of Node modules, so the visitor's
 * browser runs exactly the server's rules (cloud-bridge/web/booking imports it through
 * "@stile/config/id-number"). Hashing lives in idcard.ts.
 */

// GB 11643-1999, ISO 7064 MOD 11-2: weight of position i is 2^(17-i) mod 11.
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK_CHARS = '10X98765432';
const ID_RE = /^\d{17}[\dX]$/;

/** Trim and uppercase a trailing x, so typed, scanned and card-read numbers hash alike. */
export function normalizeIdNumber(raw: string): string {
  const t = String(raw).trim();
  return t.endsWith('x') ? `${t.slice(0, -1)}X` : t;
}

/** 18 characters, 17 digits and a check character that matches the MOD 11-2 checksum. */
export function isValidIdNumber(id: string): boolean {
  const n = normalizeIdNumber(id);
  if (!ID_RE.test(n)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (n.charCodeAt(i) - 0x30) * (WEIGHTS[i] as number);
  return n[17] === CHECK_CHARS[sum % 11];
}

/**
 * Province-level prefixes of GB/T 2260 that appear on resident ID cards: the 31 mainland
 * provinces, autonomous regions and municipalities, and 81/82/83 (Hong Kong, Macao, Taiwan
 * residents' residence permits, region 810000/820000/830000). 71 (Taiwan) is listed in
 * GB/T 2260 but no card carries it.
 */
const PROVINCES: ReadonlySet<string> = new Set([
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37', '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
  '81', '82', '83',
]);
/** The oldest birth date accepted: a visitor is not older than this many years. */
const MAX_AGE_YEARS = 130;

/** Why an ID number is refused, in the order they are checked. */
export type IdNumberProblem = 'format' | 'check_digit' | 'region' | 'birth_date';

/**
 * What is wrong with a resident ID number, or undefined when it passes every check:
 * - format: 18 characters, 17 digits and a digit or X;
 * - check_digit: the MOD 11-2 check character;
 * - region: the first two digits are a province-level code of GB/T 2260 (table above); a
 *   mainland number's city/county part is not 0000, a Hong Kong/Macao/Taiwan permit's is.
 *   The 6-digit county code itself is not looked up (the full list has ~3,000 codes and
 *   changes every year; old cards keep codes since abolished);
 * - birth_date: digits 7–14 are a real calendar date, not after `today` (YYYY-MM-DD, the
 *   caller's local date; default the UTC date now) and at most 130 years before it.
 * Foreigners' permanent residence cards of the 2023 format (first digit 9) are not accepted.
 */
export function idNumberProblem(id: string, today: string = new Date().toISOString().slice(0, 10)): IdNumberProblem | undefined {
  const n = normalizeIdNumber(id);
  if (!ID_RE.test(n)) return 'format';
  if (!isValidIdNumber(n)) return 'check_digit';
  const province = n.slice(0, 2);
  const rest = n.slice(2, 6);
  if (!PROVINCES.has(province) || (province >= '81' ? rest !== '0000' : rest === '0000')) return 'region';
  const [y, m, d] = [Number(n.slice(6, 10)), Number(n.slice(10, 12)), Number(n.slice(12, 14))];
  const t = new Date(Date.UTC(y, m - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) return 'birth_date';
  const birth = `${n.slice(6, 10)}-${n.slice(10, 12)}-${n.slice(12, 14)}`;
  const oldest = `${String(Number(today.slice(0, 4)) - MAX_AGE_YEARS).padStart(4, '0')}${today.slice(4)}`;
  if (birth > today || birth < oldest) return 'birth_date';
  return undefined;
}
