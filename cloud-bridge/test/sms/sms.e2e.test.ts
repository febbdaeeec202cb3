/**
 * SMS through Alibaba Cloud and Tencent Cloud, end to end against the simulator: a sale texts
 * the check-in code (signed request, approved template), the provider's receipt marks it
 * delivered, staff see it; provider faults end in the right state and never fail a sale;
 * forged receipts change nothing.
 */
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { DAY, smsPark, textOfOrder, type SmsPark } from './harness.js';
import { waitFor } from '../helpers.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A port nothing listens on (connections refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

let phoneSeq = 0;
/** A fresh mainland number per text, so per-phone throttling stays out of the way. */
const phone = () => `139${String(process.pid % 10000).padStart(4, '0')}${String(++phoneSeq).padStart(4, '0')}`;

/** A receipt push as the provider would send it, for a message and a number. */
function receiptBody(provider: string, m: { providerMessageId: string; ref?: string }, number: string, delivered = true): string {
  if (provider === 'aliyun')
    return JSON.stringify([{ phone_number: number, send_time: '2027-03-01 10:00:00', report_time: '2027-03-01 10:00:05', success: delivered, err_code: delivered ? 'DELIVERED' : 'MK:0001', err_msg: '', sms_size: '1', biz_id: m.providerMessageId, ...(m.ref ? { out_id: m.ref } : {}) }]);
  return JSON.stringify([{ user_receive_time: '2027-03-01 10:00:05', nationcode: '86', mobile: number, report_status: delivered ? 'SUCCESS' : 'FAIL', errmsg: delivered ? 'DELIVRD' : 'UNDELIV', description: '', sid: m.providerMessageId }]);
}

