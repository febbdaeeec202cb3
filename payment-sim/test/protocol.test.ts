/**
 * The simulator from the merchant's side of the wire, with node:crypto only (no cloud-bridge
 * code: the simulator and the client are checked against the protocol, not each other).
 */
import { createDecipheriv, createPrivateKey, createPublicKey, createSign, createVerify, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentSimulator } from '@stile/payment-sim';

let sim: PaymentSimulator;
let dir: string;
let inbox: { headers: IncomingHttpHeaders; body: string }[] = [];
let receiver: Server;
let notifyUrl = '';
let cfg: { wechat: Record<string, string>; alipay: Record<string, string> };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'paysim-test-'));
  sim = new PaymentSimulator({ stateDir: dir, retryDelaysMs: { wechat: [30, 30], alipay: [30, 30] } });
  await sim.listen();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inbox.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.end(req.url?.includes('alipay') ? 'success' : '');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  notifyUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  cfg = sim.merchantConfig() as typeof cfg;
});
afterAll(async () => {
  await sim.close();
  receiver.closeAllConnections();
  await new Promise<void>((r) => receiver.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const merchantKey = () => createPrivateKey(readFileSync(cfg.wechat.merchantPrivateKeyPath!, 'utf8'));
const platformPublic = () => createPublicKey(readFileSync((cfg.wechat.platformKeys as unknown as { path: string }[])[0]!.path, 'utf8'));

async function wx(method: string, pathAndQuery: string, body?: object, opts: { ts?: number; mchid?: string; serial?: string; key?: ReturnType<typeof createPrivateKey> } = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
  const nonce = randomBytes(8).toString('hex');
  const sig = createSign('RSA-SHA256').update(`${method}\n${pathAndQuery}\n${ts}\n${nonce}\n${text}\n`).sign(opts.key ?? merchantKey(), 'base64');
  const auth = `WECHATPAY2-SHA256-RSA2048 mchid="${opts.mchid ?? sim.keys.identity.wechat.mchid}",nonce_str="${nonce}",timestamp="${ts}",serial_no="${opts.serial ?? sim.keys.identity.wechat.merchantSerial}",signature="${sig}"`;
  const res = await fetch(sim.baseUrl + pathAndQuery, { method, headers: { Authorization: auth, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) }, body: body === undefined ? undefined : text });
  // Bytes, not res.text(): that would drop the bill's BOM.
  const answer = Buffer.from(await res.arrayBuffer()).toString('utf8');
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(answer) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text: answer, json };
}

function wxSignatureValid(headers: Headers, body: string): boolean {
  const msg = `${headers.get('wechatpay-timestamp')}\n${headers.get('wechatpay-nonce')}\n${body}\n`;
  return headers.get('wechatpay-serial') === sim.keys.identity.wechat.platformKeyId && createVerify('RSA-SHA256').update(msg).verify(platformPublic(), headers.get('wechatpay-signature') ?? '', 'base64');
}

describe('WeChat Pay API v3 side', () => {
  const order = (no: string) => ({ appid: sim.keys.identity.wechat.appid, mchid: sim.keys.identity.wechat.mchid, description: '成人票', out_trade_no: no, notify_url: `${notifyUrl}/wechat`, amount: { total: 100, currency: 'CNY' } });

  it('refuses a request without a valid merchant signature: 401 SIGN_ERROR, and signs even that answer', async () => {
    const res = await fetch(`${sim.baseUrl}/v3/pay/transactions/out-trade-no/T1?mchid=1`);
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ code: 'SIGN_ERROR' });
    expect(wxSignatureValid(res.headers, text)).toBe(true);
    for (const opts of [{ mchid: '1900000000' }, { serial: 'ABCDEF' }, { ts: Math.floor(Date.now() / 1000) - 600 }, { key: createPrivateKey(readFileSync(join(dir, 'simulator', 'alipay-platform.pem'), 'utf8')) }]) {
      const r = await wx('GET', `/v3/pay/transactions/out-trade-no/T1?mchid=${sim.keys.identity.wechat.mchid}`, undefined, opts);
      expect([r.status, r.json?.code]).toEqual([401, 'SIGN_ERROR']);
    }
  });

  it('signs its answers with the platform key named in Wechatpay-Serial', async () => {
    const r = await wx('POST', '/v3/pay/transactions/native', order('PS000001'));
    expect(r.status).toBe(200);
    expect(r.json!.code_url).toMatch(/^weixin:\/\//);
    expect(wxSignatureValid(r.headers, r.text)).toBe(true);
    const q = await wx('GET', `/v3/pay/transactions/out-trade-no/PS000001?mchid=${sim.keys.identity.wechat.mchid}`);
    expect(q.json).toMatchObject({ trade_state: 'NOTPAY', amount: { total: 100 } });
    const missing = await wx('GET', `/v3/pay/transactions/out-trade-no/PS000404?mchid=${sim.keys.identity.wechat.mchid}`);
    expect([missing.status, missing.json?.code]).toEqual([404, 'ORDER_NOT_EXIST']);
  });

  it('notifies with a signed body whose resource opens with AES-256-GCM under the APIv3 key', async () => {
    inbox = [];
    await wx('POST', '/v3/pay/transactions/native', order('PS000002'));
    expect((await fetch(`${sim.baseUrl}/sim/trades/wechat/PS000002/pay`, { method: 'POST' })).status).toBe(200);
    while (inbox.length === 0) await new Promise((r) => setTimeout(r, 10));
    const n = inbox[0]!;
    const h = new Headers(n.headers as Record<string, string>);
    expect(wxSignatureValid(h, n.body)).toBe(true);
    const body = JSON.parse(n.body) as { event_type: string; resource: { ciphertext: string; nonce: string; associated_data: string; algorithm: string } };
    expect(body.event_type).toBe('TRANSACTION.SUCCESS');
    expect(body.resource.algorithm).toBe('AEAD_AES_256_GCM');
    expect(body.resource.nonce).toHaveLength(12);
    const data = Buffer.from(body.resource.ciphertext, 'base64');
    const d = createDecipheriv('aes-256-gcm', Buffer.from(readFileSync(cfg.wechat.apiV3KeyPath!, 'utf8').trim()), Buffer.from(body.resource.nonce));
    d.setAuthTag(data.subarray(-16));
    d.setAAD(Buffer.from(body.resource.associated_data));
    const plain = JSON.parse(Buffer.concat([d.update(data.subarray(0, -16)), d.final()]).toString('utf8')) as Record<string, unknown>;
    expect(plain).toMatchObject({ out_trade_no: 'PS000002', trade_state: 'SUCCESS', amount: { total: 100 } });
  });

  it('serves the trade bill with backtick fields, a summary, and the SHA1 of what it serves', async () => {
    const date = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const r = await wx('GET', `/v3/bill/tradebill?bill_date=${date}&bill_type=ALL`);
    expect(r.json).toMatchObject({ hash_type: 'SHA1' });
    const url = new URL(r.json!.download_url as string);
    const file = await wx('GET', url.pathname + url.search);
    const lines = file.text.split('\r\n');
    expect(lines[0]!.startsWith('\uFEFF交易时间,公众账号ID,商户号')).toBe(true);
    expect(lines[1]).toMatch(/^`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},`/);
    expect(lines.at(-3)).toBe('总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额');
    const { createHash } = await import('node:crypto');
    expect(createHash('sha1').update(Buffer.from(file.text)).digest('hex')).toBe(r.json!.hash_value);
  });
});

