import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isStileError } from '../src/errors.js';
import {
  decodeOfflinePayload,
  encodeOfflinePayload,
  generateSigningKeyPair,
  issueOfflineTicket,
  loadSigningKey,
  loadTrustedKeys,
  normalizeScan,
  parseTicketCode,
  verifyOfflineTicket,
  type OfflineTicketPayload,
  type ParsedCode,
} from '../src/ticket-code.js';

const TODAY = '2025-05-01';
const body: Omit<OfflineTicketPayload, 'keyId'> = {
  site: 'huangshan-east',
  ticketId: 'Tk_9fQ2-abcdEFGH',
  typeId: '成人票',
  visitDate: '2025-05-01',
  slotStart: '09:00',
  slotEnd: '10:30',
  persons: 3,
  issuedAt: 1_745_000_000,
};

function makeKey(keyId: string) {
  const pair = generateSigningKeyPair(keyId);
  return { pair, signing: loadSigningKey(keyId, pair.privateKeyPem) };
}
const k1 = makeKey('k2025a');
const k2 = makeKey('k2025b');
const trusted = loadTrustedKeys([
  { id: 'k2025a', publicKey: k1.pair.publicKey },
  { id: 'k2025b', publicKey: k2.pair.publicKey, notAfter: '2025-12-31' },
]);

type St2 = Extract<ParsedCode, { kind: 'st2' }>;
function st2(text: string): St2 {
  const p = parseTicketCode(text);
  if (!p.ok || p.kind !== 'st2') throw new Error(`expected st2, got ${JSON.stringify(p)}`);
  return p;
}
const detail = (text: string) => {
  const p = parseTicketCode(text);
  return p.ok ? 'ok' : p.detail;
};
const b64 = (b: Buffer) => b.toString('base64url');
const SIG = b64(Buffer.alloc(64, 7));

describe('normalizeScan', () => {
  it.each([
    [']Q1ST1:ABCDEFGH12', 'ST1:ABCDEFGH12'],
    [']Q3ST1:ABCDEFGH12', 'ST1:ABCDEFGH12'],
    [']d2ST1:ABCDEFGH12', 'ST1:ABCDEFGH12'],
    [']C0ST1:ABCDEFGH12\r\n', 'ST1:ABCDEFGH12'],
    ['  ST1:ABCDEFGH12\t\r\n', 'ST1:ABCDEFGH12'],
    ['\u0000\u0002ST1:ABCDEFGH12\u0003\u0000', 'ST1:ABCDEFGH12'],
    ['\u3000ST1:ABCDEFGH12\u3000', 'ST1:ABCDEFGH12'],
    ['st1:abcdefgh12', 'ST1:ABCDEFGH12'],
    ['st2:aBc-_.Xy', 'ST2:AbC-_.xY'],
    ['ST2:aBc', 'ST2:aBc'],
    ['St2:aBc', 'St2:aBc'],
    ['', ''],
    [']Q1', ''],
  ])('%j -> %j', (raw, want) => expect(normalizeScan(raw)).toBe(want));

  it('restores a caps-lock ST2 scan to a verifying code', () => {
    const text = issueOfflineTicket(k1.signing, body);
    const swapped = text.replace(/[A-Za-z]/g, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()));
    expect(swapped.startsWith('st2:')).toBe(true);
    expect(normalizeScan(`]Q1${swapped}\r\n`)).toBe(text);
    expect(verifyOfflineTicket(st2(`]Q1${swapped}\r\n`), trusted, TODAY)).toEqual({ ok: true, payload: { ...body, keyId: 'k2025a' } });
  });
});

describe('parseTicketCode ST1', () => {
  it('accepts a well-formed id', () => {
    expect(parseTicketCode('ST1:Ab3_-xyz9Q')).toEqual({ ok: true, kind: 'st1', ticketId: 'Ab3_-xyz9Q' });
    expect(parseTicketCode(`]Q1ST1:${'a'.repeat(64)}\n`)).toMatchObject({ ok: true, ticketId: 'a'.repeat(64) });
  });
  it.each([
    ['', 'empty'],
    [' \r\n', 'empty'],
    ['ST1:', 'bad ticket id'],
    ['ST1:short', 'bad ticket id'],
    [`ST1:${'a'.repeat(65)}`, 'bad ticket id'],
    ['ST1:abcdefgh!', 'bad ticket id'],
    ['ST1:abcd efgh', 'bad ticket id'],
    ['ST1:abcdefgh\u0000', 'ok'], // trailing NUL is scanner noise
    ['ST1:abcdéfgh', 'bad ticket id'],
    ['St1:abcdefgh', 'unknown prefix'],
    ['ST3:abcdefgh', 'unknown prefix'],
    ['https://example.com/', 'unknown prefix'],
    ['110101199003071234', 'unknown prefix'],
    [`ST1:${'a'.repeat(600)}`, 'too long'],
  ])('%j -> %s', (raw, want) => expect(detail(raw)).toBe(want));
});

