/**
 * The resident ID number check of @stile/config (config/src/idcard.ts `idNumberProblem`),
 * ported for the browser: that file also hashes with node:crypto, which a browser bundle
 * cannot carry. Same rules, same order, same answers (test/booking-page.test.ts compares the
 * two on generated numbers): GB 11643 format and MOD 11-2 check character, a province-level
 * region code, a real birth date not after today and at most 130 years before it. The server
 * checks again; this only saves the visitor a round trip.
 */
export type IdProblem = 'format' | 'check_digit' | 'region' | 'birth_date';

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';
const ID_RE = /^\d{17}[\dX]$/;
const PROVINCES = ['11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37', '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65', '81', '82', '83'];
const MAX_AGE_YEARS = 130;

/** Trimmed, a trailing x made X (as the server normalises it). */
export function normalizeId(raw: string): string {
  const t = raw.trim();
  return t.charAt(t.length - 1) === 'x' ? `${t.slice(0, -1)}X` : t;
}

/** What is wrong with the number, or undefined. `today`: the park's date, YYYY-MM-DD. */
export function idProblem(raw: string, today: string): IdProblem | undefined {
  const n = normalizeId(raw);
  if (!ID_RE.test(n)) return 'format';
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (n.charCodeAt(i) - 48) * WEIGHTS[i]!;
  if (n.charAt(17) !== CHECK_CHARS.charAt(sum % 11)) return 'check_digit';
  const province = n.slice(0, 2);
  const rest = n.slice(2, 6);
  if (PROVINCES.indexOf(province) < 0 || (province >= '81' ? rest !== '0000' : rest === '0000')) return 'region';
  const y = Number(n.slice(6, 10));
  const m = Number(n.slice(10, 12));
  const d = Number(n.slice(12, 14));
  const t = new Date(Date.UTC(y, m - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) return 'birth_date';
  const birth = `${n.slice(6, 10)}-${n.slice(10, 12)}-${n.slice(12, 14)}`;
  const oldest = `${String(Number(today.slice(0, 4)) - MAX_AGE_YEARS).padStart(4, '0')}${today.slice(4)}`;
  if (birth > today || birth < oldest) return 'birth_date';
  return undefined;
}
