import { createHash, sign, verify } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { z } from 'zod';
import { canonicalJson } from './control-sign.js';
import { PublicKeySchema } from './gate-config.js';
import { loadTrustedKeys, type SigningKey } from './ticket-code.js';
import { timeZone } from './time.js';
import { formatZodIssues } from './zod-issues.js';

/*
 * The provisioning bundle: everything a gate, kiosk or PA announcer needs to join its park,
 * made by `stile-cloud gates|kiosks|announcers add` and read by `gatectl|kioskctl|stile-announcer
 * provision`. One line of text a technician can copy and paste (or type from a print-out):
 *
 *   STILE1-<base64url( deflate(canonical JSON) ‖ 4-byte checksum )>
 *
 * The checksum catches a typo or a cut-off paste before anything else is looked at; the Ed25519
 * signature by the site's control key (over the contents, with a domain tag of its own) catches
 * a bundle that was altered on the way. The key that signs is carried inside, so the signature
 * proves integrity, not origin: the fingerprint of that key is printed on both sides for the
 * technician to compare. The bundle holds the device's broker token: it is a secret.
 *
 * Everything here is pure (no I/O): encode, decode, sign, verify.
 */

export const BUNDLE_PREFIX = 'STILE1-';
export const PROVISION_ROLES = ['gate', 'kiosk', 'announcer'] as const;
export type ProvisionRole = (typeof PROVISION_ROLES)[number];
/** A bundle is good for this long unless `stile-cloud … add --valid-hours N` says otherwise. */
export const DEFAULT_BUNDLE_VALID_HOURS = 24;
/** Longest accepted text and largest inflated contents: a bundle is a few KB; this bounds a hostile one. */
export const MAX_BUNDLE_CHARS = 200_000;
const MAX_CONTENTS_BYTES = 512 * 1024;
const CHECKSUM_BYTES = 4;
const CHECKSUM_DOMAIN = 'stile-bundle-v1\n';
const SIGN_DOMAIN = 'stile-provision-v1\n';

const deviceId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1–64 chars of [A-Za-z0-9_-]');
const isoTime = z.string().datetime({ offset: true });

const BrokerSchema = z
  .object({
    /** What the device dials: the cloud's `mqtt.publicUrl`. */
    url: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'expected mqtt://, mqtts://, ws:// or wss:// URL'),
    username: z.string().min(1).max(200),
    /** The registry's token: the MQTT password and the HTTP Basic password. */
    token: z.string().min(16).max(200),
    /** PEM of the CA that signed the broker's certificate, when the park uses a private CA. */
    caPem: z.string().max(65_536).regex(/-----BEGIN CERTIFICATE-----/, 'expected a PEM certificate').optional(),
    protocolVersion: z.union([z.literal(4), z.literal(5)]),
  })
  .strict();

const KioskPartSchema = z
  .object({
    /** The catalogue channel the kiosk sells on (kind kiosk). */
    channel: z.string().min(1).max(64),
    /** That channel's API key, and who takes its money. */
    apiKey: z.string().min(16).max(512),
    payment: z.enum(['partner', 'provider']),
    /** A second kiosk channel of payment partner for cash, when the first is provider. */
    cashApiKey: z.string().min(16).max(512).optional(),
    /** The id of the kiosk's own ST2 key (the pair is made on the kiosk; its public half goes into cloud.yaml). */
    offlineKeyId: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'expected 1–16 chars of [A-Za-z0-9_-]'),
  })
  .strict();

/** The signed contents. No zod defaults anywhere: a default would change the bytes that were signed. */
const ContentsObject = z
  .object({
    v: z.literal(1),
    role: z.enum(PROVISION_ROLES),
    site: z.object({ id: deviceId, name: z.string().min(1).max(100).optional(), timezone: timeZone }).strict(),
    device: z.object({ id: deviceId, zone: z.string().min(1).max(64).optional() }).strict(),
    issuedAt: isoTime,
    expiresAt: isoTime,
    broker: BrokerSchema,
    /** The cloud's HTTP base URL: a gate's snapshots and ticket types, a kiosk's channel API. */
    cloudUrl: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL').optional(),
    keys: z
      .object({
        /** The site's control public keys; the one that signed this bundle is among them. */
        control: z.array(PublicKeySchema).min(1).max(16),
        /** Offline ST2 public keys a gate trusts (the site's and its kiosks'). */
        offline: z.array(PublicKeySchema).max(64).optional(),
        /** The site's ID hash key (gates; kiosks for offline sales). A site without sales has none. */
        idHash: z.string().min(32).max(512).optional(),
      })
      .strict(),
    /** A gate's ticket rules from the site's catalogue (checked on the gate against its own schema). */
    ticketTypes: z.array(z.unknown()).min(1).max(1000).optional(),
    kiosk: KioskPartSchema.optional(),
  })
  .strict();