describe('Alipay gateway side', () => {
  const appKey = () => createPrivateKey(readFileSync(cfg.alipay.appPrivateKeyPath!, 'utf8'));
  const alipayPublic = () => createPublicKey(readFileSync(cfg.alipay.alipayPublicKeyPath!, 'utf8'));
  const beijing = (d = new Date()) => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');

  async function call(method: string, biz: object, opts: { key?: ReturnType<typeof createPrivateKey>; extra?: Record<string, string> } = {}) {
    const p: Record<string, string> = { app_id: sim.keys.identity.alipay.appId, method, format: 'JSON', charset: 'utf-8', sign_type: 'RSA2', timestamp: beijing(), version: '1.0', biz_content: JSON.stringify(biz), ...opts.extra };
    const content = Object.keys(p).sort().map((k) => `${k}=${p[k]}`).join('&');
    p.sign = createSign('RSA-SHA256').update(content).sign(opts.key ?? appKey(), 'base64');
    const res = await fetch(cfg.alipay.gatewayUrl!, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8' }, body: new URLSearchParams(p).toString() });
    return res.text();
  }
  const responseText = (body: string, key: string) => {
    const start = body.indexOf(`"${key}":`) + key.length + 3;
    const end = body.lastIndexOf(',"sign":"');
    return { text: body.slice(start, end), sign: body.slice(end + 9, -2) };
  };

  it('answers a bad signature with 40002 isv.invalid-signature and the string it verified, signed', async () => {
    const { privateKey } = await import('node:crypto').then((c) => c.generateKeyPairSync('rsa', { modulusLength: 2048 }));
    const body = await call('alipay.trade.query', { out_trade_no: 'A1' }, { key: privateKey });
    const { text, sign } = responseText(body, 'alipay_trade_query_response');
    const v = JSON.parse(text) as Record<string, string>;
    expect(v).toMatchObject({ code: '40002', sub_code: 'isv.invalid-signature' });
    expect(v.sub_msg).toContain('app_id=');
    expect(createVerify('RSA-SHA256').update(text).verify(alipayPublic(), sign, 'base64')).toBe(true);
  });

  it('precreates, writes \\/ like Alipay, and signs the exact text', async () => {
    const body = await call('alipay.trade.precreate', { out_trade_no: 'AP000001', total_amount: '88.88', subject: '成人票' }, { extra: { notify_url: `${notifyUrl}/alipay` } });
    expect(body).toContain('https:\\/\\/qr.alipay.com\\/');
    const { text, sign } = responseText(body, 'alipay_trade_precreate_response');
    expect(createVerify('RSA-SHA256').update(text).verify(alipayPublic(), sign, 'base64')).toBe(true);
    expect(JSON.parse(text)).toMatchObject({ code: '10000', out_trade_no: 'AP000001' });
  });

  it('notifies a payment as a form signed without sign and sign_type, and stops at "success"', async () => {
    inbox = [];
    await fetch(`${sim.baseUrl}/sim/trades/alipay/AP000001/pay`, { method: 'POST' });
    while (inbox.length === 0) await new Promise((r) => setTimeout(r, 10));
    const p = Object.fromEntries(new URLSearchParams(inbox[0]!.body));
    expect(p).toMatchObject({ trade_status: 'TRADE_SUCCESS', total_amount: '88.88', sign_type: 'RSA2', notify_type: 'trade_status_sync' });
    const { sign, sign_type: _t, ...rest } = p;
    const content = Object.keys(rest).sort().map((k) => `${k}=${rest[k]}`).join('&');
    expect(createVerify('RSA-SHA256').update(content).verify(alipayPublic(), sign!, 'base64')).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(inbox).toHaveLength(1);
  });

  it('gives a bill download link to a zip of two GBK CSV files', async () => {
    const date = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const body = await call('alipay.data.dataservice.bill.downloadurl.query', { bill_type: 'trade', bill_date: date });
    const { text } = responseText(body, 'alipay_data_dataservice_bill_downloadurl_query_response');
    const link = (JSON.parse(text) as { bill_download_url: string }).bill_download_url;
    const zip = unzipSync(new Uint8Array(await (await fetch(link)).arrayBuffer()));
    const names = Object.keys(zip).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/_业务明细\(汇总\)\.csv$|_业务明细\.csv$/);
    const detail = Object.entries(zip).find(([n]) => !n.includes('汇总'))![1];
    const csv = iconv.decode(Buffer.from(detail), 'gbk');
    expect(csv.split('\r\n')[0]).toBe('#支付宝业务明细查询');
    expect(csv).toContain('AP000001\t,交易\t,成人票\t');
    expect(csv).toContain('#交易合计：1笔，退款合计：0笔');
  });
});

