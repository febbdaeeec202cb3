/*
 * WeChat Pay / Alipay: the visitor's payment code scanned (micropay: paid, pending → query,
 * failed → reverse, too long → reverse) or a QR code on screen (Native/precreate: query until
 * paid; closed on cancel or timeout). Every attempt is journaled before it is asked for, so a
 * power cut leaves an attempt to close or find paid. A close that finds the trade paid gives
 * the visitor the ticket unless they cancelled (then it is refunded).
 */
import type { SaleEvent } from './events.js';
import { startRecording } from './flow-finish.js';
import type { CloseWhy, ProviderMethod } from './model.js';
import { yuan, type TextKey } from './text.js';
import { endSale, type Tx } from './tx.js';

const AUTH_CODE_MAX = 128;

export function startProvider(tx: Tx, method: ProviderMethod, authCode?: string): void {
  const sale = tx.sale;
  sale.attempts += 1;
  const id = `${sale.id}-${sale.attempts}`;
  sale.attempt = { id, method, startedAt: tx.at, lastQueryAt: tx.at, closeTries: 0, lastCloseAt: 0 };
  const amountFen = sale.money.totalFen;
  tx.journal({ kind: 'provider_started', attemptId: id, method, amountFen });
  if (method === 'code') {
    tx.emit({ kind: 'pay_with_code', attemptId: id, orderId: sale.orderId as string, amountFen, authCode: authCode ?? '' });
    tx.go('code_pending');
    tx.say('payment_pending');
  } else {
    tx.emit({ kind: 'create_qr', attemptId: id, orderId: sale.orderId as string, amountFen });
    tx.go('qr');
    tx.say('scan_qr');
  }
}

export function onCodeWait(tx: Tx, ev: SaleEvent): boolean {
  switch (ev.kind) {
    case 'payment_code_scanned':
      if (typeof ev.authCode !== 'string' || !ev.authCode || ev.authCode.length > AUTH_CODE_MAX) return tx.ignore('bad_auth_code');
      startProvider(tx, 'code', ev.authCode);
      return true;
    case 'back':
      tx.go('review');
      tx.say('choose_payment', { total: yuan(tx.sale.money.totalFen) });
      return true;
    case 'cancel':
      endSale(tx, 'cancelled', 'cancelled');
      return true;
    default:
      return false;
  }
}

const isMine = (tx: Tx, ev: { attemptId?: unknown }) => tx.sale.attempt !== undefined && ev.attemptId === tx.sale.attempt.id;

/** Phases code_pending and qr: an attempt is out, waiting for the visitor to pay. */
export function onAttempt(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  const attempt = sale.attempt;
  if (!attempt) return false;
  switch (ev.kind) {
    case 'qr_ready':
      if (!isMine(tx, ev) || attempt.method !== 'qr') return tx.ignore('other_attempt');
      attempt.codeUrl = String(ev.codeUrl);
      tx.say('scan_qr');
      return true;
    case 'qr_failed':
      if (!isMine(tx, ev)) return tx.ignore('other_attempt');
      beginClose(tx, 'failed');
      return true;
    case 'payment_update':
      if (!isMine(tx, ev)) return tx.ignore('other_attempt');
      if (ev.status === 'paid') {
        const amount = ev.amountFen ?? sale.money.totalFen;
        if (amount !== sale.money.totalFen) return beginClose(tx, 'mismatch'), true;
        tx.journal({ kind: 'provider_paid', attemptId: attempt.id, method: attempt.method, amountFen: amount });
        delete sale.attempt;
        startRecording(tx);
        return true;
      }
      if (ev.status === 'failed') return beginClose(tx, 'failed'), true;
      if (attempt.method === 'code') tx.say('payment_pending');
      return true;
    case 'tick': {
      const limit = attempt.method === 'code' ? tx.cfg.codeTimeoutMs : tx.cfg.qrTimeoutMs;
      if (tx.at - attempt.startedAt >= limit) return beginClose(tx, 'timeout'), true;
      if (tx.at - attempt.lastQueryAt >= tx.cfg.pollMs) {
        attempt.lastQueryAt = tx.at;
        tx.emit({ kind: 'query_payment', attemptId: attempt.id });
      }
      return true;
    }
    case 'cancel':
      beginClose(tx, 'cancel');
      return true;
    default:
      return false;
  }
}

const CLOSE_TEXT: Record<CloseWhy, TextKey> = {
  cancel: 'cancelled',
  timeout: 'payment_timeout',
  failed: 'payment_failed',
  recovery: 'staff_called',
  mismatch: 'amount_mismatch',
};

/** Close (QR) or reverse (code) the attempt; journaled first, since a reverse may move money back. */
export function beginClose(tx: Tx, why: CloseWhy): void {
  const sale = tx.sale;
  const attempt = sale.attempt;
  if (!attempt) return;
  attempt.closing = why;
  attempt.closeTries = 1;
  attempt.lastCloseAt = tx.at;
  delete attempt.closeFailed;
  if (why === 'cancel') sale.ending = 'cancelled';
  tx.journal({ kind: 'provider_closing', attemptId: attempt.id, why });
  tx.emit({ kind: 'close_payment', attemptId: attempt.id, method: attempt.method });
  tx.go('closing');
  tx.say(CLOSE_TEXT[why]);
}

