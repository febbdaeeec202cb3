/**
 * The control API, for tests and people (JSON; no authentication: the simulator listens on
 * loopback unless told otherwise):
 *
 *   GET    /sim/config                               what the merchant configures
 *   GET    /sim/trades[?provider=]                   every trade
 *   GET    /sim/trades/{provider}/{out_trade_no}     one trade
 *   POST   /sim/trades/{provider}/{no}/scan          the visitor scans the QR code
 *   POST   /sim/trades/{provider}/{no}/pay           scans and confirms: paid, notified  {force?: pay even if closed/expired}
 *   POST   /sim/trades/{provider}/{no}/cancel        the visitor gives up (a code payment waiting for the password fails)
 *   POST   /sim/trades/{provider}/{no}/expire        time out: no longer payable (Alipay closes and notifies)
 *   POST   /sim/trades/{provider}/{no}/renotify      the payment notification once more (a duplicate)
 *   POST   /sim/refunds/wechat/{out_refund_no}/complete   {status: SUCCESS|ABNORMAL|CLOSED} (refundMode manual)
 *   POST   /sim/codes                                {authCode, behaviour: paid|password|insufficient|invalid}
 *   GET    /sim/faults · POST /sim/faults {kind, count?, provider?, match?, hangMs?} · DELETE /sim/faults
 *   GET    /sim/notifications                        every delivery and its attempts
 *   GET    /sim/calls[?provider=&match=]             the WeChat Pay / Alipay requests received (endpoint contains match) · DELETE: forget them
 *   GET    /sim/bills/{provider}/{date}              the day's bill file as the provider would serve it
 *   PUT    /sim/bills/{provider}/{date}/edits        stage the day's bill: {notReady?, extra?: [{outTradeNo, amountFen, at?, refund?: {outRefundNo}}],
 *                                                     omit?: [no], amounts?: {no: fen}, duplicate?: [no], garbage?: [line], declaredCount?}
 *   GET · DELETE /sim/bills/{provider}/{date}/edits   what is staged · the plain bill again
 *   POST   /sim/wechat/jsapi                         the JSAPI parameters a page got (getBrandWCPayRequest): paySign checked, then paid;
 *                                                     {…params, action?: pay|cancel|fail, user?: the WeChat user paying (must be the order's payer)}
 *   GET    /sim/wechat/oauth                         the web OAuth state: the current simulated user, its openid, codes issued
 *   PUT    /sim/wechat/oauth/user {user}             who the next authorizations are for (a browser's paysim_wechat_user cookie wins)
 *   GET    /sim/wechat/oauth/openid?user=            a simulated user's openid under the AppID
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send, SimError } from './http.js';
import type { CodeBehaviour, PaymentSimulator } from './simulator.js';
import { FAULT_KINDS, type FaultKind } from './faults.js';
import { jsapiSignValid } from './wechat/crypto.js';
import { isUserName } from './wechat/oauth.js';
import { wapReturnUrl } from './alipay/api.js';
import { wechatBill, alipayBill, type BillEdits } from './bills.js';
import { refundedFen, type Provider, type Trade } from './trades.js';
import { filterCalls } from './calls.js';

type Json = Record<string, unknown>;

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, { 'Content-Type': 'application/json; charset=utf-8' }, JSON.stringify(value, null, 2));
}

export function tradeView(t: Trade): Json {
  return {
    provider: t.provider,
    kind: t.kind,
    outTradeNo: t.outTradeNo,
    amountFen: t.amountFen,
    description: t.description,
    state: t.state,
    exists: t.exists,
    scanned: t.scanned,
    expired: t.expired,
    transactionId: t.transactionId,
    paidAt: t.paidAt?.toISOString(),
    refundedFen: refundedFen(t),
    refunds: t.refunds.map((r) => ({ outRefundNo: r.outRefundNo, refundId: r.refundId, amountFen: r.amountFen, status: r.status })),
    payNotifications: t.payNotifications,
    codeUrl: t.codeUrl,
    prepayId: t.prepayId,
  };
}

const PROVIDERS: Provider[] = ['wechat', 'alipay'];
const BEHAVIOURS: CodeBehaviour[] = ['paid', 'password', 'insufficient', 'invalid'];

export async function handleControl(sim: PaymentSimulator, req: IncomingMessage, url: URL, raw: Buffer, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '');
  let body: Json = {};
  if (raw.length > 0 && (req.headers['content-type'] ?? '').includes('json')) {
    try {
      body = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      return json(res, 400, { error: 'body is not JSON' });
    }
  }
  try {
    if (method === 'GET' && (path === '/sim' || path === '/sim/config')) return json(res, 200, sim.merchantConfig());
    if (method === 'GET' && path === '/sim/trades') {
      const p = url.searchParams.get('provider');
      return json(res, 200, [...sim.trades.values()].filter((t) => p === null || t.provider === p).map(tradeView));
    }
    let m = /^\/sim\/trades\/(wechat|alipay)\/([^/]+)(?:\/(scan|pay|cancel|expire|renotify))?$/.exec(path);
    if (m !== null) {
      const t = sim.trade(m[1] as Provider, decodeURIComponent(m[2]!));
      if (t === undefined) return json(res, 404, { error: `no ${m[1]} trade ${m[2]}` });
      const action = m[3];
      if (action === undefined && method === 'GET') return json(res, 200, tradeView(t));
      if (method !== 'POST') return json(res, 405, { error: 'POST' });
      if (action === 'scan') sim.scan(t);
      else if (action === 'pay') {
        sim.pay(t, { force: body.force === true });
        // From the simulated Alipay cashier page: back to the merchant's return_url.
        if (url.searchParams.get('redirect') === '1') {
          const back = wapReturnUrl(sim, t);
          if (back !== undefined) {
            res.writeHead(302, { Location: back });
            res.end();
            return;
          }
          return send(res, 200, { 'Content-Type': 'text/html;charset=utf-8' }, '<!doctype html><meta charset="utf-8"><h1 id="paid">支付成功</h1>');
        }
      } else if (action === 'cancel') sim.cancel(t);
      else if (action === 'expire') sim.expire(t);
      else if (action === 'renotify') sim.renotify(t);
      return json(res, 200, tradeView(t));
    }
    m = /^\/sim\/refunds\/wechat\/([^/]+)\/complete$/.exec(path);
    if (m !== null && method === 'POST') {
      const no = decodeURIComponent(m[1]!);
      for (const t of sim.trades.values()) {
        const r = t.provider === 'wechat' ? t.refunds.find((x) => x.outRefundNo === no) : undefined;
        if (r === undefined) continue;
        const status = body.status ?? 'SUCCESS';
        if (status !== 'SUCCESS' && status !== 'ABNORMAL' && status !== 'CLOSED') return json(res, 400, { error: 'status: SUCCESS, ABNORMAL or CLOSED' });
        sim.completeRefund(t, r, status);
        return json(res, 200, tradeView(t));
      }
      return json(res, 404, { error: `no refund ${no}` });
    }
    if (path === '/sim/codes' && method === 'POST') {
      if (typeof body.authCode !== 'string' || !BEHAVIOURS.includes(body.behaviour as CodeBehaviour)) return json(res, 400, { error: `{authCode, behaviour: ${BEHAVIOURS.join('|')}}` });
      sim.codes.set(body.authCode, body.behaviour as CodeBehaviour);
      return json(res, 200, { authCode: body.authCode, behaviour: body.behaviour });
    }
    if (path === '/sim/faults') {
      if (method === 'GET') return json(res, 200, sim.faults.pending());
      if (method === 'DELETE') {
        sim.faults.clear();
        return json(res, 200, []);
      }
      if (method === 'POST') {
        const kind = body.kind as FaultKind;
        const count = body.count ?? 1;
        if (!FAULT_KINDS.includes(kind) || typeof count !== 'number' || count < 1) return json(res, 400, { error: `{kind: ${FAULT_KINDS.join('|')}, count?, provider?, match?, hangMs?}` });
        if (body.provider !== undefined && !PROVIDERS.includes(body.provider as Provider)) return json(res, 400, { error: 'provider: wechat or alipay' });
        sim.faults.add({ kind, remaining: count, ...(body.provider === undefined ? {} : { provider: body.provider as Provider }), ...(typeof body.match === 'string' ? { match: body.match } : {}), ...(typeof body.hangMs === 'number' ? { hangMs: body.hangMs } : {}) });
        return json(res, 200, sim.faults.pending());
      }
    }
    if (method === 'GET' && path === '/sim/notifications') return json(res, 200, sim.notifier.deliveries);
    if (path === '/sim/calls') {
      if (method === 'DELETE') sim.calls.length = 0;
      return json(res, 200, filterCalls(sim.calls, url.searchParams.get('provider'), url.searchParams.get('match')));
    }
    m = /^\/sim\/bills\/(wechat|alipay)\/(\d{4}-\d{2}-\d{2})\/edits$/.exec(path);
    if (m !== null) {
      const key = `${m[1]}:${m[2]}`;
      if (method === 'GET') return json(res, 200, sim.billEdits.get(key) ?? {});
      if (method === 'DELETE') {
        sim.billEdits.delete(key);
        return json(res, 200, {});
      }
      if (method !== 'PUT') return json(res, 405, { error: 'GET, PUT or DELETE' });
      const edits = billEdits(body);
      if (typeof edits === 'string') return json(res, 400, { error: edits });
      sim.billEdits.set(key, edits);
      return json(res, 200, edits);
    }
    m = /^\/sim\/bills\/(wechat|alipay)\/(\d{4}-\d{2}-\d{2})$/.exec(path);
    if (m !== null && method === 'GET') {
      const trades = [...sim.trades.values()];
      const id = sim.keys.identity;
      if (m[1] === 'wechat') {
        const text = wechatBill(trades, m[2]!, id.wechat, sim.editsOf('wechat', m[2]!));
        return text === undefined ? json(res, 404, { error: 'no trade that day' }) : send(res, 200, { 'Content-Type': 'text/plain; charset=utf-8' }, text);
      }
      const bill = alipayBill(trades, m[2]!, id.alipay.sellerId, sim.now(), sim.editsOf('alipay', m[2]!));
      return bill === undefined ? json(res, 404, { error: 'no trade that day' }) : send(res, 200, { 'Content-Type': 'application/zip', 'Content-Disposition': `attachment; filename="${bill.name}"` }, Buffer.from(bill.zip));
    }
    if (method === 'GET' && path === '/sim/wechat/oauth') return json(res, 200, sim.oauth.view());
    if (method === 'PUT' && path === '/sim/wechat/oauth/user') {
      if (!isUserName(body.user)) return json(res, 400, { error: '{user}: 1-64 letters, digits, _ . -' });
      sim.oauth.user = body.user;
      return json(res, 200, { user: body.user, openid: sim.oauth.openid(body.user) });
    }
    if (method === 'GET' && path === '/sim/wechat/oauth/openid') {
      const user = url.searchParams.get('user');
      if (!isUserName(user)) return json(res, 400, { error: '?user=: 1-64 letters, digits, _ . -' });
      return json(res, 200, { user, openid: sim.oauth.openid(user) });
    }
    if (path === '/sim/wechat/jsapi' && method === 'POST') {
      const p = body as { appId?: string; timeStamp?: string; nonceStr?: string; package?: string; signType?: string; paySign?: string; action?: string; user?: string };
      const action = p.action ?? 'pay';
      if (action !== 'pay' && action !== 'cancel' && action !== 'fail') return json(res, 400, { errMsg: 'action: pay, cancel or fail' });
      if (p.user !== undefined && !isUserName(p.user)) return json(res, 400, { errMsg: 'user: 1-64 letters, digits, _ . -' });
      if (typeof p.appId !== 'string' || typeof p.timeStamp !== 'string' || typeof p.nonceStr !== 'string' || typeof p.package !== 'string' || typeof p.paySign !== 'string') return json(res, 400, { errMsg: 'chooseWXPay:fail, missing parameters' });
      if (p.signType !== 'RSA') return json(res, 400, { errMsg: 'chooseWXPay:fail, signType must be RSA' });
      if (p.appId !== sim.keys.identity.wechat.appid) return json(res, 400, { errMsg: 'chooseWXPay:fail, appId' });
      if (!jsapiSignValid({ appId: p.appId, timeStamp: p.timeStamp, nonceStr: p.nonceStr, package: p.package, paySign: p.paySign }, sim.keys.wechatMerchantPublicKey)) return json(res, 400, { errMsg: 'chooseWXPay:fail, invalid signature' });
      const prepayId = p.package.replace(/^prepay_id=/, '');
      const t = [...sim.trades.values()].find((x) => x.provider === 'wechat' && x.prepayId === prepayId);
      if (t === undefined) return json(res, 404, { errMsg: 'chooseWXPay:fail, prepay_id unknown' });
      // WeChat opens the sheet only for the payer the order was made for.
      if (p.user !== undefined && t.openid !== sim.oauth.openid(p.user)) return json(res, 409, { errMsg: 'chooseWXPay:fail, 当前微信用户与下单用户不一致' });
      if (action === 'cancel') return json(res, 200, { errMsg: 'chooseWXPay:cancel', trade: tradeView(t) });
      if (action === 'fail') return json(res, 200, { errMsg: 'chooseWXPay:fail', trade: tradeView(t) });
      sim.pay(t);
      return json(res, 200, { errMsg: 'chooseWXPay:ok', trade: tradeView(t) });
    }
    return json(res, 404, { error: `${method} ${path}: no such control route` });
  } catch (err) {
    if (err instanceof SimError) return json(res, err.status, { error: err.message });
    throw err;
  }
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isFen = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** A staged bill from a control request, or what is wrong with it. */
function billEdits(b: Json): BillEdits | string {
  const known = ['notReady', 'extra', 'omit', 'amounts', 'duplicate', 'garbage', 'declaredCount'];
  const unknown = Object.keys(b).filter((k) => !known.includes(k));
  if (unknown.length > 0) return `unknown field ${unknown.join(', ')}: ${known.join(', ')}`;
  const out: BillEdits = {};
  if (b.notReady !== undefined) {
    if (typeof b.notReady !== 'boolean') return 'notReady: true or false';
    out.notReady = b.notReady;
  }
  if (b.extra !== undefined) {
    const ok = Array.isArray(b.extra) && b.extra.every((x: Json) => typeof x === 'object' && x !== null && typeof x.outTradeNo === 'string' && isFen(x.amountFen) && (x.at === undefined || (typeof x.at === 'string' && /^\d{2}:\d{2}:\d{2}$/.test(x.at))) && (x.refund === undefined || (typeof x.refund === 'object' && x.refund !== null && typeof (x.refund as Json).outRefundNo === 'string')));
    if (!ok) return 'extra: [{outTradeNo, amountFen (fen > 0), at? HH:MM:SS, refund?: {outRefundNo}}]';
    out.extra = b.extra as BillEdits['extra'];
  }
  for (const k of ['omit', 'duplicate', 'garbage'] as const) {
    if (b[k] === undefined) continue;
    if (!isStrings(b[k])) return `${k}: a list of strings`;
    out[k] = b[k];
  }
  if (b.amounts !== undefined) {
    if (typeof b.amounts !== 'object' || b.amounts === null || !Object.values(b.amounts).every(isFen)) return 'amounts: {out_trade_no: fen > 0}';
    out.amounts = b.amounts as Record<string, number>;
  }
  if (b.declaredCount !== undefined) {
    if (typeof b.declaredCount !== 'number' || !Number.isSafeInteger(b.declaredCount) || b.declaredCount < 0) return 'declaredCount: a whole number';
    out.declaredCount = b.declaredCount;
  }
  return out;
}
