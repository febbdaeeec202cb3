// The booking module's pure parts and its configuration: throttling windows, the client
// address, the phone sealed under the session token, and which channels may be the booking
// page's (cloud.yaml refusals name the field and say why).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '@stile/config';
import { loadCloudConfig } from '../../src/config.js';
import { bookingChannelProblem } from '../../src/modules/booking/config.js';
import { clientAddress } from '../../src/modules/booking/client-address.js';
import { isToken, newCode, newToken, openPhone, sealPhone, SiteSecrets } from '../../src/modules/booking/secrets.js';
import { admit } from '../../src/modules/booking/throttle.js';
import { silentLog, testBridge, testDb, testSite } from '../helpers.js';
import { catalogue } from './harness.js';

describe('booking: pure parts', () => {
  it('a throttling window: the gap, the window\'s limit, and a new window after it', () => {
    const rule = { max: 3, windowMs: 1000, minGapMs: 100 };
    let w = (admit(undefined, 0, rule) as { next: { windowStart: number; count: number; lastAt: number } }).next;
    expect(w).toEqual({ windowStart: 0, count: 1, lastAt: 0 });
    expect(admit(w, 50, rule)).toEqual({ ok: false, retryAfterSec: 1, limit: 'gap' });
    for (const at of [100, 200]) w = (admit(w, at, rule) as { next: typeof w }).next;
    expect(admit(w, 300, rule)).toEqual({ ok: false, retryAfterSec: 1, limit: 'window' });
    expect(admit(w, 1000, rule)).toEqual({ ok: true, next: { windowStart: 1000, count: 1, lastAt: 1000 } });
  });

  it('the client address: the socket\'s; X-Forwarded-For only through a proxy on loopback, and only a real address', () => {
    expect(clientAddress('203.0.113.5', '198.51.100.1')).toBe('203.0.113.5');
    expect(clientAddress('127.0.0.1', '10.0.0.1, 198.51.100.1')).toBe('198.51.100.1');
    expect(clientAddress('::ffff:127.0.0.1', '2001:db8::1')).toBe('2001:db8::1');
    expect(clientAddress('127.0.0.1', 'not-an-address')).toBe('127.0.0.1');
    expect(clientAddress(undefined, undefined)).toBe('unknown');
  });

  it('codes are 6 digits; tokens are 256 bits; the phone opens only under its own token, untampered', () => {
    const codes = new Set(Array.from({ length: 200 }, () => newCode()));
    for (const c of codes) expect(c).toMatch(/^\d{6}$/);
    expect(codes.size).toBeGreaterThan(190);
    const token = newToken();
    expect(isToken(token)).toBe(true);
    expect(isToken(`${token}=`)).toBe(false);
    const sealed = sealPhone(token, '13800138000');
    expect(sealed).not.toContain('13800138000');
    expect(openPhone(token, sealed)).toBe('13800138000');
    expect(openPhone(newToken(), sealed)).toBeUndefined();
    const raw = Buffer.from(sealed, 'base64url');
    raw[14]! ^= 1;
    expect(openPhone(token, raw.toString('base64url'))).toBeUndefined();
    expect(openPhone(token, 'short')).toBeUndefined();
  });

  it('keyed hashes differ per site and bind the code to its phone', () => {
    const pem = generateSigningKeyPair('k').privateKeyPem;
    const a = new SiteSecrets(pem, 'a');
    const b = new SiteSecrets(pem, 'b');
    expect(a.phoneHash('13800138000')).not.toBe(b.phoneHash('13800138000'));
    expect(a.codeHash(a.phoneHash('13800138000'), '123456')).not.toBe(a.codeHash(a.phoneHash('13800138001'), '123456'));
  });

  it('the booking channel must be a channel of the catalogue, online, paid through the providers', () => {
    const c = catalogue();
    expect(bookingChannelProblem(c, 'web')).toBeUndefined();
    expect(bookingChannelProblem(c, 'nope')).toMatch(/not a channel of the catalogue \(its channels: web, kiosk, partner\)/);
    expect(bookingChannelProblem(c, 'kiosk')).toMatch(/kind: kiosk.*kind: online/);
    expect(bookingChannelProblem(c, 'partner')).toMatch(/payment: partner.*payment: provider/);
  });
});

describe('booking: configuration', () => {
  const pair = generateSigningKeyPair('ck1');
  const write = (sales: string[], extra: string[] = []): string => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-book-cfg-'));
    writeFileSync(join(dir, 'control.pem'), pair.privateKeyPem);
    writeFileSync(join(dir, 'catalogue.json'), JSON.stringify({ ticketTypes: [{ id: 'adult', name: 'Adult', priceFen: 8000 }], channels: [{ id: 'web', kind: 'online', payment: 'provider', apiKeySha256: 'a'.repeat(64) }, { id: 'mt', kind: 'online', apiKeySha256: 'b'.repeat(64) }], refundReasons: [{ code: 'weather', label: 'Weather' }] }));
    const file = join(dir, 'cloud.yaml');
    writeFileSync(
      file,
      ['mqtt: { url: "mqtt://h" }', 'sites:', '  - id: park1', '    controlKey: { id: ck1, privateKeyFile: control.pem }', '    sales:', '      catalogueFile: catalogue.json', '      capacity: { daily: 100 }', `      idHashKey: ${'k'.repeat(32)}`, ...sales.map((l) => `      ${l}`), ...extra, ''].join('\n'),
    );
    return file;
  };
  const refusal = (file: string): string => {
    try {
      loadCloudConfig(file, {});
    } catch (err) {
      return (err as Error).message;
    }
    return '';
  };

  it('refuses a partner-paid channel, and a booking site without payments, naming the field', () => {
    expect(refusal(write(['bookingChannel: mt']))).toMatch(/sites\[0\]\.sales\.bookingChannel: channel "mt" is payment: partner/);
    expect(refusal(write(['bookingChannel: web']))).toMatch(/sites\[0\]\.sales\.bookingChannel: the booking page takes the money through WeChat Pay \/ Alipay: configure sites\[0\]\.payments/);
  });

  it('startCloudBridge refuses a channel that cannot be the booking page\'s', async () => {
    const db = await testDb('sqlite');
    const site = testSite(['g1']);
    try {
      await expect(testBridge(db, [{ ...site.config, sales: { catalogue: catalogue(), capacity: { daily: 100, yellow: 0.7, orange: 0.85 }, idHashKey: 'k'.repeat(32), bookingChannel: 'kiosk' } }], { logger: silentLog })).rejects.toThrow(/bookingChannel: channel "kiosk" is kind: kiosk/);
    } finally {
      await db.cleanup();
    }
  });
});
