import { createHmac } from 'node:crypto';
import { StileError, StileErrorCode } from './errors.js';
import { normalizeIdNumber } from './id-number.js';

export * from './id-number.js';

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
