import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { StileError, StileErrorCode } from './errors.js';
import { decodeOfflinePayload, encodeOfflinePayload, type OfflineTicketPayload } from './ticket-code-binary.js';

export { decodeOfflinePayload, encodeOfflinePayload, type OfflineTicketPayload } from './ticket-code-binary.js';

const MAX_CODE_LENGTH = 512;
const SIG_BYTES = 64;
const TICKET_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
const KEY_ID_RE = /^[A-Za-z0-9_-]{1,16}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const B64URL_RE = /^[A-Za-z0-9_-]*$/;

/** Whitespace (incl. U+3000, BOM), C0 controls and DEL: what scanners and keyboard wedges add. */
function isNoise(c: number): boolean {
  return c <= 0x20 || c === 0x7f || c === 0xa0 || c === 0xfeff || c === 0x3000 || (c >= 0x2000 && c <= 0x200b) || c === 0x2028 || c === 0x2029;
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Ends trimmed by index (no regex: a trailing-noise regex is quadratic on long noise runs), AIM id dropped. */
function stripNoise(raw: string): string {
  let a = 0;
  let b = raw.length;
  while (a < b && isNoise(raw.charCodeAt(a))) a++;
  while (b > a && isNoise(raw.charCodeAt(b - 1))) b--;
  // AIM symbology identifier, e.g. "]Q1" (QR), "]d2" (Data Matrix), "]C0" (Code 128).
  if (b - a >= 3 && raw.charCodeAt(a) === 0x5d && isAsciiLetter(raw.charCodeAt(a + 1)) && isAsciiAlnum(raw.charCodeAt(a + 2))) {
    a += 3;
    while (a < b && isNoise(raw.charCodeAt(a))) a++;
  }
  return raw.slice(a, b);
}

/** A wedge scanner with caps lock on types "st2:..." with every ASCII letter's case inverted. */
function undoCapsLock(s: string): string {
  if (!s.startsWith('st1:') && !s.startsWith('st2:')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(isAsciiLetter(c) ? c ^ 0x20 : c);
  }
  return out;
}

/** Scanner noise off, caps lock undone. Liberal on purpose: content is checked strictly afterwards. */
export function normalizeScan(raw: string): string {
  return undoCapsLock(stripNoise(String(raw)));
}

export type ParsedCode =
  | { ok: true; kind: 'st1'; ticketId: string }
  | { ok: true; kind: 'st2'; keyId: string; payload: OfflineTicketPayload; signedText: string; signature: Buffer }
  | { ok: false; reason: 'malformed_code'; detail: string };

function malformed(detail: string): ParsedCode {
  return { ok: false, reason: 'malformed_code', detail };
}

function b64Value(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  return c === 0x2d ? 62 : 63;
}

/**
 * Canonical base64url only: alphabet, no padding, possible length, zero unused bits.
 * Otherwise several texts would decode to the same signature and a "different" code would verify.
 */
function decodeB64url(s: string): Buffer | null {
  const rem = s.length % 4;
  if (rem === 1 || !B64URL_RE.test(s)) return null;
  if (rem !== 0 && (b64Value(s.charCodeAt(s.length - 1)) & (rem === 2 ? 0x0f : 0x03)) !== 0) return null;
  return Buffer.from(s, 'base64url');
}

/** Scanned text → typed code. Pure, never throws; every failure is malformed_code with a short detail. */
export function parseTicketCode(raw: string): ParsedCode {
  if (typeof raw !== 'string') return malformed('not text');
  const stripped = stripNoise(raw);
  if (stripped.length === 0) return malformed('empty');
  if (stripped.length > MAX_CODE_LENGTH) return malformed('too long');
  const s = undoCapsLock(stripped);
  const prefix = s.slice(0, 4);
  if (prefix === 'ST1:') {
    const ticketId = s.slice(4);
    return TICKET_ID_RE.test(ticketId) ? { ok: true, kind: 'st1', ticketId } : malformed('bad ticket id');
  }
  if (prefix !== 'ST2:') return malformed('unknown prefix');
  const dot = s.indexOf('.', 4);
  if (dot < 0) return malformed('missing signature');
  if (s.indexOf('.', dot + 1) >= 0) return malformed('extra separator');
  const payloadText = s.slice(4, dot);
  if (payloadText.length === 0) return malformed('empty payload');
  const payloadBytes = decodeB64url(payloadText);
  if (!payloadBytes) return malformed('bad payload encoding');
  const signature = decodeB64url(s.slice(dot + 1));
  if (!signature) return malformed('bad signature encoding');
  if (signature.length !== SIG_BYTES) return malformed('bad signature length');
  const payload = decodeOfflinePayload(payloadBytes);
  if ('error' in payload) return malformed(payload.error);
  return { ok: true, kind: 'st2', keyId: payload.keyId, payload, signedText: s.slice(0, dot), signature };
}

// ---- Ed25519 keys, signing, verification -------------------------------------------

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
}

export type TrustedKeys = ReadonlyMap<string, { key: KeyObject; notAfter: string | null }>;

