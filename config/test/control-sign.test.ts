import { describe, expect, it } from 'vitest';
import { canonicalJson, generateSigningKeyPair, GateCommandSchema, loadSigningKey, loadTrustedKeys, signControl, verifyControl } from '../src/index.js';

const pair = generateSigningKeyPair('c1');
const key = loadSigningKey('c1', pair.privateKeyPem);
const trusted = loadTrustedKeys([{ id: 'c1', publicKey: pair.publicKey, notAfter: '2027-12-31' }]);
const cmd = { v: 1 as const, cmdId: 'cmd-00000001', site: 'demo-park', gate: 'east-1', action: 'open' as const, issuedBy: 'staff:li', at: '2026-11-25T10:00:00Z', expiresAt: '2026-11-25T10:05:00Z' };

describe('signed control messages', () => {
  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });

  it('a signed command verifies, whatever the key order it arrives in, and passes the schema', () => {
    const signed = signControl(cmd, key);
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(signed).reverse()))) as Record<string, unknown>;
    expect(verifyControl(reordered, trusted, '2026-11-25')).toEqual({ ok: true, keyId: 'c1' });
    expect(GateCommandSchema.safeParse(signed).success).toBe(true);
  });

  it('refuses a changed field, another gate, an unsigned message, an unknown or expired key', () => {
    const signed = signControl(cmd, key);
    expect(verifyControl({ ...signed, gate: 'west-2' }, trusted, '2026-11-25')).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyControl({ ...signed, action: 'emergency-open' }, trusted, '2026-11-25')).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyControl(cmd, trusted, '2026-11-25')).toMatchObject({ ok: false, reason: 'unsigned' });
    const other = loadSigningKey('c2', generateSigningKeyPair('c2').privateKeyPem);
    expect(verifyControl(signControl(cmd, other), trusted, '2026-11-25')).toMatchObject({ ok: false, reason: 'unknown_key' });
    expect(verifyControl(signed, trusted, '2028-01-01')).toMatchObject({ ok: false, reason: 'key_expired' });
  });
});