describe('offline payload encoding', () => {
  it('round-trips every field, including no slot, 24:00 and date limits', () => {
    const cases: OfflineTicketPayload[] = [
      { ...body, keyId: 'k1' },
      { ...body, keyId: 'K_-9', slotStart: null, slotEnd: null, persons: 1, issuedAt: 0 },
      { ...body, keyId: 'a'.repeat(16), slotStart: '00:00', slotEnd: '24:00', persons: 100, issuedAt: 0xffffffff },
      { ...body, keyId: 'k', visitDate: '2000-01-01', typeId: 'x' },
      { ...body, keyId: 'k', visitDate: '2179-06-06', typeId: '夜场🎆'.padEnd(40, '票') },
      { ...body, keyId: 'k', visitDate: '2028-02-29', slotStart: '23:59', slotEnd: '24:00' },
    ];
    for (const p of cases) expect(decodeOfflinePayload(encodeOfflinePayload(p))).toEqual(p);
  });

  it('is compact', () => {
    expect(encodeOfflinePayload({ ...body, keyId: 'k2025a' }).length).toBeLessThan(64);
  });

  it.each<[string, Partial<OfflineTicketPayload>]>([
    ['keyId', { keyId: '' }],
    ['keyId', { keyId: 'a'.repeat(17) }],
    ['site', { site: 'Upper' }],
    ['ticketId', { ticketId: 'short' }],
    ['typeId', { typeId: '' }],
    ['typeId', { typeId: 'a'.repeat(65) }],
    ['typeId', { typeId: 'bad\u0001' }],
    ['typeId', { typeId: 'lone\ud800' }],
    ['visitDate', { visitDate: '2025-02-30' }],
    ['visitDate', { visitDate: '1999-12-31' }],
    ['visitDate', { visitDate: '2179-06-07' }],
    ['slot', { slotStart: '09:00', slotEnd: null }],
    ['slot', { slotStart: '10:00', slotEnd: '09:00' }],
    ['slot', { slotStart: '24:00', slotEnd: '24:00' }],
    ['slot', { slotStart: '9:00', slotEnd: '10:00' }],
    ['persons', { persons: 0 }],
    ['persons', { persons: 101 }],
    ['persons', { persons: 1.5 }],
    ['issuedAt', { issuedAt: -1 }],
    ['issuedAt', { issuedAt: 2 ** 32 }],
  ])('encode rejects a bad %s', (field, patch) => {
    expect(() => encodeOfflinePayload({ ...body, keyId: 'k1', ...patch })).toThrow(field);
  });

  it('decode rejects malformed bytes', () => {
    const good = encodeOfflinePayload({ ...body, keyId: 'k1' });
    const patched = (at: number, v: number) => {
      const b = Buffer.from(good);
      b[at] = v;
      return b;
    };
    const tail = good.length - 11; // visitDate offset
    expect(decodeOfflinePayload(Buffer.alloc(0))).toEqual({ error: 'truncated payload' });
    expect(decodeOfflinePayload(good.subarray(0, good.length - 1))).toEqual({ error: 'truncated payload' });
    expect(decodeOfflinePayload(Buffer.concat([good, Buffer.from([0])]))).toEqual({ error: 'trailing bytes' });
    expect(decodeOfflinePayload(patched(0, 2))).toEqual({ error: 'unsupported payload version' });
    expect(decodeOfflinePayload(patched(1, 0))).toEqual({ error: 'bad key id' });
    expect(decodeOfflinePayload(patched(2, 0x80))).toEqual({ error: 'bad key id' });
    expect(decodeOfflinePayload(patched(good.length - 5, 0))).toEqual({ error: 'bad persons' });
    expect(decodeOfflinePayload(patched(good.length - 5, 101))).toEqual({ error: 'bad persons' });
    expect(decodeOfflinePayload(patched(tail + 2, 0xff))).toMatchObject({ error: expect.stringMatching(/slot/) });
    const noEnd = Buffer.from(good);
    noEnd.writeUInt16BE(0xffff, tail + 4);
    expect(decodeOfflinePayload(noEnd)).toEqual({ error: 'slot start and end go together' });
    const typeAt = good.indexOf(Buffer.from('成人票')); // invalid UTF-8 in the type id
    expect(decodeOfflinePayload(patched(typeAt, 0xff))).toEqual({ error: 'bad type id' });
  });
});