/** What each role needs; the rest of the roles' fields must be absent. */
function roleRules(b: z.infer<typeof ContentsObject>, ctx: z.RefinementCtx): void {
  const need = (cond: boolean, path: string[], message: string) => cond || ctx.addIssue({ code: 'custom', path, message });
  need(Date.parse(b.expiresAt) > Date.parse(b.issuedAt), ['expiresAt'], 'expiresAt must be after issuedAt');
  need(b.role === 'gate' || b.device.zone === undefined, ['device', 'zone'], 'only a gate has a zone');
  need(b.role === 'gate' || b.ticketTypes === undefined, ['ticketTypes'], 'only a gate takes ticket types');
  need(b.role === 'kiosk' ? b.kiosk !== undefined : b.kiosk === undefined, ['kiosk'], b.role === 'kiosk' ? 'a kiosk bundle needs its channel and API key' : 'only a kiosk bundle has a kiosk part');
  need(b.role === 'announcer' || b.cloudUrl !== undefined, ['cloudUrl'], `a ${b.role} needs the cloud's URL`);
  need(b.role !== 'kiosk' || b.keys.idHash !== undefined, ['keys', 'idHash'], 'a kiosk needs the site\'s ID hash key');
  need(b.role !== 'announcer' || (b.keys.idHash === undefined && b.keys.offline === undefined), ['keys'], 'an announcer gets only control keys');
}

export const ProvisionContentsSchema = ContentsObject.superRefine(roleRules);
export type ProvisionContents = z.infer<typeof ProvisionContentsSchema>;

export const ProvisionBundleSchema = ContentsObject.extend({ sig: z.string().min(3).max(200) }).strict().superRefine(roleRules);
export type ProvisionBundle = ProvisionContents & { sig: string };

export type BundleProblem =
  | 'not_a_bundle'
  | 'unsupported_version'
  | 'bad_character'
  | 'truncated'
  | 'checksum'
  | 'corrupt'
  | 'invalid'
  | 'unsigned'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_role';

export type BundleResult<T> = { ok: true; bundle: T } | { ok: false; problem: BundleProblem; message: string };

const fail = (problem: BundleProblem, message: string): { ok: false; problem: BundleProblem; message: string } => ({ ok: false, problem, message });

function checksum(body: Buffer): Buffer {
  return createHash('sha256').update(CHECKSUM_DOMAIN).update(body).digest().subarray(0, CHECKSUM_BYTES);
}

function signedBytes(contents: Record<string, unknown>): Buffer {
  const { sig: _sig, ...rest } = contents;
  return Buffer.from(SIGN_DOMAIN + canonicalJson(rest), 'utf8');
}

/** The contents signed with the site's control key (its public half must be in `keys.control`). */
export function signBundle(contents: ProvisionContents, key: SigningKey): ProvisionBundle {
  return { ...contents, sig: `${key.keyId}.${sign(null, signedBytes(contents), key.privateKey).toString('base64url')}` };
}

/** The one line a technician copies: prefix, then deflated canonical JSON and its checksum in base64url. */
export function encodeBundle(bundle: ProvisionBundle): string {
  const body = deflateRawSync(Buffer.from(canonicalJson(bundle), 'utf8'), { level: 9 });
  return BUNDLE_PREFIX + Buffer.concat([body, checksum(body)]).toString('base64url');
}

/**
 * Text back to a bundle: prefix, alphabet, checksum, inflate, schema. Never throws; each
 * refusal names what to do. Whitespace and line breaks inside are ignored (a terminal may
 * wrap a long line when it is copied).
 */
export function decodeBundle(text: string): BundleResult<ProvisionBundle> {
  if (typeof text !== 'string') return fail('not_a_bundle', 'not a provisioning bundle');
  const t = text.replace(/\s+/g, '');
  if (!t.startsWith(BUNDLE_PREFIX)) {
    if (/^STILE\d+-/.test(t)) return fail('unsupported_version', `bundle version "${t.slice(0, t.indexOf('-'))}" is not one this program reads (it reads ${BUNDLE_PREFIX.slice(0, -1)}); update the software on this device`);
    return fail('not_a_bundle', `not a provisioning bundle (a bundle starts with "${BUNDLE_PREFIX}"; copy the whole line stile-cloud printed)`);
  }
  if (t.length > MAX_BUNDLE_CHARS) return fail('corrupt', `bundle is ${t.length} characters, more than any bundle (${MAX_BUNDLE_CHARS}): not one line stile-cloud printed`);
  const data = t.slice(BUNDLE_PREFIX.length);
  const bad = /[^A-Za-z0-9_-]/.exec(data);
  if (bad) return fail('bad_character', `character ${JSON.stringify(bad[0])} at position ${BUNDLE_PREFIX.length + bad.index + 1} cannot be in a bundle (a typo, or a character the copy added)`);
  // base64 without padding never leaves a single character over.
  if (data.length % 4 === 1 || data.length < 16) return fail('truncated', 'bundle is cut off: copy the whole line again');
  const raw = Buffer.from(data, 'base64url');
  const body = raw.subarray(0, raw.length - CHECKSUM_BYTES);
  if (!checksum(body).equals(raw.subarray(raw.length - CHECKSUM_BYTES))) {
    return fail('checksum', 'bundle checksum does not match: it was mistyped or cut off; copy the whole line again');
  }
  let json: unknown;
  try {
    json = JSON.parse(inflateRawSync(body, { maxOutputLength: MAX_CONTENTS_BYTES }).toString('utf8'));
  } catch (err) {
    return fail('corrupt', `bundle contents cannot be read (${(err as Error).message.split('\n')[0]})`);
  }
  const parsed = ProvisionBundleSchema.safeParse(json);
  if (!parsed.success) return fail('invalid', `bundle contents are not valid: ${formatZodIssues(parsed.error.issues, { limit: 2 }) || 'invalid'}`);
  return { ok: true, bundle: parsed.data as ProvisionBundle };
}

