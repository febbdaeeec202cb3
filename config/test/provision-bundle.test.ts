import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair, loadSigningKey } from '../src/ticket-code.js';
import { canonicalJson } from '../src/control-sign.js';
import {
  BUNDLE_PREFIX,
  decodeBundle,
  encodeBundle,
  keyFingerprint,
  openBundle,
  signBundle,
  signerFingerprint,
  verifyBundle,
  type ProvisionContents,
} from '../src/provision-bundle.js';
import { backupSuffix, groupId, writeProblem } from '../src/provision-files.js';
import { deflateRawSync } from 'node:zlib';
import { createHash } from 'node:crypto';

const pair = generateSigningKeyPair('ck1');
const key = loadSigningKey('ck1', pair.privateKeyPem);
const NOW = new Date('2026-12-01T08:00:00Z');

function contents(over: Partial<ProvisionContents> = {}): ProvisionContents {
  return {
    v: 1,
    role: 'gate',
    site: { id: 'west-lake', name: '西湖', timezone: 'Asia/Shanghai' },
    device: { id: 'north-1', zone: 'main' },
    issuedAt: '2026-12-01T07:00:00.000Z',
    expiresAt: '2026-12-02T07:00:00.000Z',
    broker: { url: 'mqtts://mqtt.example.cn:8883', username: 'gate.west-lake.north-1', token: 'tok-0123456789abcdefghijklmnop', protocolVersion: 5 },
    cloudUrl: 'https://cloud.example.cn',
    keys: { control: [{ id: 'ck1', publicKey: pair.publicKey }], offline: [{ id: 'k1', publicKey: generateSigningKeyPair('k1').publicKey }], idHash: 'i'.repeat(40) },
    ticketTypes: [{ id: 'adult', name: 'Adult' }],
    ...over,
  };
}

const good = () => encodeBundle(signBundle(contents(), key));

/** Re-encode altered contents with a correct checksum, as an attacker (not a typo) would. */
function reencode(value: unknown): string {
  const body = deflateRawSync(Buffer.from(canonicalJson(value), 'utf8'));
  const check = createHash('sha256').update('stile-bundle-v1\n').update(body).digest().subarray(0, 4);
  return BUNDLE_PREFIX + Buffer.concat([body, check]).toString('base64url');
}

