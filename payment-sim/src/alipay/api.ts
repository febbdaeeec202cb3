/**
 * Alipay's OpenAPI gateway (gateway.do), provider side, public-key mode. A request's
 * parameters come from the query string and the form body together; the gateway checks
 * app_id, sign_type RSA2, the timestamp (Beijing time, within 10 minutes here) and the RSA2
 * signature before anything else, and answers `{"<method>_response":{…},"sign":"…"}` signed
 * over the response text, errors included — with 40002 isv.invalid-signature and the string
 * it verified, as the real gateway does, when the merchant's signature is wrong.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerBody, content, rsa2, rsa2Valid } from './crypto.js';
import { send, SimError } from '../http.js';
import type { PaymentSimulator } from '../simulator.js';
import type { Fault } from '../faults.js';
import { alipayStatus, refundedFen, type Trade } from '../trades.js';
import { fen, parseTime, plain, yuan } from '../time.js';
import { alipayBill } from '../bills.js';
import { alipayRefundQuery } from '../refund-query.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_SKEW_MS = 10 * 60_000;
const MSG: Record<string, string> = { '10000': 'Success', '10003': 'order success pay inprocess', '20000': 'Service Currently Unavailable', '40001': 'Missing Required Arguments', '40002': 'Invalid Arguments', '40004': 'Business Failed' };

function reply(sim: PaymentSimulator, res: ServerResponse, responseKey: string, value: Json, fault?: Fault): void {
  let body = answerBody(responseKey, value, sim.keys.alipayKey);
  if (fault?.kind === 'bad_signature') body = answerBody(responseKey, value, sim.keys.alipayKey, { sign: rsa2(JSON.stringify({ ...value, code: '10000' }), sim.keys.alipayKey) });
  if (fault?.kind === 'malformed') body = body.slice(0, Math.floor(body.length / 2));
  send(res, 200, { 'Content-Type': 'text/html;charset=utf-8', trace_id: randomBytes(12).toString('hex') }, body);
}

const failure = (code: string, subCode: string, subMsg: string): Json => ({ code, msg: MSG[code] ?? 'Business Failed', sub_code: subCode, sub_msg: subMsg });

export function handleAlipay(sim: PaymentSimulator, req: IncomingMessage, url: URL, raw: Buffer, res: ServerResponse): void {
  if (url.pathname === '/downloadBillFile.resource') {
    const file = sim.bills.get(url.searchParams.get('fileId') ?? '');
    if (file === undefined || file.provider !== 'alipay' || (file.expiresAt !== undefined && sim.now() > file.expiresAt)) return send(res, 404, { 'Content-Type': 'text/plain' }, 'the link has expired');
    return send(res, 200, { 'Content-Type': file.contentType, 'Content-Disposition': `attachment; filename="${url.searchParams.get('downloadFileName') ?? 'bill.zip'}"` }, file.body);
  }
  // Parameters: query string and form body, no name twice.
  const params: Record<string, string> = {};
  let duplicate: string | undefined;
  const take = (k: string, v: string) => {
    if (Object.hasOwn(params, k)) duplicate = k;
    params[k] = v;
  };
  for (const [k, v] of url.searchParams) take(k, v);
  if (raw.length > 0 && (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) take(k, v);
  const method = params.method ?? '';
  const page = method === 'alipay.trade.wap.pay';
  const responseKey = /^[a-z.]+$/.test(method) ? `${method.replaceAll('.', '_')}_response` : 'error_response';

  const fault = page ? undefined : sim.faults.take('alipay', method);
  if (fault?.kind === 'timeout') return sim.hang(res, fault);
  if (fault?.kind === '5xx') return send(res, 502, { 'Content-Type': 'text/html' }, '<html><body><h1>502 Bad Gateway</h1></body></html>');
  const answer = (value: Json) => reply(sim, res, responseKey, { ...value }, fault);
  const refuse = (code: string, subCode: string, subMsg: string) => {
    if (page) return send(res, 200, { 'Content-Type': 'text/html;charset=utf-8' }, cashierError(subCode, subMsg));
    return answer(failure(code, subCode, subMsg));
  };

  const id = sim.keys.identity.alipay;
  if (duplicate !== undefined) return refuse('40002', 'isv.invalid-parameter', `参数 ${duplicate} 重复`);
  if (method === '') return reply(sim, res, 'error_response', failure('40001', 'isv.missing-method', '缺少方法名参数'), fault);
  if (params.app_id !== id.appId) return refuse('40002', 'isv.invalid-app-id', '无效的AppID参数');
  if ((params.charset ?? 'utf-8').toLowerCase() !== 'utf-8') return refuse('40002', 'isv.invalid-charset', '字符集错误（模拟器只接受 utf-8）');
  if (params.sign_type !== 'RSA2') return refuse('40002', 'isv.invalid-signature-type', '无效的签名类型');
  const ts = parseTime(params.timestamp ?? '');
  if (ts === undefined || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(params.timestamp ?? '')) return refuse('40002', 'isv.invalid-timestamp', '非法的时间戳参数');
  if (Math.abs(ts.getTime() - sim.now().getTime()) > MAX_SKEW_MS) return refuse('40002', 'isv.invalid-timestamp', '时间戳与支付宝服务器时间相差过大（请用北京时间）');
  if (params.version !== '1.0') return refuse('40002', 'isv.invalid-version', '版本号错误');
  const signed = content(params, ['sign']);
  if (params.sign === undefined || !rsa2Valid(signed, params.sign, sim.keys.alipayAppPublicKey)) {
    return refuse('40002', 'isv.invalid-signature', `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${signed}`);
  }
  let biz: Json;
  try {
    const parsed: unknown = JSON.parse(params.biz_content ?? '');
    if (!isObj(parsed)) throw new Error('not an object');
    biz = parsed;
  } catch {
    return refuse('40002', 'isv.invalid-parameter', 'biz_content 不是 JSON 对象');
  }

  try {
    switch (method) {
      case 'alipay.trade.precreate':
      case 'alipay.trade.pay':
      case 'alipay.trade.wap.pay':
        return createTrade(sim, method, params, biz, answer, refuse, res);
      case 'alipay.trade.query': {
        const t = find(sim, biz);
        if (t === undefined) return answer(failure('40004', 'ACQ.TRADE_NOT_EXIST', '交易不存在'));
        sim.refreshExpiry(t);
        return answer({ code: '10000', msg: 'Success', ...tradeFields(t), trade_status: alipayStatus(t), ...(t.paidAt === undefined ? {} : { send_pay_date: plain(t.paidAt), buyer_pay_amount: yuan(t.amountFen), receipt_amount: yuan(t.amountFen) }) });
      }
      case 'alipay.trade.close': {
        const t = find(sim, biz);
        if (t === undefined) return answer(failure('40004', 'ACQ.TRADE_NOT_EXIST', '交易不存在'));
        if (alipayStatus(t) !== 'WAIT_BUYER_PAY') return answer(failure('40004', 'ACQ.TRADE_STATUS_ERROR', '交易状态不合法'));
        t.state = 'CLOSED';
        t.closedAt = sim.now();
        return answer({ code: '10000', msg: 'Success', trade_no: t.transactionId ?? '', out_trade_no: t.outTradeNo });
      }
      case 'alipay.trade.cancel': {
        const t = find(sim, biz);
        if (t === undefined) return answer(failure('40004', 'ACQ.TRADE_NOT_EXIST', '交易不存在'));
        let action = 'close';
        if (t.state === 'SUCCESS') {
          action = 'refund';
          t.refunds.push({ outRefundNo: `CANCEL-${t.outTradeNo}`, refundId: randomBytes(8).toString('hex'), amountFen: t.amountFen, status: 'SUCCESS', createdAt: sim.now(), successAt: sim.now() });
          t.state = 'REFUND';
        } else if (t.state === 'NOTPAY' || t.state === 'USERPAYING') t.state = 'CLOSED';
        else if (t.state === 'REFUND') action = '';
        t.closedAt = sim.now();
        return answer({ code: '10000', msg: 'Success', trade_no: t.transactionId ?? '', out_trade_no: t.outTradeNo, retry_flag: 'N', action });
      }
      case 'alipay.trade.refund':
        return refund(sim, biz, answer);
      case 'alipay.trade.fastpay.refund.query':
        return answer(alipayRefundQuery(sim, biz));
      case 'alipay.data.dataservice.bill.downloadurl.query': {
        const date = typeof biz.bill_date === 'string' ? biz.bill_date : '';
        if (biz.bill_type !== 'trade' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return answer(failure('40004', 'isp.bill_type_or_date_invalid', '模拟器只提供 trade 类型的日账单（yyyy-MM-dd）'));
        const edits = sim.editsOf('alipay', date);
        // Alipay says the same before it has made the day's bill as for a day without trades.
        const bill = edits.notReady ? undefined : alipayBill([...sim.trades.values()], date, id.sellerId, sim.now(), edits);
        if (bill === undefined) return answer(failure('40004', 'isp.bill_not_exist', '账单不存在'));
        const token = sim.storeBill({ provider: 'alipay', date, body: Buffer.from(bill.zip), contentType: 'application/oct-stream', expiresAt: new Date(sim.now().getTime() + (sim.opts.billUrlTtlMs ?? 30_000)) });
        const link = `${sim.baseUrl}/downloadBillFile.resource?bizType=trade&userId=${id.sellerId}&fileType=csv.zip&bizDates=${date.replaceAll('-', '')}&downloadFileName=${encodeURIComponent(bill.name)}&fileId=${token}`;
        return answer({ code: '10000', msg: 'Success', bill_download_url: link });
      }
      default:
        return answer(failure('40002', 'isv.invalid-method', `不存在的方法名 ${method}`));
    }
  } catch (err) {
    if (err instanceof SimError) return answer(failure('40004', 'ACQ.TRADE_STATUS_ERROR', err.message));
    throw err;
  }
}

function find(sim: PaymentSimulator, biz: Json): Trade | undefined {
  if (typeof biz.out_trade_no === 'string') {
    const t = sim.trade('alipay', biz.out_trade_no);
    return t !== undefined && t.exists ? t : undefined;
  }
  if (typeof biz.trade_no === 'string') return [...sim.trades.values()].find((t) => t.provider === 'alipay' && t.transactionId === biz.trade_no);
  return undefined;
}

function tradeFields(t: Trade): Json {
  return { ...(t.transactionId === undefined ? {} : { trade_no: t.transactionId }), out_trade_no: t.outTradeNo, buyer_logon_id: '159****5620', total_amount: yuan(t.amountFen), ...(t.buyerId === undefined ? {} : { buyer_user_id: t.buyerId }) };
}

function createTrade(sim: PaymentSimulator, method: string, params: Record<string, string>, biz: Json, answer: (v: Json) => void, refuse: (code: string, sub: string, msg: string) => void, res: ServerResponse): void {
  const outTradeNo = biz.out_trade_no;
  const amountFen = fen(biz.total_amount);
  if (typeof outTradeNo !== 'string' || !/^[0-9A-Za-z_\-|*]{1,64}$/.test(outTradeNo)) return refuse('40002', 'isv.invalid-parameter', 'out_trade_no 格式错误');
  if (amountFen === undefined || amountFen <= 0 || amountFen > 10_000_000_000) return refuse('40002', 'isv.invalid-parameter', 'total_amount 格式错误（元，最多两位小数，0.01~100000000）');
  if (typeof biz.subject !== 'string' || biz.subject === '') return refuse('40001', 'isv.missing-parameter', '缺少 subject');
  let expiresAt: Date | undefined;
  if (biz.time_expire !== undefined) {
    expiresAt = typeof biz.time_expire === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(biz.time_expire) ? parseTime(biz.time_expire) : undefined;
    if (expiresAt === undefined) return refuse('40002', 'isv.invalid-parameter', 'time_expire 格式为 yyyy-MM-dd HH:mm:ss');
  }
  const kind = method === 'alipay.trade.precreate' ? 'precreate' : method === 'alipay.trade.pay' ? 'bar_code' : 'wap';
  if (kind === 'wap' && biz.product_code !== 'QUICK_WAP_WAY') return refuse('40002', 'isv.invalid-parameter', 'product_code 须为 QUICK_WAP_WAY');
  if (kind === 'bar_code' && (biz.scene !== 'bar_code' || typeof biz.auth_code !== 'string')) return refuse('40002', 'isv.invalid-parameter', 'scene 须为 bar_code，且须有 auth_code');
  const requestKey = JSON.stringify([kind, amountFen, biz.subject, biz.auth_code ?? '']);
  const existing = sim.trade('alipay', outTradeNo);
  if (existing !== undefined) {
    sim.refreshExpiry(existing);
    if (existing.state === 'SUCCESS' || existing.state === 'REFUND') return refuse('40004', 'ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
    if (existing.state === 'CLOSED' || existing.state === 'REVOKED' || existing.state === 'PAYERROR') return refuse('40004', 'ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
    if (existing.requestKey !== requestKey) return refuse('40004', 'ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改');
    if (kind === 'precreate') return answer({ code: '10000', msg: 'Success', out_trade_no: outTradeNo, qr_code: existing.codeUrl });
    if (kind === 'wap') return send(res, 200, { 'Content-Type': 'text/html;charset=utf-8' }, cashier(sim, existing));
  }
  const t: Trade = {
    provider: 'alipay',
    kind,
    outTradeNo,
    amountFen,
    description: biz.subject,
    ...(typeof biz.passback_params === 'string' ? { attach: biz.passback_params } : {}),
    ...(params.notify_url === undefined ? {} : { notifyUrl: params.notify_url }),
    ...(params.return_url === undefined ? {} : { returnUrl: params.return_url }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    createdAt: sim.now(),
    requestKey,
    state: 'NOTPAY',
    exists: kind !== 'precreate',
    scanned: false,
    expired: false,
    refunds: [],
    payNotifications: 0,
  };
  if (kind === 'precreate') {
    t.codeUrl = `https://qr.alipay.com/bax0${randomBytes(10).toString('hex')}`;
    sim.putTrade(t);
    return answer({ code: '10000', msg: 'Success', out_trade_no: outTradeNo, qr_code: t.codeUrl });
  }
  if (kind === 'wap') {
    sim.putTrade(t);
    sim.scan(t);
    return send(res, 200, { 'Content-Type': 'text/html;charset=utf-8' }, cashier(sim, t));
  }
  // bar_code: the scanned code decides.
  t.authCode = biz.auth_code as string;
  if (typeof biz.terminal_id === 'string') t.deviceId = biz.terminal_id;
  const behaviour = sim.codes.get(t.authCode) ?? 'paid';
  if (!/^(2[5-9]|30)\d{14,22}$/.test(t.authCode) && behaviour === 'paid') {
    return answer(failure('40004', 'ACQ.PAYMENT_AUTH_CODE_INVALID', '支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款'));
  }
  sim.putTrade(t);
  sim.scan(t);
  if (behaviour === 'insufficient' || behaviour === 'invalid') {
    t.state = 'CLOSED';
    t.closedAt = sim.now();
    return answer(behaviour === 'insufficient' ? failure('40004', 'ACQ.BUYER_BALANCE_NOT_ENOUGH', '买家余额不足') : failure('40004', 'ACQ.PAYMENT_AUTH_CODE_INVALID', '支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款'));
  }
  if (behaviour === 'password') {
    t.state = 'USERPAYING';
    t.transactionId = sim.transactionId('alipay');
    return answer({ code: '10003', msg: MSG['10003']!, ...tradeFields(t) });
  }
  sim.pay(t);
  return answer({ code: '10000', msg: 'Success', ...tradeFields(t), receipt_amount: yuan(t.amountFen), buyer_pay_amount: yuan(t.amountFen), gmt_payment: plain(t.paidAt!), fund_bill_list: [{ fund_channel: 'ALIPAYACCOUNT', amount: yuan(t.amountFen) }] });
}

function refund(sim: PaymentSimulator, biz: Json, answer: (v: Json) => void): void {
  const t = find(sim, biz);
  if (t === undefined) return answer(failure('40004', 'ACQ.TRADE_NOT_EXIST', '交易不存在'));
  const amountFen = fen(biz.refund_amount);
  if (amountFen === undefined || amountFen <= 0) return answer(failure('40002', 'isv.invalid-parameter', 'refund_amount 格式错误'));
  if (t.state !== 'SUCCESS' && t.state !== 'REFUND') return answer(failure('40004', 'ACQ.TRADE_STATUS_ERROR', '交易状态不合法'));
  const requestNo = typeof biz.out_request_no === 'string' ? biz.out_request_no : t.outTradeNo;
  const existing = t.refunds.find((r) => r.outRefundNo === requestNo);
  if (existing !== undefined) {
    if (existing.amountFen !== amountFen) return answer(failure('40004', 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额与同一请求号的退款不一致'));
    return answer({ code: '10000', msg: 'Success', ...tradeFields(t), fund_change: 'N', refund_fee: yuan(refundedFen(t)), gmt_refund_pay: plain(existing.successAt ?? existing.createdAt) });
  }
  if (refundedFen(t) + amountFen > t.amountFen) return answer(failure('40004', 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限'));
  const r = { outRefundNo: requestNo, refundId: randomBytes(8).toString('hex'), amountFen, ...(typeof biz.refund_reason === 'string' ? { reason: biz.refund_reason } : {}), status: 'SUCCESS' as const, createdAt: sim.now(), successAt: sim.now() };
  t.refunds.push(r);
  t.state = 'REFUND';
  if (refundedFen(t) >= t.amountFen) t.closedAt = sim.now();
  answer({ code: '10000', msg: 'Success', ...tradeFields(t), fund_change: 'Y', refund_fee: yuan(refundedFen(t)), gmt_refund_pay: plain(r.successAt) });
  sim.notifyAlipay(t, { refund: r });
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The mobile cashier page of alipay.trade.wap.pay: the visitor pays (or not) with one button. */
function cashier(sim: PaymentSimulator, t: Trade): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>支付宝（模拟）</title></head>
<body style="font-family:sans-serif;max-width:28em;margin:2em auto;text-align:center">
<h1>支付宝 · 模拟收银台</h1><p>${esc(t.description)}</p><p style="font-size:2em">¥${yuan(t.amountFen)}</p>
<form method="post" action="${sim.baseUrl}/sim/trades/alipay/${encodeURIComponent(t.outTradeNo)}/pay?redirect=1"><button id="pay" style="font-size:1.2em;padding:.5em 2em">确认付款</button></form>
<p><small>out_trade_no ${esc(t.outTradeNo)} · stile-paysim</small></p></body></html>`;
}

function cashierError(subCode: string, subMsg: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>支付宝（模拟）- 错误</title></head><body><h1>支付遇到问题</h1><p id="code">错误代码 ${esc(subCode)}</p><p>${esc(subMsg)}</p></body></html>`;
}

/** The signed return (同步返回) parameters of a paid WAP trade, for the redirect to return_url. */
export function wapReturnUrl(sim: PaymentSimulator, t: Trade): string | undefined {
  if (t.returnUrl === undefined) return undefined;
  const id = sim.keys.identity.alipay;
  const p: Record<string, string> = { charset: 'utf-8', out_trade_no: t.outTradeNo, method: 'alipay.trade.wap.pay.return', total_amount: yuan(t.amountFen), trade_no: t.transactionId ?? '', auth_app_id: id.appId, version: '1.0', app_id: id.appId, sign_type: 'RSA2', seller_id: id.sellerId, timestamp: plain(sim.now()) };
  p.sign = rsa2(content(p, ['sign', 'sign_type']), sim.keys.alipayKey);
  const u = new URL(t.returnUrl);
  for (const [k, v] of Object.entries(p)) u.searchParams.set(k, v);
  return u.href;
}