/** The signature under the named key in `keys.control`, then the time window and the role. */
export function verifyBundle(bundle: ProvisionBundle, want: { role: ProvisionRole; now: Date }): BundleResult<ProvisionBundle> {
  const dot = bundle.sig.indexOf('.');
  if (dot <= 0) return fail('unsigned', 'bundle has no signature: make a new one with stile-cloud');
  const keyId = bundle.sig.slice(0, dot);
  const entry = bundle.keys.control.find((k) => k.id === keyId);
  if (!entry) return fail('bad_signature', `bundle is signed with key "${keyId}", which it does not carry: it was altered; make a new one with stile-cloud`);
  let good: boolean;
  try {
    const trusted = loadTrustedKeys([{ id: entry.id, publicKey: entry.publicKey }]);
    good = verify(null, signedBytes(bundle as unknown as Record<string, unknown>), trusted.get(entry.id)!.key, Buffer.from(bundle.sig.slice(dot + 1), 'base64url'));
  } catch {
    good = false; // not a usable key or signature: the same as a wrong one
  }
  if (!good) return fail('bad_signature', `bundle signature does not verify under control key "${keyId}": it was altered after it was made; make a new one with stile-cloud`);
  const now = want.now.getTime();
  const clock = `this machine's clock says ${want.now.toISOString()}; if that is wrong, set the clock first (timedatectl)`;
  if (Date.parse(bundle.expiresAt) <= now) {
    return fail('expired', `bundle expired at ${bundle.expiresAt} (${clock}): make a new one with stile-cloud ${bundle.role}s add (or rotate)`);
  }
  // A device whose clock is far behind would accept expired bundles and refuse every timed ticket.
  if (Date.parse(bundle.issuedAt) > now + 60 * 60_000) {
    return fail('not_yet_valid', `bundle was issued at ${bundle.issuedAt}, more than an hour after ${clock}`);
  }
  if (bundle.role !== want.role) {
    const a = (w: string) => (/^[aeiou]/.test(w) ? `an ${w}` : `a ${w}`);
    return fail('wrong_role', `this is ${a(bundle.role)} bundle (${bundle.role} ${bundle.device.id} at ${bundle.site.id}); ${want.role} provisioning needs ${a(want.role)} bundle (stile-cloud ${want.role}s add ${bundle.site.id} <id>)`);
  }
  return { ok: true, bundle };
}

/** decode + verify: the one call a device makes. */
export function openBundle(text: string, want: { role: ProvisionRole; now: Date }): BundleResult<ProvisionBundle> {
  const decoded = decodeBundle(text);
  return decoded.ok ? verifyBundle(decoded.bundle, want) : decoded;
}

/**
 * A short fingerprint of a public key ("3F9A-1C07-B2E4"), printed where a bundle is made and
 * where it is used, so a technician can tell that the bundle came from their own cloud.
 */
export function keyFingerprint(publicKey: string): string {
  const t = publicKey.trim();
  const bytes = t.startsWith('-----BEGIN') ? Buffer.from(t, 'utf8') : Buffer.from(t, 'base64');
  const hex = createHash('sha256').update(bytes).digest('hex').slice(0, 12).toUpperCase();
  return `${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}`;
}

/** The fingerprint of the key that signed the bundle (after verifyBundle it is in keys.control). */
export function signerFingerprint(bundle: ProvisionBundle): { keyId: string; fingerprint: string } {
  const keyId = bundle.sig.slice(0, bundle.sig.indexOf('.'));
  const k = bundle.keys.control.find((c) => c.id === keyId);
  return { keyId, fingerprint: k ? keyFingerprint(k.publicKey) : '?' };
}