describe('provisioning bundle codec', () => {
  it('round-trips: one line with the STILE1- prefix, the same contents back, verified', () => {
    const text = good();
    expect(text.startsWith('STILE1-')).toBe(true);
    expect(text).toMatch(/^STILE1-[A-Za-z0-9_-]+$/);
    const opened = openBundle(text, { role: 'gate', now: NOW });
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.bundle.site.name).toBe('西湖');
    expect(opened.bundle.broker.token).toBe('tok-0123456789abcdefghijklmnop');
    expect(signerFingerprint(opened.bundle)).toEqual({ keyId: 'ck1', fingerprint: keyFingerprint(pair.publicKey) });
  });

  it('accepts the line with line breaks and spaces a terminal or mail client added', () => {
    const text = good();
    const wrapped = `  ${text.slice(0, 40)}\n${text.slice(40, 90)}\r\n ${text.slice(90)}\n`;
    expect(openBundle(wrapped, { role: 'gate', now: NOW }).ok).toBe(true);
  });

  it('names a typo, a cut-off copy and a foreign text', () => {
    const text = good();
    const i = 30;
    const typo = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
    expect(decodeBundle(typo)).toMatchObject({ ok: false, problem: 'checksum', message: expect.stringContaining('mistyped or cut off') });
    expect(decodeBundle(text.slice(0, text.length - 7))).toMatchObject({ ok: false });
    expect(decodeBundle(text.slice(0, 12))).toMatchObject({ ok: false, problem: 'truncated' });
    expect(decodeBundle(`${text.slice(0, 20)}!${text.slice(21)}`)).toMatchObject({ ok: false, problem: 'bad_character', message: expect.stringContaining('position 21') });
    expect(decodeBundle('username: gate.x.y')).toMatchObject({ ok: false, problem: 'not_a_bundle' });
    expect(decodeBundle(text.replace('STILE1-', 'STILE2-'))).toMatchObject({ ok: false, problem: 'unsupported_version' });
  });

  it('refuses altered contents with a valid checksum: the signature does not verify', () => {
    const signed = signBundle(contents(), key);
    const tampered = reencode({ ...signed, broker: { ...signed.broker, url: 'mqtt://evil.example:1883' } });
    expect(openBundle(tampered, { role: 'gate', now: NOW })).toMatchObject({ ok: false, problem: 'bad_signature', message: expect.stringContaining('altered') });
    // Re-signed with another key but claiming the site's key id: still refused.
    const other = loadSigningKey('ck1', generateSigningKeyPair('ck1').privateKeyPem);
    const forged = signBundle({ ...contents(), broker: { ...contents().broker, url: 'mqtt://evil.example:1883' } }, other);
    expect(openBundle(encodeBundle(forged), { role: 'gate', now: NOW })).toMatchObject({ ok: false, problem: 'bad_signature' });
    // Signed by a key the bundle does not carry.
    const stranger = signBundle(contents(), loadSigningKey('zz9', generateSigningKeyPair('zz9').privateKeyPem));
    expect(openBundle(encodeBundle(stranger), { role: 'gate', now: NOW })).toMatchObject({ ok: false, problem: 'bad_signature', message: expect.stringContaining('"zz9"') });
    expect(openBundle(reencode({ ...signed, sig: 'nosig' }), { role: 'gate', now: NOW })).toMatchObject({ ok: false, problem: 'unsigned' });
  });

  it('refuses an expired bundle, one from the future, and one for another role, saying what to do', () => {
    const text = good();
    const late = openBundle(text, { role: 'gate', now: new Date('2026-12-02T07:00:00Z') });
    expect(late).toMatchObject({ ok: false, problem: 'expired' });
    if (!late.ok) expect(late.message).toMatch(/expired at 2026-12-02T07:00:00.000Z .*stile-cloud gates add/);
    const early = openBundle(text, { role: 'gate', now: new Date('2026-11-30T07:00:00Z') });
    expect(early).toMatchObject({ ok: false, problem: 'not_yet_valid', message: expect.stringContaining('timedatectl') });
    const kiosk = openBundle(text, { role: 'kiosk', now: NOW });
    expect(kiosk).toMatchObject({ ok: false, problem: 'wrong_role' });
    if (!kiosk.ok) expect(kiosk.message).toContain('this is a gate bundle (gate north-1 at west-lake); kiosk provisioning needs a kiosk bundle');
  });

  it('checks each role has what it needs and nothing of another role', () => {
    const bad = (over: Partial<ProvisionContents>) => decodeBundle(reencode(signBundle(contents(over), key)));
    expect(bad({ role: 'kiosk', device: { id: 'k1' }, ticketTypes: undefined })).toMatchObject({ ok: false, problem: 'invalid', message: expect.stringContaining('a kiosk bundle needs its channel and API key') });
    expect(bad({ role: 'kiosk' })).toMatchObject({ ok: false, problem: 'invalid', message: expect.stringContaining('only a gate has a zone') });
    expect(bad({ role: 'announcer', device: { id: 'pa-1' }, ticketTypes: undefined, keys: { control: [{ id: 'ck1', publicKey: pair.publicKey }], idHash: 'i'.repeat(40) } })).toMatchObject({ ok: false, problem: 'invalid' });
    const announcer = contents({ role: 'announcer', device: { id: 'pa-1' }, ticketTypes: undefined, cloudUrl: undefined, keys: { control: [{ id: 'ck1', publicKey: pair.publicKey }] } });
    expect(openBundle(encodeBundle(signBundle(announcer, key)), { role: 'announcer', now: NOW }).ok).toBe(true);
  });

  it('fuzz: random corruption of a good bundle is always refused, never a crash', () => {
    const text = good();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    fc.assert(
      fc.property(
        fc.oneof(
          // one or more characters changed
          fc.array(fc.tuple(fc.nat(text.length - 1), fc.constantFrom(...alphabet.split(''))), { minLength: 1, maxLength: 6 }).map((edits) => {
            const chars = text.split('');
            for (const [i, c] of edits) chars[Math.max(BUNDLE_PREFIX.length, i)] = c;
            return chars.join('');
          }),
          // cut off
          fc.nat(text.length - 1).map((n) => text.slice(0, n)),
          // a character dropped or doubled
          fc.nat(text.length - 1).map((i) => text.slice(0, i) + text.slice(i + 1)),
          fc.nat(text.length - 1).map((i) => text.slice(0, i) + text[i] + text.slice(i)),
          // two neighbours swapped
          fc.integer({ min: BUNDLE_PREFIX.length, max: text.length - 2 }).map((i) => text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2)),
        ),
        (mangled) => {
          if (mangled === text) return;
          const r = openBundle(mangled, { role: 'gate', now: NOW });
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.message.length).toBeGreaterThan(10);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('fuzz: any text at all is refused or accepted without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.string({ maxLength: 400 }).map((s) => `STILE1-${s}`), fc.uint8Array({ maxLength: 300 }).map((b) => `STILE1-${Buffer.from(b).toString('base64url')}`)), (s) => {
        const r = openBundle(s, { role: 'gate', now: NOW });
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: random well-formed JSON inside a valid checksum is refused by the schema or the signature', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = openBundle(reencode(v), { role: 'gate', now: NOW });
        expect(r.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('verifyBundle is what openBundle does after decoding', () => {
    const d = decodeBundle(good());
    expect(d.ok && verifyBundle(d.bundle, { role: 'gate', now: NOW }).ok).toBe(true);
  });
});

describe('provisioning file helpers', () => {
  it('finds the stile group in /etc/group text', () => {
    expect(groupId('root:x:0:\ndialout:x:20:stile\nstile:x:998:\n', 'stile')).toBe(998);
    expect(groupId('root:x:0:\n', 'stile')).toBeNull();
  });

  it('names backups by UTC time without characters a shell minds', () => {
    expect(backupSuffix(new Date('2026-12-01T10:15:00.123Z'))).toBe('bak-20261201T101500Z');
  });

  it('says what to do when the folder cannot be written: permission, read-only root, full disk', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    expect(writeProblem(err('EACCES'), '/etc/stile', 'gatectl')).toBe('cannot write to /etc/stile (EACCES: permission denied): run it as root (sudo gatectl provision …); nothing was changed');
    expect(writeProblem(err('EROFS'), '/etc/stile', 'gatectl')).toMatch(/read-only file system \(EROFS\): remount it read-write/);
    expect(writeProblem(err('ENOSPC'), '/etc/stile', 'kioskctl')).toMatch(/no space left .*df -h \/etc\/stile/);
  });
});
