/**
 * The SMS control API (JSON, no authentication: the simulator listens on loopback unless told otherwise):
 *
 *   GET    /sim/sms                                   what the merchant configures (ids, secret files, templates)
 *   GET    /sim/sms/messages[?provider=&phone=]       every text taken, oldest first (rendered text, state)
 *   GET    /sim/sms/messages/{messageId}              one text
 *   POST   /sim/sms/messages/{messageId}/receipt      the carrier's verdict now: {success?: true, code?, description?};
 *                                                     a text already reported gets the same receipt again (a duplicate push)
 *   POST   /sim/sms/receipts                          one push for several: {messageIds: […], success?, code?}
 *   GET    /sim/sms/receipts                          every push and its attempts
 *   PUT    /sim/sms/callbacks                         {aliyun?: url, tencent?: url} (the provider consoles' receipt URLs)
 *   PUT    /sim/sms/delivery                          {mode: auto|manual, delayMs?}
 *   GET    /sim/sms/faults · POST {kind, provider?, count?, code?, message?, status?, hangMs?} · DELETE
 *   POST   /sim/sms/templates                         {provider, id, text}   (approve a template)
 *   POST   /sim/sms/signs                             {provider, name}       (approve a sign name)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from '../http.js';
import { SMS_FAULT_KINDS, SMS_PROVIDERS, type SmsFaultKind, type SmsProvider } from './faults.js';
import { pushReceipts, receiptBody } from './receipts.js';
import type { SimText, SmsSimulator } from './simulator.js';

type Json = Record<string, unknown>;

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, { 'Content-Type': 'application/json; charset=utf-8' }, JSON.stringify(value, null, 2));
}

export function textView(t: SimText): Json {
  return {
    provider: t.provider,
    messageId: t.messageId,
    phone: t.phone,
    signName: t.signName,
    templateId: t.templateId,
    params: t.params,
    text: t.text,
    ref: t.ref,
    acceptedAt: t.acceptedAt.toISOString(),
    state: t.state,
    reportCode: t.reportCode,
    reportedAt: t.reportedAt?.toISOString(),
  };
}

const isProvider = (v: unknown): v is SmsProvider => SMS_PROVIDERS.includes(v as SmsProvider);

export function handleSmsControl(sim: SmsSimulator, req: IncomingMessage, url: URL, raw: Buffer, res: ServerResponse): void {
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '');
  let body: Json = {};
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      return json(res, 400, { error: 'body is not JSON' });
    }
  }
  const base = `http://${req.headers.host ?? '127.0.0.1'}`;
  if (method === 'GET' && path === '/sim/sms') return json(res, 200, sim.merchantConfig(base));
  if (method === 'GET' && path === '/sim/sms/messages') {
    const p = url.searchParams.get('provider');
    const phone = url.searchParams.get('phone');
    return json(res, 200, sim.texts.filter((t) => (p === null || t.provider === p) && (phone === null || t.phone === phone)).map(textView));
  }
  const m = /^\/sim\/sms\/messages\/([^/]+)(\/receipt)?$/.exec(path);
  if (m !== null) {
    const t = sim.texts.find((x) => x.messageId === decodeURIComponent(m[1]!));
    if (t === undefined) return json(res, 404, { error: `no text ${m[1]}` });
    if (m[2] === undefined && method === 'GET') return json(res, 200, textView(t));
    if (m[2] !== undefined && method === 'POST') {
      const description = typeof body.description === 'string' ? body.description : undefined;
      if (t.state !== 'accepted') {
        const push = pushReceipts(sim, t.provider, [t], description);
        return json(res, 200, { text: textView(t), push: push.id, duplicate: true });
      }
      const push = sim.report([t], body.success !== false, typeof body.code === 'string' ? body.code : undefined, description);
      return json(res, 200, { text: textView(t), push: push?.id });
    }
    return json(res, 405, { error: 'GET, or POST …/receipt' });
  }
  if (path === '/sim/sms/receipts') {
    if (method === 'GET') return json(res, 200, sim.pushes);
    if (method === 'POST') {
      const ids = Array.isArray(body.messageIds) ? body.messageIds.map(String) : [];
      const texts = ids.map((id) => sim.texts.find((t) => t.messageId === id)).filter((t): t is SimText => t !== undefined);
      if (texts.length === 0 || texts.length !== ids.length || new Set(texts.map((t) => t.provider)).size !== 1) return json(res, 400, { error: '{messageIds: [...]} of texts of one provider' });
      const open = texts.filter((t) => t.state === 'accepted');
      const push = open.length > 0 ? sim.report(open, body.success !== false, typeof body.code === 'string' ? body.code : undefined) : pushReceipts(sim, texts[0]!.provider, texts, undefined, receiptBody(texts[0]!.provider, texts));
      return json(res, 200, { push: push?.id, texts: texts.map(textView) });
    }
  }
  if (path === '/sim/sms/callbacks' && method === 'PUT') {
    for (const p of SMS_PROVIDERS) {
      const v = body[p];
      if (v === null) delete sim.callbacks[p];
      else if (typeof v === 'string') sim.callbacks[p] = v;
    }
    return json(res, 200, sim.callbacks);
  }
  if (path === '/sim/sms/delivery' && method === 'PUT') {
    if (body.mode !== 'auto' && body.mode !== 'manual') return json(res, 400, { error: '{mode: auto|manual, delayMs?}' });
    sim.delivery = body.mode;
    if (typeof body.delayMs === 'number' && body.delayMs >= 0) sim.deliveryDelayMs = body.delayMs;
    return json(res, 200, { mode: sim.delivery, delayMs: sim.deliveryDelayMs });
  }
  if (path === '/sim/sms/faults') {
    if (method === 'GET') return json(res, 200, sim.faults.pending());
    if (method === 'DELETE') {
      sim.faults.clear();
      return json(res, 200, []);
    }
    if (method === 'POST') {
      const kind = body.kind as SmsFaultKind;
      const count = body.count ?? 1;
      if (!SMS_FAULT_KINDS.includes(kind) || typeof count !== 'number' || count < 1) return json(res, 400, { error: `{kind: ${SMS_FAULT_KINDS.join('|')}, provider?, count?, code?, message?, status?, hangMs?}` });
      if (body.provider !== undefined && !isProvider(body.provider)) return json(res, 400, { error: 'provider: aliyun or tencent' });
      sim.faults.add({
        kind,
        remaining: count,
        ...(isProvider(body.provider) ? { provider: body.provider } : {}),
        ...(typeof body.code === 'string' ? { code: body.code } : {}),
        ...(typeof body.message === 'string' ? { message: body.message } : {}),
        ...(typeof body.status === 'number' ? { status: body.status } : {}),
        ...(typeof body.hangMs === 'number' ? { hangMs: body.hangMs } : {}),
      });
      return json(res, 200, sim.faults.pending());
    }
  }
  if (path === '/sim/sms/templates' && method === 'POST') {
    if (!isProvider(body.provider) || typeof body.id !== 'string' || typeof body.text !== 'string') return json(res, 400, { error: '{provider, id, text}' });
    sim.templates.set(`${body.provider}:${body.id}`, { provider: body.provider, id: body.id, text: body.text });
    return json(res, 200, { provider: body.provider, id: body.id, text: body.text });
  }
  if (path === '/sim/sms/signs' && method === 'POST') {
    if (!isProvider(body.provider) || typeof body.name !== 'string') return json(res, 400, { error: '{provider, name}' });
    sim.signNames[body.provider].add(body.name);
    return json(res, 200, { provider: body.provider, signNames: [...sim.signNames[body.provider]] });
  }
  return json(res, 404, { error: `${method} ${path}: no such SMS control route` });
}