export function onClosing(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  const attempt = sale.attempt;
  if (!attempt?.closing) return false;
  const why = attempt.closing;
  switch (ev.kind) {
    case 'payment_closed': {
      if (!isMine(tx, ev)) return tx.ignore('other_attempt');
      const amount = Number.isInteger(ev.amountFen) && (ev.amountFen as number) > 0 ? (ev.amountFen as number) : sale.money.totalFen;
      if (ev.outcome === 'paid') {
        // The visitor paid before the close: a ticket, unless they cancelled or paid the wrong amount.
        if (why !== 'cancel' && why !== 'mismatch' && amount === sale.money.totalFen) {
          tx.journal({ kind: 'provider_paid', attemptId: attempt.id, method: attempt.method, amountFen: amount });
          delete sale.attempt;
          startRecording(tx);
          return true;
        }
        refundProvider(tx, amount, why);
        return true;
      }
      tx.journal({ kind: 'provider_closed', attemptId: attempt.id, outcome: ev.outcome === 'refunded' ? 'refunded' : 'closed', amountFen: amount });
      delete sale.attempt;
      afterClosed(tx, why);
      return true;
    }
    case 'payment_close_failed':
      if (!isMine(tx, ev)) return tx.ignore('other_attempt');
      attempt.closeFailed = true;
      attempt.lastCloseAt = tx.at;
      if (attempt.closeTries >= tx.cfg.closeRetries) unresolved(tx);
      return true;
    case 'tick': {
      const waited = tx.at - attempt.lastCloseAt;
      const retry = attempt.closeFailed ? waited >= tx.cfg.pollMs : waited >= tx.cfg.deviceTimeoutMs;
      if (!retry) return true;
      if (attempt.closeTries >= tx.cfg.closeRetries) return unresolved(tx), true;
      attempt.closeTries += 1;
      attempt.lastCloseAt = tx.at;
      delete attempt.closeFailed;
      tx.emit({ kind: 'close_payment', attemptId: attempt.id, method: attempt.method });
      return true;
    }
    case 'payment_update':
      // The close's answer decides; a paid report now would race it.
      tx.log('update_while_closing');
      return true;
    case 'cancel':
      if (why !== 'cancel') sale.ending = 'cancelled';
      return true;
    default:
      return false;
  }
}

function afterClosed(tx: Tx, why: CloseWhy): void {
  const sale = tx.sale;
  if (sale.ending || why === 'cancel' || why === 'recovery') {
    const outcome = sale.ending ?? (why === 'recovery' ? 'fault' : 'cancelled');
    return endSale(tx, outcome, outcome === 'timeout' ? 'idle_timeout' : outcome === 'fault' ? 'staff_called' : 'cancelled');
  }
  tx.go('review');
  tx.say(CLOSE_TEXT[why]);
}

/** Closes keep failing: recorded, and left to the cloud, which closes or reverses the trade at the order's deadline. */
function unresolved(tx: Tx): void {
  const attempt = tx.sale.attempt;
  if (!attempt) return;
  tx.journal({ kind: 'provider_unresolved', attemptId: attempt.id });
  tx.emit({ kind: 'alert_staff', reason: 'payment_unresolved', saleId: tx.sale.id });
  delete tx.sale.attempt;
  endSale(tx, 'fault', 'payment_unresolved');
}

/** Give a provider payment back (cancelled, wrong amount, or the sale could not be recorded). */
export function refundProvider(tx: Tx, amountFen: number, why: string): void {
  const sale = tx.sale;
  const attemptId = sale.attempt?.id ?? `${sale.id}-${sale.attempts}`;
  sale.attempt = { ...(sale.attempt ?? { id: attemptId, method: 'qr', startedAt: tx.at, lastQueryAt: tx.at, closeTries: 0, lastCloseAt: 0 }), refundFen: amountFen };
  sale.ending ??= 'cancelled';
  tx.journal({ kind: 'provider_refund', attemptId, amountFen, why });
  tx.emit({ kind: 'refund_payment', attemptId, orderId: sale.orderId ?? '', amountFen, reason: why });
  tx.go('refunding');
  tx.say(why === 'mismatch' ? 'amount_mismatch' : 'refund_started');
}

/** Phase refunding, provider side: the refund's answer (no answer in time: recorded as still to do). */
export function onProviderRefund(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  const attempt = sale.attempt;
  if (attempt?.refundFen === undefined) return false;
  const late = ev.kind === 'tick' && tx.at - tx.s.since >= tx.cfg.deviceTimeoutMs;
  if (ev.kind !== 'refund_result' && !late) return ev.kind === 'tick';
  const ok = ev.kind === 'refund_result' && ev.ok === true;
  tx.journal({ kind: 'provider_refunded', attemptId: attempt.id, amountFen: attempt.refundFen, ok });
  delete sale.attempt;
  const outcome = sale.ending ?? 'cancelled';
  endSale(tx, outcome, ok ? 'refund_done' : 'refund_failed');
  return true;
}
