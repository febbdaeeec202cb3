/**
 * WeChat Pay API v3 endpoints, provider side. Every request must carry a valid merchant
 * Authorization (refused 401 SIGN_ERROR otherwise, as WeChat Pay does); every answer,
 * errors included, is signed with the platform key and names it in Wechatpay-Serial. The
 * bill file download is the one unsigned answer (its SHA1 is in the signed tradebill answer).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { merchantSignatureValid, parseAuthorization, platformHeaders } from './crypto.js';
import { send } from '../http.js';
import type { PaymentSimulator } from '../simulator.js';
import type { Fault } from '../faults.js';
import { refundedFen, type SimRefund, type Trade, type TradeKind } from '../trades.js';
import { beijingDate, parseTime, rfc3339 } from '../time.js';
import { wechatBill } from '../bills.js';
import { wechatRefundQuery } from '../refund-query.js';

const MAX_SKEW_S = 300;
const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;

function answer(sim: PaymentSimulator, res: ServerResponse, status: number, value: unknown, fault?: Fault): void {
  let body = value === undefined ? '' : JSON.stringify(value);
  let unix = Math.floor(sim.now().getTime() / 1000);
  let keyId = sim.keys.identity.wechat.platformKeyId;
  if (fault?.kind === 'malformed') {
    status = 200;
    body = '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>';
  }
  if (fault?.kind === 'stale') unix -= 600;
  if (fault?.kind === 'unknown_key') keyId = 'PUB_KEY_ID_0000000000000000000000000000000000';
  const headers = platformHeaders(body, sim.keys.wechatPlatformKey, keyId, unix);
  if (fault?.kind === 'bad_signature') {
    // The body someone else would like us to believe, under the signature of another.
    const forged = platformHeaders(body + ' ', sim.keys.wechatPlatformKey, keyId, unix);
    headers['Wechatpay-Signature'] = forged['Wechatpay-Signature']!;
  }
  send(res, status, { ...headers, 'Content-Type': fault?.kind === 'malformed' ? 'text/html' : 'application/json', 'Request-ID': randomBytes(12).toString('hex') }, body);
}

function fail(sim: PaymentSimulator, res: ServerResponse, status: number, code: string, message: string, fault?: Fault): void {
  answer(sim, res, status, { code, message }, fault);
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function handleWechat(sim: PaymentSimulator, req: IncomingMessage, url: URL, raw: Buffer, res: ServerResponse): void {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const fault = sim.faults.take('wechat', path);
  if (fault?.kind === 'timeout') return sim.hang(res, fault);
  if (fault?.kind === '5xx') return fail(sim, res, 500, 'SYSTEM_ERROR', '系统错误');

  // The merchant's signature, over the path and query exactly as sent.
  const id = sim.keys.identity.wechat;
  const auth = parseAuthorization(req.headers.authorization);
  const bodyText = raw.toString('utf8');
  if (typeof auth === 'string') return fail(sim, res, 401, 'SIGN_ERROR', `签名错误：${auth}`);
  if (auth.mchid !== id.mchid) return fail(sim, res, 401, 'SIGN_ERROR', `签名错误：商户号 ${auth.mchid} 不存在或未开通`);
  if (auth.serial_no.toUpperCase() !== id.merchantSerial) return fail(sim, res, 401, 'SIGN_ERROR', '签名错误：商户证书序列号有误');
  if (!/^\d+$/.test(auth.timestamp) || Math.abs(sim.now().getTime() / 1000 - Number(auth.timestamp)) > MAX_SKEW_S) return fail(sim, res, 401, 'SIGN_ERROR', '签名错误：时间戳过期，请检查服务器时间');
  if (!merchantSignatureValid(auth, method, req.url ?? path, bodyText, sim.keys.wechatMerchantPublicKey)) return fail(sim, res, 401, 'SIGN_ERROR', '错误的签名，验签失败');

  let body: Json = {};
  if (method === 'POST') {
    try {
      const parsed: unknown = JSON.parse(bodyText);
      if (!isObj(parsed)) throw new Error('not an object');
      body = parsed;
    } catch {
      return fail(sim, res, 400, 'PARAM_ERROR', '请求体不是合法的JSON');
    }
  }
  const ok = (status: number, value: unknown) => answer(sim, res, status, value, fault);
  const err = (status: number, code: string, message: string) => fail(sim, res, status, code, message, fault);

  let m: RegExpExecArray | null;
  if (method === 'POST' && (m = /^\/v3\/pay\/transactions\/(native|jsapi|codepay)$/.exec(path)) !== null) return order(sim, m[1] as TradeKind, body, ok, err);
  if (method === 'GET' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/.exec(path)) !== null) {
    if (url.searchParams.get('mchid') !== id.mchid) return err(400, 'PARAM_ERROR', 'mchid 与请求商户号不一致');
    const t = sim.trade('wechat', decodeURIComponent(m[1]!));
    if (t === undefined) return err(404, 'ORDER_NOT_EXIST', '订单不存在');
    sim.refreshExpiry(t);
    return ok(200, sim.wechatTransaction(t));
  }
  if (method === 'POST' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/(close|reverse)$/.exec(path)) !== null) {
    if (body.mchid !== id.mchid) return err(400, 'PARAM_ERROR', 'mchid 与请求商户号不一致');
    const t = sim.trade('wechat', decodeURIComponent(m[1]!));
    if (t === undefined) return err(404, 'ORDER_NOT_EXIST', '订单不存在');
    if (m[2] === 'close') {
      if (t.state === 'SUCCESS' || t.state === 'REFUND') return err(400, 'ORDERPAID', '订单已支付');
      if (t.state === 'NOTPAY' || t.state === 'USERPAYING') {
        t.state = 'CLOSED';
        t.closedAt = sim.now();
      }
      return ok(204, undefined);
    }
    if (body.appid !== id.appid) return err(400, 'PARAM_ERROR', 'appid 与商户号不匹配');
    if (t.state === 'SUCCESS') {
      // Reversing a paid payment-code order gives the money back.
      t.refunds.push({ outRefundNo: `REVERSE-${t.outTradeNo}`, refundId: `5030${randomBytes(8).toString('hex')}`, amountFen: t.amountFen, status: 'SUCCESS', createdAt: sim.now(), successAt: sim.now() });
    }
    if (t.state !== 'REFUND') {
      t.state = 'REVOKED';
      t.closedAt = sim.now();
    }
    return ok(200, { appid: id.appid, mchid: id.mchid, out_trade_no: t.outTradeNo });
  }
  if (method === 'POST' && path === '/v3/refund/domestic/refunds') return refund(sim, body, ok, err);
  if (method === 'GET' && (m = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(path)) !== null) {
    const q = wechatRefundQuery(sim, decodeURIComponent(m[1]!));
    return 'code' in q ? err(q.status, q.code, q.message) : ok(200, q.body);
  }
  if (method === 'GET' && path === '/v3/bill/tradebill') {
    const date = url.searchParams.get('bill_date') ?? '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return err(400, 'PARAM_ERROR', 'bill_date 格式错误');
    const type = url.searchParams.get('bill_type') ?? 'ALL';
    if (type !== 'ALL') return err(400, 'PARAM_ERROR', '模拟器只提供 ALL 类型账单');
    const edits = sim.editsOf('wechat', date);
    if (edits.notReady) return err(400, 'STATEMENT_CREATING', '账单生成中，请在次日上午10点以后再下载');
    const text = wechatBill([...sim.trades.values()], date, { appid: id.appid, mchid: id.mchid }, edits);
    if (text === undefined) return err(400, 'NO_STATEMENT_EXIST', '账单文件不存在');
    const bytes = Buffer.from(text, 'utf8');
    const token = sim.storeBill({ provider: 'wechat', date, body: bytes, contentType: 'text/plain; charset=utf-8' });
    return ok(200, { hash_type: 'SHA1', hash_value: createHash('sha1').update(bytes).digest('hex'), download_url: `${sim.baseUrl}/v3/billdownload/file?token=${token}` });
  }
  if (method === 'GET' && path === '/v3/billdownload/file') {
    const file = sim.bills.get(url.searchParams.get('token') ?? '');
    if (file === undefined || file.provider !== 'wechat') return err(400, 'PARAM_ERROR', 'token 无效');
    // The file itself is not signed.
    return send(res, 200, { 'Content-Type': file.contentType }, file.body);
  }
  return err(404, 'NOT_FOUND', `${method} ${path}: 模拟器没有这个接口`);
}

type Ok = (status: number, value: unknown) => void;
type Err = (status: number, code: string, message: string) => void;

function order(sim: PaymentSimulator, kind: TradeKind, b: Json, ok: Ok, err: Err): void {
  const id = sim.keys.identity.wechat;
  const amount = isObj(b.amount) ? b.amount : {};
  const total = amount.total;
  if (b.appid !== id.appid) return err(400, 'PARAM_ERROR', 'appid 和 mch_id 不匹配');
  if (b.mchid !== id.mchid) return err(400, 'PARAM_ERROR', 'mchid 与请求商户号不一致');
  if (typeof b.description !== 'string' || b.description.length === 0) return err(400, 'PARAM_ERROR', '输入源“/body/description”映射到字段“商品描述”必填性规则校验失败');
  // WeChat Pay counts description in UTF-8 bytes (a Chinese character is 3), as its answer says.
  const descriptionBytes = Buffer.byteLength(b.description, 'utf8');
  if (descriptionBytes > 127) return err(400, 'PARAM_ERROR', `输入源“/body/description”映射到值字段“商品描述”字符串规则校验失败，字节数 ${descriptionBytes}，大于最大值 127`);
  if (typeof b.out_trade_no !== 'string' || !OUT_TRADE_NO.test(b.out_trade_no)) return err(400, 'PARAM_ERROR', '商户订单号格式错误');
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total <= 0) return err(400, 'PARAM_ERROR', '订单金额必须为正整数（分）');
  if (amount.currency !== undefined && amount.currency !== 'CNY') return err(400, 'PARAM_ERROR', '币种必须为 CNY');
  let expiresAt: Date | undefined;
  if (b.time_expire !== undefined) {
    expiresAt = typeof b.time_expire === 'string' ? parseTime(b.time_expire) : undefined;
    if (expiresAt === undefined || !String(b.time_expire).includes('T')) return err(400, 'PARAM_ERROR', 'time_expire 不是 rfc3339 格式');
  }
  if (kind !== 'codepay' && (typeof b.notify_url !== 'string' || !/^https?:\/\//.test(b.notify_url))) return err(400, 'PARAM_ERROR', 'notify_url 格式错误');
  let openid: string | undefined;
  if (kind === 'jsapi') {
    openid = isObj(b.payer) && typeof b.payer.openid === 'string' ? b.payer.openid : undefined;
    if (openid === undefined) return err(400, 'PARAM_ERROR', '缺少 payer.openid');
  }
  let authCode: string | undefined;
  if (kind === 'codepay') {
    authCode = isObj(b.payer) && typeof b.payer.auth_code === 'string' ? b.payer.auth_code : undefined;
    if (authCode === undefined || !/^1[0-5]\d{16}$/.test(authCode)) return err(400, 'PARAM_ERROR', '付款码格式错误（18位，10-15开头）');
    if (!isObj(b.scene_info) || !isObj(b.scene_info.store_info)) return err(400, 'PARAM_ERROR', '缺少 scene_info.store_info');
  }
  const requestKey = JSON.stringify([kind, total, b.description, b.notify_url ?? '', openid ?? '', authCode ?? '']);
  const existing = sim.trade('wechat', b.out_trade_no);
  if (existing !== undefined) {
    if (existing.state === 'SUCCESS' || existing.state === 'REFUND') return err(400, 'ORDERPAID', '该订单已支付');
    if (existing.state === 'CLOSED' || existing.state === 'REVOKED') return err(400, 'ORDER_CLOSED', '订单已关闭');
    if (existing.requestKey !== requestKey) return err(400, 'INVALID_REQUEST', '201 商户订单号重复');
    if (kind === 'native') return ok(200, { code_url: existing.codeUrl });
    if (kind === 'jsapi') return ok(200, { prepay_id: existing.prepayId });
  }
  const t: Trade = {
    provider: 'wechat',
    kind,
    outTradeNo: b.out_trade_no,
    amountFen: total,
    description: b.description,
    ...(typeof b.attach === 'string' ? { attach: b.attach } : {}),
    ...(typeof b.notify_url === 'string' ? { notifyUrl: b.notify_url } : {}),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    createdAt: sim.now(),
    requestKey,
    state: 'NOTPAY',
    exists: true,
    scanned: false,
    expired: false,
    refunds: [],
    payNotifications: 0,
    ...(openid === undefined ? {} : { openid }),
  };
  if (kind === 'native') {
    t.codeUrl = `weixin://wxpay/bizpayurl?pr=${randomBytes(6).toString('base64url')}`;
    sim.putTrade(t);
    return ok(200, { code_url: t.codeUrl });
  }
  if (kind === 'jsapi') {
    t.prepayId = `wx${beijingDate(sim.now()).replaceAll('-', '')}${randomBytes(14).toString('hex')}`;
    sim.putTrade(t);
    return ok(200, { prepay_id: t.prepayId });
  }
  // 付款码支付: the code decides at once, or the visitor has to confirm (202 USERPAYING).
  t.authCode = authCode!;
  if (isObj(b.scene_info) && typeof b.scene_info.device_id === 'string') t.deviceId = b.scene_info.device_id;
  const behaviour = sim.codes.get(authCode!) ?? 'paid';
  if (behaviour === 'insufficient' || behaviour === 'invalid') {
    t.state = 'PAYERROR';
    sim.putTrade(t);
    return behaviour === 'insufficient' ? err(403, 'NOT_ENOUGH', '用户账户余额不足') : err(400, 'INVALID_REQUEST', '付款码无效，请重新扫码');
  }
  sim.putTrade(t);
  if (behaviour === 'password') {
    t.state = 'USERPAYING';
    return ok(202, { code: 'USERPAYING', message: '用户支付中，需要输入密码' });
  }
  sim.pay(t);
  return ok(200, sim.wechatTransaction(t));
}

function refund(sim: PaymentSimulator, b: Json, ok: Ok, err: Err): void {
  const amount = isObj(b.amount) ? b.amount : {};
  if (typeof b.out_refund_no !== 'string' || !/^[0-9A-Za-z_\-|*@]{1,64}$/.test(b.out_refund_no)) return err(400, 'PARAM_ERROR', 'out_refund_no 格式错误');
  const refundFen = amount.refund;
  const totalFen = amount.total;
  if (typeof refundFen !== 'number' || !Number.isSafeInteger(refundFen) || refundFen <= 0 || typeof totalFen !== 'number') return err(400, 'PARAM_ERROR', '退款金额必须为正整数（分）');
  if (amount.currency !== 'CNY') return err(400, 'PARAM_ERROR', '退款币种必须为 CNY');
  const t = typeof b.out_trade_no === 'string' ? sim.trade('wechat', b.out_trade_no) : undefined;
  if (t === undefined) return err(404, 'RESOURCE_NOT_EXISTS', '订单不存在');
  if (t.state !== 'SUCCESS' && t.state !== 'REFUND') return err(400, 'INVALID_REQUEST', '订单未支付，不能退款');
  if (totalFen !== t.amountFen) return err(400, 'PARAM_ERROR', '订单金额与原订单不一致');
  const existing = t.refunds.find((r) => r.outRefundNo === b.out_refund_no);
  let r: SimRefund;
  if (existing !== undefined) {
    if (existing.amountFen !== refundFen) return err(400, 'INVALID_REQUEST', '同一退款单号的退款金额不一致');
    r = existing;
  } else {
    if (refundedFen(t) + refundFen > t.amountFen) return err(403, 'NOT_ENOUGH', '申请退款金额超过订单可退金额');
    r = {
      outRefundNo: b.out_refund_no,
      refundId: `50${[...randomBytes(27)].map((x) => x % 10).join('')}`,
      amountFen: refundFen,
      ...(typeof b.reason === 'string' ? { reason: b.reason } : {}),
      status: 'PROCESSING',
      createdAt: sim.now(),
      ...(typeof b.notify_url === 'string' ? { notifyUrl: b.notify_url } : {}),
    };
    t.refunds.push(r);
    t.state = 'REFUND';
    if (sim.opts.refundMode !== 'manual') sim.later(sim.opts.refundDelayMs ?? 0, () => r.status === 'PROCESSING' && sim.completeRefund(t, r));
  }
  return ok(200, {
    refund_id: r.refundId,
    out_refund_no: r.outRefundNo,
    transaction_id: t.transactionId,
    out_trade_no: t.outTradeNo,
    channel: 'ORIGINAL',
    user_received_account: '支付用户零钱',
    ...(r.successAt === undefined ? {} : { success_time: rfc3339(r.successAt) }),
    create_time: rfc3339(r.createdAt),
    status: r.status,
    funds_account: 'AVAILABLE',
    amount: { total: t.amountFen, refund: r.amountFen, payer_total: t.amountFen, payer_refund: r.amountFen, settlement_refund: r.amountFen, settlement_total: t.amountFen, discount_refund: 0, currency: 'CNY' },
  });
}