describe('control API', () => {
  it('validates faults and codes, lists and clears faults', async () => {
    const post = (path: string, body: unknown) => fetch(sim.baseUrl + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/sim/faults', { kind: 'earthquake' })).status).toBe(400);
    expect((await post('/sim/codes', { authCode: '1', behaviour: 'maybe' })).status).toBe(400);
    expect(await (await post('/sim/faults', { kind: '5xx', count: 2, provider: 'wechat' })).json()).toEqual([{ kind: '5xx', remaining: 2, provider: 'wechat' }]);
    expect((await fetch(`${sim.baseUrl}/sim/faults`, { method: 'DELETE' })).status).toBe(200);
    expect(await (await fetch(`${sim.baseUrl}/sim/faults`)).json()).toEqual([]);
    expect((await fetch(`${sim.baseUrl}/sim/trades/wechat/NOPE/pay`, { method: 'POST' })).status).toBe(404);
    const config = (await (await fetch(`${sim.baseUrl}/sim/config`)).json()) as Record<string, Record<string, unknown>>;
    expect(config.wechat!.mchid).toBe(sim.keys.identity.wechat.mchid);
    expect(JSON.stringify(config)).not.toContain('PRIVATE KEY');
  });

  it('keeps its identity and keys across restarts in the same state directory', async () => {
    const again = new PaymentSimulator({ stateDir: dir });
    expect(again.keys.identity).toEqual(sim.keys.identity);
    expect(again.keys.apiV3Key).toBe(sim.keys.apiV3Key);
    expect(again.keys.apiV3Key).toHaveLength(32);
  });
});
