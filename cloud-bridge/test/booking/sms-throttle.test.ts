/**
 * The booking page's login code and the SMS module's per-phone throttle (1 text a minute):
 * a code asked for within a minute of the check-in text to the same phone is not sent, and
 * the route says so — 429 sms_code_throttled with Retry-After — instead of `sent: true`,
 * without using up the visitor's own code quota. Texts go through the payment simulator's
 * Alibaba Cloud SMS, on SQLite and PostgreSQL; the clock is moved past the minute.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PaymentSimulator } from '@stile/payment-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudBridge } from '../../src/bridge.js';
import { parseCatalogue, sha256Hex } from '../../src/core/catalogue.js';
import type { SmsSettings } from '../../src/modules/sms/settings.js';
import { DIALECTS, idNumber, testBridge, testDb, testSite, uniqueId, waitFor, type TestDb } from '../helpers.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PARTNER = 'throttle-partner-key-0123456789abcdef';
const WEB = 'throttle-web-key-0123456789abcdef';

describe.each(DIALECTS)('booking login codes and the SMS throttle, on %s', (dialect) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'stile-sms-throttle-'));
  let sim: PaymentSimulator;
  let db: TestDb;
  let bridge: CloudBridge;
  let base = '';
  let site = '';
  let offset = 0;
  const clock = (): Date => new Date(Date.now() + offset);

  beforeAll(async () => {
    sim = new PaymentSimulator({ stateDir, sms: { deliveryDelayMs: 30 } });
    await sim.listen();
    const cfg = (sim.merchantConfig() as { sms: Json }).sms;
    const templates = cfg.templates.aliyun as Json;
    const s = testSite(['g1']);
    site = s.config.id;
    const settings: SmsSettings = {
      provider: 'aliyun',
      aliyun: { accessKeyId: cfg.aliyun.accessKeyId, accessKeySecret: readFileSync(cfg.aliyun.accessKeySecretFile, 'utf8').trim(), endpoint: sim.baseUrl },
      phoneHashKey: randomBytes(24).toString('hex'),
      limits: { perMinute: 1, perHour: 5, perDay: 10, qps: 20, concurrency: 8, queue: 100, retries: 2 },
      timeoutMs: 2000,
      // The booking page's login code is the `code` template (the simulator's approved verification template).
      sites: { [site]: { signName: cfg.signName, defaultLang: 'zh-CN', templates: { checkin: templates.checkin, code: templates.verify } } },
    };
    db = await testDb(dialect);
    const catalogue = parseCatalogue({
      name: { 'zh-CN': '测试景区', en: 'Test Park' },
      ticketTypes: [{ id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000 }],
      slots: [{ id: 's10', start: '10:00', end: '12:00', quota: 1000 }],
      channels: [
        { id: 'web', kind: 'online', apiKeySha256: sha256Hex(WEB), payment: 'provider' },
        { id: 'partner', kind: 'online', apiKeySha256: sha256Hex(PARTNER) },
      ],
      refundReasons: [{ code: 'weather', label: 'Weather' }],
      realName: { ticketsPerIdPerDay: 5, bookingHorizonDays: 400 },
    });
    bridge = await testBridge(
      db,
      [{ ...s.config, sales: { catalogue, capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: 'throttle-id-hash-key-0123456789abcdef', staffTokenSha256: createHash('sha256').update('staff').digest('hex'), bookingChannel: 'web' } }],
      { smsSettings: settings, clock, salesClock: clock },
    );
    base = `http://127.0.0.1:${bridge.httpPort}`;
  });
  afterAll(async () => {
    await bridge?.close();
    await sim?.close();
    await db?.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json, headers: res.headers };
  };
  const partner = (method: string, path: string, body?: unknown) => call(method, path, body, { authorization: `Bearer ${PARTNER}`, 'idempotency-key': uniqueId('idem') });
  const askCode = (phone: string) => call('POST', `/v1/book/${site}/sms-code`, { phone }, { 'x-forwarded-for': '198.51.100.7' });
  const textsTo = (phone: string, templateId: string) => sim.sms.texts.filter((t) => t.phone.endsWith(phone) && t.templateId === templateId);

  it('a login code within the minute of the check-in text: 429 with Retry-After; after the minute: sent, and it logs in', async () => {
    const phone = `137${String(process.pid % 10000).padStart(4, '0')}${dialect === 'sqlite' ? '0001' : '0002'}`;
    const cfg = (sim.merchantConfig() as { sms: Json }).sms;
    const codeTemplate = String(cfg.templates.aliyun.verify['zh-CN'].id);
    const checkinTemplate = String(cfg.templates.aliyun.checkin['zh-CN'].id);

    // A paid order: its check-in code goes to the phone.
    const o = await partner('POST', '/v1/channel/orders', { typeId: 'adult', date: '2027-03-10', slotId: 's10', contactPhone: phone, visitors: [{ name: '游客', idNumber: idNumber(700 + (dialect === 'sqlite' ? 1 : 2)) }] });
    expect(o.status).toBe(201);
    expect((await partner('POST', `/v1/channel/orders/${o.body.orderId}/pay`, { paymentRef: uniqueId('ref'), amountFen: o.body.amountFen })).status).toBe(200);
    await waitFor(() => textsTo(phone, checkinTemplate).length === 1, 'the check-in text at the provider');

    // 20 s later the visitor asks for a login code: the SMS module will not text the phone again within the minute.
    offset += 20_000;
    const refused = await askCode(phone);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: 'sms_code_throttled' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(35);
    expect(retryAfter).toBeLessThanOrEqual(41);
    expect(refused.body.retryAfterSec).toBe(retryAfter);
    expect(textsTo(phone, codeTemplate)).toHaveLength(0);

    // Nothing of the visitor's own quota was used: asking again is refused by the SMS throttle, not by the page's one-code-a-minute rule.
    const again = await askCode(phone);
    expect(again.status).toBe(429);
    expect(again.body.message).not.toMatch(/one code per/);
    expect(await bridge.store.db.selectFrom('booking_codes').selectAll().execute()).toEqual([]);

    // After the minute: sent, for real, and the code logs in.
    offset += Number(again.headers.get('retry-after')) * 1000 + 1000;
    const sent = await askCode(phone);
    expect(sent.status).toBe(200);
    expect(sent.body.sent).toBe(true);
    const text = await waitFor(() => textsTo(phone, codeTemplate)[0], 'the login code at the provider');
    const code = Array.isArray(text.params) ? text.params[0] : Object.values(text.params)[0];
    expect(code).toMatch(/^\d{6}$/);
    const session = await call('POST', `/v1/book/${site}/session`, { phone, code });
    expect(session.status).toBe(200);
    expect(session.body.token).toEqual(expect.any(String));
  });
});
