import { sign, verify } from 'node:crypto';
import type { SigningKey, TrustedKeys } from './ticket-code.js';

/**
 * Cloud → gate control messages (whitelist deltas, commands) are signed with the site's
 * Ed25519 *control* key, separate from the offline-ticket keys. Broker ACLs keep a gate
 * from publishing where it should not; the signature keeps anyone who got onto the broker
 * (a stolen gate's credentials, a misconfigured bridge) from refunding or opening anything.
 *
 * The signature covers a domain tag plus the canonical JSON of the message without `sig`,
 * and is written as "<keyId>.<base64url signature>".
 */
const DOMAIN = 'stile-control-v1\n';

/** JSON with object keys sorted at every level, so both sides sign the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function signedBytes(message: Record<string, unknown>): Buffer {
  const { sig: _sig, ...rest } = message;
  return Buffer.from(DOMAIN + canonicalJson(rest), 'utf8');
}

/** Returns the message with its `sig` set. */
export function signControl<T extends Record<string, unknown>>(message: T, key: SigningKey): T & { sig: string } {
  const sig = `${key.keyId}.${sign(null, signedBytes(message), key.privateKey).toString('base64url')}`;
  return { ...message, sig };
}

export type ControlVerdict = { ok: true; keyId: string } | { ok: false; reason: 'unsigned' | 'unknown_key' | 'bad_signature' | 'key_expired'; detail: string };

/** Check a control message against the gate's trusted control keys; `today` is the park's local date. */
export function verifyControl(message: Record<string, unknown>, trusted: TrustedKeys, today: string): ControlVerdict {
  const sig = message.sig;
  if (typeof sig !== 'string' || !sig.includes('.')) return { ok: false, reason: 'unsigned', detail: 'no signature' };
  const dot = sig.indexOf('.');
  const keyId = sig.slice(0, dot);
  const entry = trusted.get(keyId);
  if (!entry) return { ok: false, reason: 'unknown_key', detail: `control key "${keyId}" is not trusted by this gate` };
  let good: boolean;
  try {
    good = verify(null, signedBytes(message), entry.key, Buffer.from(sig.slice(dot + 1), 'base64url'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'bad_signature', detail: `signature does not verify under control key "${keyId}"` };
  if (entry.notAfter !== null && entry.notAfter < today) return { ok: false, reason: 'key_expired', detail: `control key "${keyId}" expired after ${entry.notAfter}` };
  return { ok: true, keyId };
}