describe.each(['aliyun', 'tencent'] as const)('SMS through %s', (provider) => {
  const open: SmsPark[] = [];
  afterEach(async () => {
    for (const p of open.splice(0)) await p.close();
  });
  const park = async (opts: Omit<Parameters<typeof smsPark>[0], 'provider'> = {}) => {
    const p = await smsPark({ provider, ...opts });
    open.push(p);
    return p;
  };

  it('texts the check-in code after a sale; the provider receipt marks it delivered; the number is stored only hashed and masked', async () => {
    const p = await park();
    const paid = await p.sale('13800138000', 2);
    expect(paid.status).toBe('paid');
    const codes = (paid.tickets as Json[]).map((t) => t.code as string);
    const text = await textOfOrder(p, paid.orderId);
    const done = await p.waitState(text.id, ['delivered']);
    expect(done).toMatchObject({ provider, phone: '138****8000', kind: 'checkin', lang: 'zh-CN', errorCode: null, attempts: 1 });
    const [sent] = p.simTexts();
    expect(sent).toBeDefined();
    expect(sent!.phone).toBe('13800138000');
    expect(done.providerMessageId).toBe(sent!.messageId);
    expect(sent!.ref).toBe(text.id);
    expect(sent!.text).toBe(`【Stile景区】您的入园码：${codes[0]}，${DAY} 10:00-12:00，共2张。请在闸机扫码或刷身份证入园。`);
    // The receipt was taken at the first push, with the answer the provider wants.
    const push = p.sim.sms.pushes.find((x) => x.messageIds.includes(sent!.messageId))!;
    expect(push.attempts[0]).toMatchObject({ ok: true, status: 200 });
    expect(JSON.parse(push.attempts[0]!.body!)).toEqual(provider === 'aliyun' ? { code: 0, msg: '接收成功' } : { result: 0, errmsg: 'OK' });
    const rows = await p.bridge.store.db.selectFrom('sms_messages').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain('13800138000');
    const listed = await p.list();
    expect(listed.last24h).toMatchObject({ delivered: 1 });
  });

  it('sends the English template when asked, other named templates with their variables, and refuses what it cannot send', async () => {
    const p = await park();
    const paid = await p.sale(phone());
    const sender = p.bridge.smsModule!.sender;
    const en = await sender.submit({ to: '+86 139-0013-9000', text: '', orderId: paid.orderId, lang: 'en' });
    expect(en.state).toBe('queued');
    expect(en.state === 'queued' && (await en.done)).toMatchObject({ state: 'sent' });
    expect(p.simTexts().find((t) => t.phone === '13900139000')!.text).toBe(`【Stile景区】Your entry code: ${paid.tickets[0].code}, ${DAY} 10:00-12:00, 1 ticket(s). Scan it or tap your ID card at the gate.`);
    const verify = await sender.submit({ to: phone(), text: '', orderId: '', site: p.site, template: 'verify', vars: { code: '482913' } });
    expect(verify.state === 'queued' && (await verify.done)).toMatchObject({ state: 'sent' });
    expect(p.simTexts().at(-1)!.text).toBe('【Stile景区】您的验证码为482913，5分钟内有效，请勿泄露。');
    expect(await sender.submit({ to: phone(), text: '', orderId: '', site: p.site, template: 'verify' })).toMatchObject({ state: 'refused', reason: 'missing_var:code' });
    expect(await sender.submit({ to: phone(), text: '', orderId: '', site: p.site, template: 'birthday', vars: {} })).toMatchObject({ state: 'refused', reason: 'no_template' });
    expect(await sender.submit({ to: '010-12345678', text: '', orderId: paid.orderId })).toMatchObject({ state: 'refused', reason: 'bad_phone' });
    expect(await sender.submit({ to: phone(), text: '', orderId: 'no-such-order' })).toMatchObject({ state: 'refused', reason: 'no_site' });
    const refused = (await p.list('?state=refused')).messages as Json[];
    expect(refused.map((m) => m.errorCode).sort()).toEqual(['bad_phone', 'missing_var:code', 'no_template']);
    expect(p.simTexts()).toHaveLength(3);
  });

  it('provider faults: its rate limit and 503 are retried, a refusal or an unknown outcome is not, and no sale fails', async () => {
    const p = await park({ sms: { delivery: 'manual' } });
    const fault = (body: Json) => p.control('POST', '/sim/sms/faults', { provider, ...body });
    const saleAndWait = async (states: string[]) => {
      const paid = await p.sale(phone());
      expect(paid.status).toBe('paid');
      const t = await textOfOrder(p, paid.orderId);
      return p.waitState(t.id, states);
    };
    await fault({ kind: 'throttle' });
    expect(await saleAndWait(['sent'])).toMatchObject({ attempts: 2, errorCode: null });
    await fault({ kind: '5xx', status: 503 });
    expect(await saleAndWait(['sent'])).toMatchObject({ attempts: 2 });
    await fault({ kind: 'error' });
    expect(await saleAndWait(['failed'])).toMatchObject({ attempts: 1, errorCode: provider === 'aliyun' ? 'isv.BUSINESS_LIMIT_CONTROL' : 'LimitExceeded.PhoneNumberThirtySecondLimit' });
    await fault({ kind: '5xx', status: 500 });
    expect(await saleAndWait(['unknown'])).toMatchObject({ attempts: 1 });
    const before = p.simTexts().length;
    await fault({ kind: 'malformed' });
    expect(await saleAndWait(['unknown'])).toMatchObject({ attempts: 1, errorCode: 'sms_malformed' });
    // Malformed answers come after the provider took the text: it went out, once.
    expect(p.simTexts()).toHaveLength(before + 1);
    await fault({ kind: 'timeout', hangMs: 3000 });
    const timedOut = await saleAndWait(['unknown']);
    expect(timedOut).toMatchObject({ attempts: 1, errorCode: 'sms_timeout', providerMessageId: null });
    expect(p.simTexts()).toHaveLength(before + 2);
    // Its receipt still comes. Alibaba echoes our OutId, so the text is found and closed;
    // Tencent's names only its SerialNo, which we never got: the text stays unknown.
    const lost = p.simTexts().at(-1)!;
    await p.control('POST', `/sim/sms/messages/${encodeURIComponent(lost.messageId)}/receipt`, {});
    await waitFor(() => p.sim.sms.pushes.find((x) => x.messageIds.includes(lost.messageId))?.delivered, 'the receipt push');
    if (provider === 'aliyun') expect(await p.waitState(timedOut.id, ['delivered'])).toMatchObject({ providerMessageId: lost.messageId });
    else expect((await p.list('?state=unknown')).messages.map((m: Json) => m.id)).toContain(timedOut.id);
    // The carrier fails one: the receipt says why.
    await p.control('PUT', '/sim/sms/delivery', { mode: 'auto', delayMs: 20 });
    await fault({ kind: 'undeliverable' });
    expect(await saleAndWait(['failed'])).toMatchObject({ errorCode: provider === 'aliyun' ? 'MK:0001' : 'UNDELIV' });
  });

  it('wrong credentials and an unreachable provider end as failed (nothing sent), the second after its retries', async () => {
    const wrong = await park({ settings: (s) => (s.aliyun ? { ...s, aliyun: { ...s.aliyun, accessKeySecret: 'not-the-secret' } } : { ...s, tencent: { ...s.tencent!, secretKey: 'not-the-secret' } }) });
    const paid = await wrong.sale(phone());
    const t = await wrong.waitState((await textOfOrder(wrong, paid.orderId)).id, ['failed']);
    expect(t).toMatchObject({ attempts: 1, errorCode: provider === 'aliyun' ? 'SignatureDoesNotMatch' : 'AuthFailure.SignatureFailure' });
    expect(wrong.simTexts()).toHaveLength(0);
    // The provider's message quotes the string it signed: no phone number in what is stored.
    const row = await wrong.bridge.store.db.selectFrom('sms_messages').selectAll().where('id', '=', t.id).executeTakeFirstOrThrow();
    expect(row.error_message).not.toMatch(/1\d{10}/);

    const closed = `http://127.0.0.1:${await closedPort()}`;
    const down = await park({ settings: (s) => (s.aliyun ? { ...s, aliyun: { ...s.aliyun, endpoint: closed } } : { ...s, tencent: { ...s.tencent!, endpoint: closed } }) });
    const paid2 = await down.sale(phone());
    expect(paid2.status).toBe('paid');
    expect(await down.waitState((await textOfOrder(down, paid2.orderId)).id, ['failed'], 10_000)).toMatchObject({ attempts: 3, errorCode: 'sms_unavailable' });
  });

  it('receipts: a wrong token, a foreign message or another phone change nothing; a message closes once', async () => {
    const p = await park({ sms: { delivery: 'manual' } });
    const number = phone();
    const paid = await p.sale(number);
    const t = await p.waitState((await textOfOrder(p, paid.orderId)).id, ['sent']);
    const post = (path: string, body: string) => fetch(p.base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const url = `/callbacks/sms/${provider}/${p.token}`;
    const forged = receiptBody(provider, { providerMessageId: t.providerMessageId, ref: t.id }, number);

    expect((await post(`/callbacks/sms/${provider}/${'x'.repeat(48)}`, forged)).status).toBe(404);
    expect((await post(`/callbacks/sms/${provider}/${p.token.slice(0, -1)}`, forged)).status).toBe(404);
    expect((await post(`/callbacks/sms/${provider === 'aliyun' ? 'tencent' : 'aliyun'}/${p.token}`, forged)).status).toBe(404);
    expect((await post(url, '{"not":"a list"}')).status).toBe(400);
    const foreign = await post(url, receiptBody(provider, { providerMessageId: 'not-ours-1234' }, number));
    expect(foreign.status).toBe(200);
    const otherPhone = await post(url, receiptBody(provider, { providerMessageId: t.providerMessageId, ref: t.id }, '13700137000'));
    expect(otherPhone.status).toBe(200);
    expect((await p.waitState(t.id, ['sent'])).doneAt).toBeNull();

    // The real receipt: failed. A later "delivered" for it (forged or the provider's duplicate) changes nothing.
    const simText = p.simTexts()[0]!;
    await p.control('POST', `/sim/sms/messages/${encodeURIComponent(simText.messageId)}/receipt`, { success: false, code: 'MK:0005' });
    expect(await p.waitState(t.id, ['failed'])).toMatchObject({ errorCode: 'MK:0005' });
    expect((await post(url, forged)).status).toBe(200);
    await p.control('POST', `/sim/sms/messages/${encodeURIComponent(simText.messageId)}/receipt`, {});
    await waitFor(() => p.sim.sms.pushes.length === 2 && p.sim.sms.pushes[1]!.delivered, 'the duplicate push taken');
    expect(await p.waitState(t.id, ['failed'])).toMatchObject({ errorCode: 'MK:0005' });
    // Pushes beyond 1 MiB are refused before they are read (last: the server closes that connection).
    expect((await post(url, 'x'.repeat(1024 * 1024 + 10))).status).toBe(413);
  });

  it('receipts from outside allowFrom are refused; the provider pushes again and gives up', async () => {
    const p = await park({ settings: (s) => ({ ...s, allowFrom: ['10.0.0.0/8'] }), sms: { receiptRetryMs: [20, 20] } });
    const paid = await p.sale(phone());
    const t = await textOfOrder(p, paid.orderId);
    const push = await waitFor(() => p.sim.sms.pushes.find((x) => x.abandoned), 'the push given up');
    expect(push.attempts.map((a) => a.status)).toEqual([403, 403, 403]);
    expect(await p.waitState(t.id, ['sent'])).toMatchObject({ doneAt: null });
  });

  it('several receipts in one push are applied one by one', async () => {
    const p = await park({ sms: { delivery: 'manual' } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await textOfOrder(p, (await p.sale(phone())).orderId)).id);
    for (const id of ids) await p.waitState(id, ['sent']);
    const [a, b, c] = p.simTexts();
    const r = await p.control('POST', '/sim/sms/receipts', { messageIds: [a!.messageId, b!.messageId], success: true });
    expect(r.status).toBe(200);
    await p.waitState(ids[0]!, ['delivered']);
    await p.waitState(ids[1]!, ['delivered']);
    expect(c!.state).toBe('accepted');
    expect((await p.list()).last24h).toMatchObject({ delivered: 2, sent: 1 });
  });
});
