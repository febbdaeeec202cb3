/**
 * Staff PINs of the staffed window: kiosk.yaml holds only `scrypt$<salt>$<hash>` (base64),
 * made by `kioskctl hash-pin`. A PIN is short, so the hash is slow (scrypt) and wrong tries
 * lock the staff id out for a while (WindowDesk).
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

const KEYLEN = 32;
/** scrypt cost: ~50 ms per check, on the staff PC and nowhere else. */
const COST = { N: 1 << 14, r: 8, p: 1 } as const;

/** Why a PIN cannot be one: undefined when it can. */
export function pinProblem(pin: string): string | undefined {
  if (!/^\d{4,12}$/.test(pin)) return 'a PIN is 4 to 12 digits';
  if (/^(\d)\1+$/.test(pin)) return 'a PIN of one digit repeated is too easy to guess';
  return undefined;
}

export function hashPin(pin: string, salt: Buffer = randomBytes(16)): string {
  const hash = scryptSync(pin, salt, KEYLEN, COST);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyPin(pin: string, stored: string): boolean {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  if (want.length !== KEYLEN) return false;
  return timingSafeEqual(scryptSync(pin, Buffer.from(salt, 'base64'), KEYLEN, COST), want);
}