describe('parseTicketCode ST2', () => {
  const text = issueOfflineTicket(k1.signing, body);
  const [payloadText, sigText] = text.slice(4).split('.') as [string, string];

  it('parses and verifies a fresh code', () => {
    const code = st2(text);
    expect(code.keyId).toBe('k2025a');
    expect(code.signedText).toBe(`ST2:${payloadText}`);
    expect(code.signature.length).toBe(64);
    expect(verifyOfflineTicket(code, trusted, TODAY)).toEqual({ ok: true, payload: { ...body, keyId: 'k2025a' } });
    expect(text.length).toBeLessThan(180);
  });

  it.each([
    ['no dot', () => `ST2:${payloadText}`, 'missing signature'],
    ['two dots', () => `${text}.x`, 'extra separator'],
    ['empty payload', () => `ST2:.${sigText}`, 'empty payload'],
    ['padding', () => `ST2:${payloadText}=.${sigText}`, 'bad payload encoding'],
    ['std alphabet', () => `ST2:${payloadText}+.${sigText}`, 'bad payload encoding'],
    ['inner space', () => `ST2:${payloadText.slice(0, 5)} ${payloadText.slice(5)}.${sigText}`, 'bad payload encoding'],
    ['short sig', () => `ST2:${payloadText}.${SIG.slice(0, 84)}`, 'bad signature length'],
    ['long sig', () => `ST2:${payloadText}.${b64(Buffer.alloc(65))}`, 'bad signature length'],
    ['sig length 1 mod 4', () => `ST2:${payloadText}.${SIG}AAA`, 'bad signature encoding'],
    ['non-canonical sig bits', () => `ST2:${payloadText}.${SIG.slice(0, -1)}${SIG.endsWith('w') ? 'x' : 'B'}`, 'bad signature encoding'],
    ['trailing byte', () => `ST2:${b64(Buffer.concat([Buffer.from(payloadText, 'base64url'), Buffer.from([1])]))}.${SIG}`, 'trailing bytes'],
    ['chopped payload', () => `ST2:${b64(Buffer.from(payloadText, 'base64url').subarray(0, 20))}.${SIG}`, 'truncated payload'],
    ['too long', () => `ST2:${'A'.repeat(600)}.${SIG}`, 'too long'],
  ])('%s -> malformed_code', (_name, make, want) => {
    expect(parseTicketCode(make())).toEqual({ ok: false, reason: 'malformed_code', detail: want });
  });

  it('truncation at any position is malformed_code', () => {
    for (let n = 0; n < text.length; n++) expect(parseTicketCode(text.slice(0, n))).toMatchObject({ ok: false, reason: 'malformed_code' });
  });

  it('forged payload (byte altered, re-encoded) -> bad_signature', () => {
    const bytes = Buffer.from(payloadText, 'base64url');
    bytes[bytes.length - 5] = 5; // persons 3 -> 5
    const forged = st2(`ST2:${b64(bytes)}.${sigText}`);
    expect(forged.payload.persons).toBe(5);
    expect(verifyOfflineTicket(forged, trusted, TODAY)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('re-signed by an untrusted key claiming a trusted id -> bad_signature', () => {
    const rogue = loadSigningKey('k2025a', generateSigningKeyPair('k2025a').privateKeyPem);
    expect(verifyOfflineTicket(st2(issueOfflineTicket(rogue, body)), trusted, TODAY)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('signed under an unknown key id -> unknown_key', () => {
    const other = makeKey('k1999');
    expect(verifyOfflineTicket(st2(issueOfflineTicket(other.signing, body)), trusted, TODAY)).toMatchObject({ ok: false, reason: 'unknown_key' });
  });

  it('signature over another text does not transfer (domain separation)', () => {
    const code = st2(text);
    const other = st2(issueOfflineTicket(k1.signing, { ...body, persons: 4 }));
    expect(verifyOfflineTicket({ ...other, signature: code.signature }, trusted, TODAY)).toMatchObject({ reason: 'bad_signature' });
  });

  it('key is valid through its notAfter date, then key_expired', () => {
    const code = st2(issueOfflineTicket(k2.signing, body));
    expect(verifyOfflineTicket(code, trusted, '2025-12-31').ok).toBe(true);
    expect(verifyOfflineTicket(code, trusted, '2026-01-01')).toMatchObject({ ok: false, reason: 'key_expired' });
  });

  it('rotation: codes from both trusted keys verify', () => {
    for (const k of [k1, k2]) {
      const res = verifyOfflineTicket(st2(issueOfflineTicket(k.signing, body)), trusted, TODAY);
      expect(res).toEqual({ ok: true, payload: { ...body, keyId: k.signing.keyId } });
    }
  });

  it('past visit dates still round-trip (date_expired is decided later)', () => {
    const res = verifyOfflineTicket(st2(issueOfflineTicket(k1.signing, { ...body, visitDate: '2024-01-02' })), trusted, TODAY);
    expect(res).toMatchObject({ ok: true, payload: { visitDate: '2024-01-02' } });
  });

  it('refuses to issue a code longer than gates accept', () => {
    const big = { ...body, site: 's'.repeat(63), ticketId: 't'.repeat(64), typeId: '票'.repeat(64) };
    expect(() => issueOfflineTicket(k1.signing, big)).toThrow(/at most 512/);
  });
});

describe('keys', () => {
  const keyInvalid = (fn: () => unknown, text: RegExp) => {
    try {
      fn();
    } catch (err) {
      expect(isStileError(err, 'KEY_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(text);
      return;
    }
    throw new Error('expected KEY_INVALID');
  };

  it('accepts raw base64url, base64 and PEM public keys', () => {
    const raw = Buffer.from(k1.pair.publicKey, 'base64url');
    expect(raw.length).toBe(32);
    const pem = createPublicKey(k1.signing.privateKey).export({ type: 'spki', format: 'pem' });
    const keys = loadTrustedKeys([
      { id: 'a', publicKey: k1.pair.publicKey },
      { id: 'b', publicKey: raw.toString('base64') },
      { id: 'c', publicKey: String(pem) },
    ]);
    expect([...keys.keys()]).toEqual(['a', 'b', 'c']);
    expect(keys.get('a')?.notAfter).toBeNull();
    for (const id of ['b', 'c']) expect(verifyOfflineTicket(st2(issueOfflineTicket({ ...k1.signing, keyId: id }, body)), keys, TODAY).ok).toBe(true);
  });

  it('rejects non-Ed25519 and garbage public keys, naming the key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    keyInvalid(() => loadTrustedKeys([{ id: 'rsa1', publicKey: rsa }]), /"rsa1".*not an Ed25519/);
    keyInvalid(() => loadTrustedKeys([{ id: 'short', publicKey: 'A'.repeat(40) }]), /"short".*30 bytes/);
    keyInvalid(() => loadTrustedKeys([{ id: 'junk', publicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }]), /"junk"/);
    keyInvalid(() => loadTrustedKeys([{ id: 'x', publicKey: 'not base64 at all!!' }]), /"x"/);
    keyInvalid(() => loadTrustedKeys([{ id: 'd', publicKey: k1.pair.publicKey }, { id: 'd', publicKey: k2.pair.publicKey }]), /duplicate/);
    keyInvalid(() => loadTrustedKeys([{ id: 'd', publicKey: k1.pair.publicKey, notAfter: '31/12/2025' }]), /notAfter/);
  });

  it('loadSigningKey rejects bad PEM and non-Ed25519 keys without echoing them', () => {
    const rsaPem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    keyInvalid(() => loadSigningKey('k1', rsaPem), /"k1".*Ed25519.*rsa/);
    keyInvalid(() => loadSigningKey('k1', 'SECRETGARBAGE'), /^(?!.*SECRETGARBAGE).*"k1"/);
    keyInvalid(() => loadSigningKey('bad id!', k1.pair.privateKeyPem), /bad id!/);
  });
});
