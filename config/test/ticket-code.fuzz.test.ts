import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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

const RUNS = 3000;
const TODAY = '2025-05-01';
const pair = generateSigningKeyPair('fz1');
const key = loadSigningKey('fz1', pair.privateKeyPem);
const trusted = loadTrustedKeys([{ id: 'fz1', publicKey: pair.publicKey }]);

/** Every ok result must be one the strict grammar would produce. */
function assertWellFormed(p: ParsedCode): void {
  if (!p.ok) {
    expect(p.reason).toBe('malformed_code');
    expect(typeof p.detail).toBe('string');
    return;
  }
  if (p.kind === 'st1') {
    expect(p.ticketId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    return;
  }
  expect(p.signature.length).toBe(64);
  expect(p.keyId).toBe(p.payload.keyId);
  expect(p.signedText).toBe(`ST2:${encodeOfflinePayload(p.payload).toString('base64url')}`);
}

const parseNeverThrows = (s: string) => {
  let p: ParsedCode | undefined;
  expect(() => (p = parseTicketCode(s))).not.toThrow();
  assertWellFormed(p as ParsedCode);
};

const idChars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-');
const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const payloadArb: fc.Arbitrary<Omit<OfflineTicketPayload, 'keyId'>> = fc.record({
  site: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
  ticketId: fc.string({ unit: idChars, minLength: 8, maxLength: 40 }),
  typeId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => s.length <= 64 && ![...s].some((c) => c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f))),
  visitDate: fc.integer({ min: 0, max: 0xffff }).map((d) => new Date(Date.UTC(2000, 0, 1) + d * 86_400_000).toISOString().slice(0, 10)),
  slot: fc.option(fc.tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 1440 }))),
  persons: fc.integer({ min: 1, max: 100 }),
  issuedAt: fc.integer({ min: 0, max: 0xffffffff }),
}).map(({ slot, ...rest }) => {
  const [a, b] = slot ?? [0, 0];
  const ok = slot !== null && a < b;
  return { ...rest, slotStart: ok ? hhmm(a) : null, slotEnd: ok ? hhmm(b) : null };
});

describe('parseTicketCode never throws on arbitrary input', () => {
  it('ascii / grapheme strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 600 }), parseNeverThrows), { numRuns: RUNS });
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), parseNeverThrows), { numRuns: RUNS });
  });
  it('full unicode, including lone surrogates', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), parseNeverThrows), { numRuns: RUNS });
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 300 }).map((a) => String.fromCharCode(...a));
    fc.assert(fc.property(units, parseNeverThrows), { numRuns: RUNS });
  });
  it('random bytes as latin1 and utf8, with and without a valid prefix', () => {
    const bytes = fc.uint8Array({ maxLength: 700 });
    const prefix = fc.constantFrom('', 'ST1:', 'ST2:', 'st2:', ']Q1ST2:');
    fc.assert(
      fc.property(prefix, bytes, (pre, b) => {
        parseNeverThrows(pre + Buffer.from(b).toString('latin1'));
        parseNeverThrows(pre + Buffer.from(b).toString('utf8'));
        parseNeverThrows(`${pre}${Buffer.from(b).toString('base64url')}.${Buffer.from(b).toString('base64url')}`);
      }),
      { numRuns: RUNS },
    );
  });
  it('random payload bytes never decode to an unencodable payload', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
        const d = decodeOfflinePayload(Buffer.from([1, ...b]));
        if (!('error' in d)) expect(encodeOfflinePayload(d).equals(Buffer.from([1, ...b]))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
  it('normalizeScan only trims and swaps case', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => {
        const n = normalizeScan(s);
        expect(n.length).toBeLessThanOrEqual(s.length);
        const fold = (t: string) => t.replace(/[A-Z]/g, (c) => c.toLowerCase()); // ASCII only, like caps lock
        expect(fold(s)).toContain(fold(n));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('valid payloads', () => {
  it('encode/decode and issue/parse/verify round-trip', () => {
    fc.assert(
      fc.property(payloadArb, (p) => {
        expect(decodeOfflinePayload(encodeOfflinePayload({ ...p, keyId: 'fz1' }))).toEqual({ ...p, keyId: 'fz1' });
        const code = parseTicketCode(issueOfflineTicket(key, p));
        if (!code.ok || code.kind !== 'st2') throw new Error(JSON.stringify(code));
        expect(verifyOfflineTicket(code, trusted, TODAY)).toEqual({ ok: true, payload: { ...p, keyId: 'fz1' } });
      }),
      { numRuns: 300 }, // each run signs and verifies once
    );
  });
});

describe('mutated ST2 codes', () => {
  const originals = fc.sample(payloadArb, { numRuns: 20, seed: 42 }).map((p) => issueOfflineTicket(key, p));
  const near = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:=+/ \n\u0000é');
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), ch: near }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), ch: fc.constant('') }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), ch: near }),
  );
  const mutate = (s: string, ms: { op: 'flip' | 'delete' | 'insert'; at: number; ch: string }[]) =>
    ms.reduce((t, m) => {
      const i = m.at % (t.length + 1);
      if (m.op === 'insert') return t.slice(0, i) + m.ch + t.slice(i);
      return t.slice(0, i) + (m.op === 'flip' ? m.ch : '') + t.slice(i + 1);
    }, s);

  it('never throw, and never verify unless they normalise to the original', () => {
    let parsed = 0;
    fc.assert(
      fc.property(fc.constantFrom(...originals), fc.array(mutation, { minLength: 1, maxLength: 3 }), (orig, ms) => {
        const text = mutate(orig, ms);
        const p = parseTicketCode(text);
        assertWellFormed(p);
        if (!p.ok || p.kind !== 'st2') return;
        parsed++;
        const res = verifyOfflineTicket(p, trusted, TODAY);
        // Scanner noise (a stripped space or NUL at an end) may leave the code intact.
        if (res.ok) expect(normalizeScan(text)).toBe(orig);
        else expect(['bad_signature', 'unknown_key']).toContain(res.reason);
      }),
      { numRuns: 5000 },
    );
    expect(parsed).toBeGreaterThan(0);
  });

  it('flipping a payload bit and re-encoding is never accepted', () => {
    fc.assert(
      fc.property(fc.constantFrom(...originals), fc.nat(), fc.integer({ min: 0, max: 7 }), (orig, at, bit) => {
        const [payload, sig] = orig.slice(4).split('.') as [string, string];
        const bytes = Buffer.from(payload, 'base64url');
        const i = at % bytes.length;
        bytes[i] = (bytes[i] as number) ^ (1 << bit);
        const p = parseTicketCode(`ST2:${bytes.toString('base64url')}.${sig}`);
        assertWellFormed(p);
        if (p.ok && p.kind === 'st2') expect(verifyOfflineTicket(p, trusted, TODAY).ok).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});
