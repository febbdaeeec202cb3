// Attacks on the booking page API as tests (issue #16 point 5), on SQLite and PostgreSQL: no
// or a forged session, another phone's order, guessing the SMS code, replaying it, asking
// for codes too often, expired codes and sessions, and days the sales rules refuse.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers.js';
import { DAY, FULL_DAY, idem, KEYS, newPhone, STAFF, startBookPark, type BookPark } from './harness.js';

const otherCode = (code: string): string => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe.each(DIALECTS)('booking page API, attacks (%s)', (dialect) => {
  let p: BookPark;
  beforeAll(async () => {
    p = await startBookPark(dialect);
  }, 30_000);
  afterAll(async () => {
    await p?.close();
  });

  it('without a session the visitor\'s routes answer 401 session_required; a garbled or forged token too', async () => {
    const routes: [string, string, unknown?][] = [
      ['GET', '/orders'],
      ['POST', '/orders', { typeId: 'adult', date: DAY, slotId: 's10', visitors: p.visitors(1) }],
      ['GET', '/orders/Oanything'],
      ['POST', '/orders/Oanything/pay', { provider: 'wechat', method: 'qr' }],
      ['POST', '/orders/Oanything/refund', { reason: 'weather' }],
      ['POST', '/orders/Oanything/rebook', { date: DAY }],
    ];
    const forged = `bk1_${'A'.repeat(43)}`;
    for (const token of [undefined, 'garbage', forged, `${forged}x`, 'bk1_../../etc/passwd']) {
      for (const [method, path, body] of routes) {
        const r = await p.book(method, path, body, { ...(token ? { token } : {}), headers: idem() });
        expect([r.status, r.body.error], `${method} ${path} with ${token ?? 'no token'}`).toEqual([401, 'session_required']);
      }
    }
    // A real token with one character changed is another token: refused.
    const token = await p.login(newPhone());
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect((await p.book('GET', '/orders', undefined, { token: flipped })).status).toBe(401);
    expect((await p.book('GET', '/orders', undefined, { token })).status).toBe(200);
  });

  it('a session row read from the store does not give the phone, and a token of another site is refused there', async () => {
    const phone = newPhone();
    const token = await p.login(phone);
    const row = await p.bridge.store.db.selectFrom('booking_sessions').selectAll().where('token_hash', '=', createHash('sha256').update(token).digest('hex')).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(phone);
    expect(row.phone_masked).toBe(`${phone.slice(0, 3)}****${phone.slice(7)}`);
    const codes = await p.bridge.store.db.selectFrom('booking_codes').selectAll().execute();
    expect(JSON.stringify(codes)).not.toContain(phone);
    expect((await p.book('GET', '/orders', undefined, { token, site: 'another-site' })).body.error).toBe('unknown_site');
  });

  it('another phone\'s order answers 404 unknown_order, exactly like no order, for every route', async () => {
    const owner = await p.login(newPhone());
    const order = await p.book('POST', '/orders', { typeId: 'adult', date: DAY, slotId: 's10', visitors: p.visitors(1) }, { token: owner, headers: idem() });
    expect(order.status).toBe(201);
    const id = String(order.body.orderId);
    const thief = await p.login(newPhone());
    const none = await p.book('GET', '/orders/Onosuchorder', undefined, { token: thief });
    for (const [method, path, body] of [
      ['GET', `/orders/${id}`],
      ['POST', `/orders/${id}/pay`, { provider: 'alipay', method: 'qr' }],
      ['POST', `/orders/${id}/refund`, { reason: 'weather' }],
      ['POST', `/orders/${id}/rebook`, { date: DAY, slotId: 'tiny' }],
    ] as [string, string, unknown?][]) {
      const r = await p.book(method, path, body, { token: thief });
      expect([r.status, r.body.error], `${method} ${path}`).toEqual([404, 'unknown_order']);
      expect(r.body.message).toBe(none.body.message.replace('Onosuchorder', id));
    }
    expect((await p.book('GET', '/orders', undefined, { token: thief })).body.orders).toEqual([]);
    // Nothing happened to it.
    expect((await p.book('GET', `/orders/${id}`, undefined, { token: owner })).body.status).toBe('pending');
  });

  it('five wrong codes kill the code: the right one is refused after', async () => {
    const phone = newPhone();
    expect((await p.book('POST', '/sms-code', { phone }, { headers: { 'x-forwarded-for': '192.0.2.10' } })).status).toBe(200);
    const code = p.lastCode(phone)!;
    for (let left = 4; left >= 0; left--) {
      const r = await p.book('POST', '/session', { phone, code: otherCode(code) });
      expect([r.status, r.body.error, r.body.attemptsLeft]).toEqual([401, 'sms_code_wrong', left]);
    }
    const late = await p.book('POST', '/session', { phone, code });
    expect([late.status, late.body.error]).toEqual([401, 'sms_code_expired']);
    expect(late.body.message).toContain('wrong tries');
  });

  it('a code works once: replaying it is refused; a code sent to one phone does not log in another', async () => {
    const phone = newPhone();
    await p.book('POST', '/sms-code', { phone }, { headers: { 'x-forwarded-for': '192.0.2.11' } });
    const code = p.lastCode(phone)!;
    const other = newPhone();
    expect((await p.book('POST', '/session', { phone: other, code })).body.error).toBe('sms_code_expired');
    expect((await p.book('POST', '/session', { phone, code })).status).toBe(200);
    const replay = await p.book('POST', '/session', { phone, code });
    expect([replay.status, replay.body.error]).toEqual([401, 'sms_code_expired']);
  });

  it('malformed logins are 400 invalid_request, before any code is looked at', async () => {
    for (const body of [{ phone: '12345', code: '123456' }, { phone: newPhone(), code: '12345' }, { phone: newPhone(), code: 'abcdef' }, { phone: newPhone() }]) {
      const r = await p.book('POST', '/session', body);
      expect([r.status, r.body.error]).toEqual([400, 'invalid_request']);
    }
    expect((await p.book('POST', '/sms-code', { phone: '+8613800138000' })).body.error).toBe('invalid_request');
  });

  it('codes are throttled: one per phone per minute and 10 a day (429, Retry-After), and per client address', async () => {
    const phone = newPhone();
    const from = (n: number) => ({ headers: { 'x-forwarded-for': `192.0.2.${100 + n}` } });
    expect((await p.book('POST', '/sms-code', { phone }, from(0))).status).toBe(200);
    const again = await p.book('POST', '/sms-code', { phone }, from(1));
    expect([again.status, again.body.error]).toEqual([429, 'sms_code_throttled']);
    const wait = Number(again.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(50);
    expect(wait).toBeLessThanOrEqual(60);
    expect(again.body.retryAfterSec).toBe(wait);
    for (let i = 2; i <= 10; i++) {
      p.advance(61_000);
      expect((await p.book('POST', '/sms-code', { phone }, from(i))).status, `code ${i}`).toBe(200);
    }
    p.advance(61_000);
    const eleventh = await p.book('POST', '/sms-code', { phone }, from(11));
    expect([eleventh.status, eleventh.body.error]).toEqual([429, 'sms_code_throttled']);
    expect(Number(eleventh.headers.get('retry-after'))).toBeGreaterThan(3600 * 20);
    // Per client address: 30 an hour, whatever the phones; another address is not affected.
    const addr = { headers: { 'x-forwarded-for': '203.0.113.77' } };
    for (let i = 0; i < 30; i++) expect((await p.book('POST', '/sms-code', { phone: newPhone() }, addr)).status).toBe(200);
    const flood = await p.book('POST', '/sms-code', { phone: newPhone() }, addr);
    expect([flood.status, flood.body.error]).toEqual([429, 'sms_code_throttled']);
    expect((await p.book('POST', '/sms-code', { phone: newPhone() }, { headers: { 'x-forwarded-for': '203.0.113.78' } })).status).toBe(200);
  });

  it('orders on a sold-out slot, a paused channel and a red day are refused with the sales codes', async () => {
    const token = await p.login(newPhone());
    const soldOut = await p.book('POST', '/orders', { typeId: 'adult', date: DAY, slotId: 'tiny', visitors: p.visitors(3) }, { token, headers: idem() });
    expect([soldOut.status, soldOut.body.error]).toEqual([409, 'sold_out']);
    // The kiosk fills FULL_DAY to red (20 persons).
    const kiosk = await p.call('POST', '/v1/channel/orders', { typeId: 'adult', date: FULL_DAY, slotId: 's10', contactPhone: '13800138000', visitors: p.visitors(20) }, { authorization: `Bearer ${KEYS.kiosk}`, ...idem() });
    expect(kiosk.status).toBe(201);
    const red = await p.book('POST', '/orders', { typeId: 'adult', date: FULL_DAY, slotId: 's10', visitors: p.visitors(1) }, { token, headers: idem() });
    expect([red.status, red.body.error]).toEqual([409, 'capacity_red']);
    const avail = await p.book('GET', `/availability?date=${FULL_DAY}`);
    expect(avail.body).toMatchObject({ open: false, capacity: { remaining: 0 } });
    // Staff pause the booking channel.
    const staff = { authorization: `Bearer ${STAFF}` };
    expect((await p.call('POST', `/v1/staff/sites/${p.site}/channels/web/pause`, { by: 'staff:li', reason: 'test' }, staff)).status).toBe(200);
    const paused = await p.book('POST', '/orders', { typeId: 'adult', date: DAY, slotId: 's10', visitors: p.visitors(1) }, { token, headers: idem() });
    expect([paused.status, paused.body.error]).toEqual([409, 'channel_paused']);
    expect((await p.book('GET', `/availability?date=${DAY}`)).body).toMatchObject({ paused: true, open: false });
    expect((await p.call('POST', `/v1/staff/sites/${p.site}/channels/web/resume`, { by: 'staff:li', reason: 'test' }, staff)).status).toBe(200);
  });

  it('a site without a booking channel, or no site at all, has no booking routes (404 unknown_site)', async () => {
    for (const path of ['/info', `/availability?date=${DAY}`]) {
      const r = await p.book('GET', path, undefined, { site: 'no-such-site' });
      expect([r.status, r.body.error]).toEqual([404, 'unknown_site']);
    }
    expect((await p.book('POST', '/sms-code', { phone: newPhone() }, { site: 'no-such-site' })).status).toBe(404);
  });

  it('logging out ends the session everywhere', async () => {
    const token = await p.login(newPhone());
    expect((await p.book('DELETE', '/session', undefined, { token })).body).toEqual({ ended: true });
    expect((await p.book('GET', '/orders', undefined, { token })).body.error).toBe('session_required');
  });

  // Last: these move the sales clock by minutes and a day.
  it('a code expires after 5 minutes, a session after 24 hours', async () => {
    const phone = newPhone();
    const token = await p.login(phone);
    await p.book('POST', '/sms-code', { phone: newPhone() }, { headers: { 'x-forwarded-for': '192.0.2.200' } });
    const late = newPhone();
    await p.book('POST', '/sms-code', { phone: late }, { headers: { 'x-forwarded-for': '192.0.2.201' } });
    p.advance(5 * 60_000 + 1000);
    const expired = await p.book('POST', '/session', { phone: late, code: p.lastCode(late) });
    expect([expired.status, expired.body.error]).toEqual([401, 'sms_code_expired']);
    expect((await p.book('GET', '/orders', undefined, { token })).status).toBe(200);
    p.advance(24 * 3_600_000);
    const old = await p.book('GET', '/orders', undefined, { token });
    expect([old.status, old.body.error]).toEqual([401, 'session_required']);
  });
});
