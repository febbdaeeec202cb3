import { createHmac } from 'node:crypto';
import { StileError, StileErrorCode } from './errors.js';

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
 * Lowercase hex HMAC-SHA256 under the site key. Keyed, because ID numbers have so little
 * entropy (region, birth date, sequence) that a plain hash is reversible by enumeration.
 */
export function hashIdNumber(siteKey: string | Buffer, id: string): string {
  if (siteKey.length === 0) throw new StileError(StileErrorCode.KeyInvalid, 'ID hash site key is empty');
  return createHmac('sha256', siteKey).update(normalizeIdNumber(id), 'utf8').digest('hex');
}

/**
 * For logs and displays. A full 18-char number keeps only its last 4 ('**************1234');
 * anything else keeps at most its last 2 and far less when short. Never the region prefix:
 * with a site's ID-hash key (taken from a stolen gate), prefix and last 4 leave a birth date
 * and 3 sequence digits, so one HMAC per candidate (13,752 of them) recovers the whole number.
 */
export function maskIdNumber(id: string): string {
  const n = normalizeIdNumber(id);
  if (n.length === 18) return `${'*'.repeat(14)}${n.slice(14)}`;
  const keep = n.length >= 8 ? 2 : n.length >= 4 ? 1 : 0;
  // Cap the stars so arbitrary input cannot blow up a log line.
  return '*'.repeat(Math.min(n.length - keep, 32)) + n.slice(n.length - keep);
}
