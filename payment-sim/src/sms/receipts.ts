/**
 * Delivery receipts as the providers push them: one POST of a JSON array to the callback
 * URL configured in the console, taken only on the provider's terms (Alibaba: HTTP 200 and a
 * numeric `code`; Tencent: HTTP 200 and `result` 0), otherwise pushed again after each delay
 * of the retry schedule, then dropped. Neither provider signs these pushes.
 */
import type { SmsProvider } from './faults.js';
import type { SimText, SmsSimulator } from './simulator.js';

export interface ReceiptPush {
  id: number;
  provider: SmsProvider;
  url?: string;
  messageIds: string[];
  body: string;
  attempts: { at: string; status?: number; body?: string; error?: string; ok: boolean }[];
  delivered: boolean;
  abandoned: boolean;
}

/** "2017-01-01 00:00:00", Beijing time. */
function beijing(at: Date): string {
  return new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

const ALIYUN_TEXT: Record<string, string> = { DELIVERED: '用户接收成功', 'MK:0001': '用户手机号码停机', 'MK:0005': '号码状态异常' };

export function receiptBody(provider: SmsProvider, texts: SimText[], description?: string): string {
  if (provider === 'aliyun')
    return JSON.stringify(
      texts.map((t) => ({
        phone_number: t.phone,
        send_time: beijing(t.acceptedAt),
        report_time: beijing(t.reportedAt ?? t.acceptedAt),
        success: t.state === 'delivered',
        err_code: t.reportCode,
        err_msg: description ?? ALIYUN_TEXT[t.reportCode ?? ''] ?? '用户接收失败',
        sms_size: String(Math.max(1, Math.ceil(t.text.length / 67))),
        biz_id: t.messageId,
        ...(t.ref === undefined ? {} : { out_id: t.ref }),
      })),
    );
  return JSON.stringify(
    texts.map((t) => ({
      user_receive_time: beijing(t.reportedAt ?? t.acceptedAt),
      nationcode: '86',
      mobile: t.phone,
      report_status: t.state === 'delivered' ? 'SUCCESS' : 'FAIL',
      errmsg: t.reportCode,
      description: description ?? (t.state === 'delivered' ? '用户短信送达成功' : '用户短信未送达'),
      sid: t.messageId,
    })),
  );
}

function taken(provider: SmsProvider, status: number, text: string): boolean {
  if (status !== 200) return false;
  try {
    const v = JSON.parse(text) as { code?: unknown; result?: unknown };
    return provider === 'aliyun' ? typeof v.code === 'number' : v.result === 0;
  } catch {
    return false;
  }
}

let pushId = 0;

/** Push these texts' receipts (or an exact body, for tests of the merchant's parser) to the provider's callback URL. */
export function pushReceipts(sim: SmsSimulator, provider: SmsProvider, texts: SimText[], description?: string, body = receiptBody(provider, texts, description)): ReceiptPush {
  const url = sim.callbacks[provider];
  const push: ReceiptPush = { id: ++pushId, provider, ...(url === undefined ? {} : { url }), messageIds: texts.map((t) => t.messageId), body, attempts: [], delivered: false, abandoned: url === undefined };
  sim.pushes.push(push);
  if (url !== undefined) void attempt(sim, push, url, 0);
  return push;
}

async function attempt(sim: SmsSimulator, push: ReceiptPush, url: string, n: number): Promise<void> {
  const record: ReceiptPush['attempts'][number] = { at: sim.now().toISOString(), ok: false };
  push.attempts.push(record);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json;charset=utf-8', 'User-Agent': 'stile-smssim' }, body: push.body, signal: controller.signal, redirect: 'manual' });
    const text = await res.text();
    record.status = res.status;
    record.body = text.slice(0, 200);
    record.ok = taken(push.provider, res.status, text);
  } catch (err) {
    record.error = controller.signal.aborted ? 'no answer within 5000 ms' : (err as Error).message;
  } finally {
    clearTimeout(timer);
  }
  if (record.ok) {
    push.delivered = true;
    return;
  }
  const delay = sim.receiptRetryMs[n];
  if (delay === undefined) {
    push.abandoned = true;
    return;
  }
  sim.later(delay, () => void attempt(sim, push, url, n + 1));
}