export type VerifyResult =
  | { ok: true; payload: OfflineTicketPayload }
  | { ok: false; reason: 'bad_signature' | 'unknown_key' | 'key_expired'; detail: string };

function keyError(message: string): StileError {
  return new StileError(StileErrorCode.KeyInvalid, message);
}

function checkKeyId(keyId: string, what: string): void {
  if (typeof keyId !== 'string' || !KEY_ID_RE.test(keyId)) {
    throw keyError(`${what} id ${JSON.stringify(keyId)}: expected 1–16 chars of [A-Za-z0-9_-]`);
  }
}

/** New Ed25519 pair: PKCS#8 PEM for the issuer, raw base64url public key for gate.yaml. */
export function generateSigningKeyPair(keyId: string): { keyId: string; privateKeyPem: string; publicKey: string } {
  checkKeyId(keyId, 'signing key');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    keyId,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKey: publicKey.export({ format: 'jwk' }).x as string,
  };
}

/** Throws StileError(KEY_INVALID); the message never echoes key material. */
export function loadSigningKey(keyId: string, privateKeyPem: string): SigningKey {
  checkKeyId(keyId, 'signing key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: privateKeyPem, format: 'pem' });
  } catch (err) {
    throw keyError(`signing key "${keyId}": not a readable PEM private key (${(err as Error).message})`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw keyError(`signing key "${keyId}": expected an Ed25519 private key, got ${privateKey.asymmetricKeyType ?? 'unknown'}`);
  }
  return { keyId, privateKey };
}

/** Sign a payload with `key`; returns the full "ST2:<payload>.<sig>" text. */
export function issueOfflineTicket(key: SigningKey, p: Omit<OfflineTicketPayload, 'keyId'>): string {
  const signedText = `ST2:${encodeOfflinePayload({ ...p, keyId: key.keyId }).toString('base64url')}`;
  const text = `${signedText}.${sign(null, Buffer.from(signedText, 'latin1'), key.privateKey).toString('base64url')}`;
  if (text.length > MAX_CODE_LENGTH) {
    throw new StileError(StileErrorCode.UsageError, `offline ticket is ${text.length} chars, gates accept at most ${MAX_CODE_LENGTH}: shorten the ids`);
  }
  return text;
}

function parsePublicKey(id: string, text: string): KeyObject {
  const bad = (why: string) => keyError(`offline key "${id}": not an Ed25519 public key (${why}); expected base64 raw 32 bytes or a PEM SPKI block`);
  if (typeof text !== 'string') throw bad('not text');
  const t = text.trim();
  let key: KeyObject;
  if (t.startsWith('-----BEGIN')) {
    try {
      key = createPublicKey({ key: t, format: 'pem' });
    } catch (err) {
      throw bad((err as Error).message);
    }
  } else {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) throw bad('bad base64');
    const raw = Buffer.from(t, 'base64'); // Node's base64 decoder also takes the url alphabet
    if (raw.length !== 32) throw bad(`${raw.length} bytes`);
    try {
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    } catch (err) {
      throw bad((err as Error).message);
    }
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') throw bad(`${key.type} ${key.asymmetricKeyType ?? 'unknown'} key`);
  return key;
}

/** Several keys at once is normal during rotation. Throws StileError(KEY_INVALID) naming the key id. */
export function loadTrustedKeys(keys: { id: string; publicKey: string; notAfter?: string }[]): TrustedKeys {
  const map = new Map<string, { key: KeyObject; notAfter: string | null }>();
  for (const k of keys) {
    checkKeyId(k.id, 'offline key');
    if (map.has(k.id)) throw keyError(`offline key "${k.id}": duplicate key id`);
    if (k.notAfter !== undefined && (typeof k.notAfter !== 'string' || !DATE_RE.test(k.notAfter))) {
      throw keyError(`offline key "${k.id}": notAfter must be "YYYY-MM-DD"`);
    }
    map.set(k.id, { key: parsePublicKey(k.id, k.publicKey), notAfter: k.notAfter ?? null });
  }
  return map;
}

/**
 * Runs per scan. The signature covers the ASCII text "ST2:<payload>", so the prefix
 * separates it from anything else the key might sign. A key is valid through its notAfter.
 */
export function verifyOfflineTicket(code: Extract<ParsedCode, { kind: 'st2' }>, trusted: TrustedKeys, today: string): VerifyResult {
  const keyId = code.payload.keyId;
  const entry = trusted.get(keyId);
  if (!entry) return { ok: false, reason: 'unknown_key', detail: `key "${keyId}" is not trusted by this gate` };
  let good: boolean;
  try {
    good = code.signature.length === SIG_BYTES && verify(null, Buffer.from(code.signedText, 'latin1'), entry.key, code.signature);
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'bad_signature', detail: `signature does not verify under key "${keyId}"` };
  if (entry.notAfter !== null && entry.notAfter < today) {
    return { ok: false, reason: 'key_expired', detail: `key "${keyId}" expired after ${entry.notAfter}` };
  }
  return { ok: true, payload: code.payload };
}
