import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/*
 * The booking page's secrets. Codes and phones are stored only as HMACs under a key of the
 * site derived from its control key (cloud-only: gates never hold it, unlike the ID-hash
 * key), so a copy of the database alone cannot turn a 6-digit code hash back into the code
 * (10^6 guesses) or a phone hash into the number. Sessions are random tokens stored as their
 * SHA-256; the session's phone is sealed under a key derived from the token itself, so only
 * a request that carries the token can read it.
 */

const TOKEN_RE = /^bk1_[A-Za-z0-9_-]{43}$/;

/** A site's keyed hashes. */
export class SiteSecrets {
  private readonly key: Buffer;

  constructor(controlKeyPem: string, site: string) {
    this.key = createHmac('sha256', controlKeyPem).update(`stile-booking-v1\0${site}`).digest();
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('hex');
  }

  phoneHash(phone: string): string {
    return this.mac(`phone\0${phone}`);
  }

  /** The code bound to the phone it was sent to: the same code for another phone is another hash. */
  codeHash(phoneHash: string, code: string): string {
    return this.mac(`code\0${phoneHash}\0${code}`);
  }

  addressHash(address: string): string {
    return this.mac(`addr\0${address}`).slice(0, 32);
  }

  /** The WeChat OAuth state's MAC (128 bits, hex) over what it binds: its expiry, the browser's nonce and the return path. */
  oauthStateMac(expSec: number, nonce: string, returnTo: string): string {
    return this.mac(`wxoauth\0${expSec}\0${nonce}\0${returnTo}`).slice(0, 32);
  }
}

/** A 6-digit code, uniformly random (crypto). */
export function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** A session token: 256 random bits. */
export function newToken(): string {
  return `bk1_${randomBytes(32).toString('base64url')}`;
}

/** Whether a text has the form of a session token at all (garbage is refused before the store is asked). */
export function isToken(text: string): boolean {
  return TOKEN_RE.test(text);
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Two hex hashes equal, in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

function tokenKey(token: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token, Buffer.alloc(0), 'stile-booking-session-phone', 32));
}

/** The phone sealed under the token (AES-256-GCM): iv · ciphertext · tag, base64url. */
export function sealPhone(token: string, phone: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', tokenKey(token), iv);
  const body = Buffer.concat([c.update(phone, 'utf8'), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
}

/** The phone, or undefined when the sealed text was not made under this token (or was changed). */
export function openPhone(token: string, sealed: string): string | undefined {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 12 + 16 + 1) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', tokenKey(token), raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
