/**
 * Orders paid through the providers (issue #16 point 3). An order of a provider-mode channel
 * becomes paid only when the provider verifiably says so — a notification whose signature
 * verified (and, for WeChat Pay, whose resource decrypted), or an active query — through the
 * OrderPayments port sales offers. Money that buys nothing (paid after the order expired, paid
 * twice, or not the order's amount) is refunded automatically, recorded, and staff alerted.
 *
 * Every step is idempotent and recorded before the next: an attempt is stored before the
 * provider hears of it (so the sweep can close it), money is recorded as `paid` before the
 * order is asked to take it (so a crash in between is settled by the sweep), and a refund is
 * recorded in the same transaction as the outcome that calls for it (so it is sent until the
 * provider confirms it).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Alerts } from '../../core/alerts.js';
import type { Channel } from '../../core/catalogue.js';
import type { PaymentRefundsTable } from '../../core/db/schema.js';
import { CloudError, errorArea, isCloudError } from '../../core/errors.js';
import type { Reply } from '../../core/http/refusals.js';
import type { ModuleContext } from '../../core/module.js';
import type { OrderPayments, OwedRefund, PayableOrder } from '../../core/ports.js';
import type { SalesSite } from '../../core/sites.js';
import type { ProviderSet } from './provider-set.js';
import type { HeaderBag } from './wechat-verify.js';
import type { InAppPayment, NotificationAck, Paid, PaymentEvent, PaymentProvider, ProviderId } from './provider.js';
import { PaymentsRepository, type Outcome, type PaymentRow, type RefundCause, type RefundRow } from './repository.js';
import type { CreatePaymentBody } from './schemas.js';

export type PaymentsContext = Pick<ModuleContext, 'store' | 'sites' | 'clock' | 'log' | 'metrics'>;

export interface PaymentsDeps {
  /** Sales: the payable view of orders, confirmPaid, expiry, refund states. */
  orders: OrderPayments;
  providers: ProviderSet;
  alerts: Pick<Alerts, 'raise'>;
  /** The follow-up of payment codes the visitor confirms on the phone (followUpCodes). */
  codePayments?: CodePaymentOptions;
}

/** How a `pending` payment code is followed up: queried every `queryEveryMs`, reversed once `reverseAfterMs` old and still unpaid. */
export interface CodePaymentOptions {
  /** Default 5000 (WeChat Pay and Alipay both suggest asking every ~5 s). */
  queryEveryMs?: number;
  /** Default 30000 (their suggested ~30 s before cancelling). */
  reverseAfterMs?: number;
}

export const CODE_QUERY_EVERY_MS = 5000;
export const CODE_REVERSE_AFTER_MS = 30_000;
/** A code younger than this may still be on its way to the provider from another instance: left alone. */
const CODE_GUARD_MS = 2000;

/** What one follow-up of pending payment codes did. */
export interface CodeFollowUpReport {
  queried: number;
  paid: number;
  reversed: number;
  errors: number;
}

/** What one sweep did (tests, logs). */
export interface SweepReport {
  closed: number;
  expired: number;
  settled: number;
  refundsSent: number;
  errors: number;
}

/** An attempt younger than this is left to its caller (it may be reaching the provider right now). */
const SETTLE_MS = 10_000;
/** A refund the provider accepted (processing) is asked about again after this. */
const REFUND_RECHECK_MS = 30_000;
/** Backoff of a refund that could not be sent (timeout, 5xx): 5 s, 15 s, 45 s … at most 10 min. */
const refundBackoffMs = (attempts: number): number => Math.min(600_000, 5000 * 3 ** Math.max(0, attempts - 1));

const AUTO_REFUND_TEXT: Record<Exclude<RefundCause, 'visitor'>, { zh: string; en: string }> = {
  late_payment: { zh: '订单已过期，款项原路退回', en: 'paid after the order expired' },
  duplicate: { zh: '重复支付，款项原路退回', en: 'paid twice' },
  amount_mismatch: { zh: '支付金额与订单不符，款项原路退回', en: 'the amount paid is not the order amount' },
};

/** A payment-area error as the channel sees it: timeout, refused or unavailable (the rest is ours to log, not theirs to parse). */
export function channelError(err: unknown): CloudError {
  if (!isCloudError(err)) throw err;
  if (errorArea(err.code) !== 'payment' || err.code === 'payment_by_partner' || err.code === 'provider_not_configured') return err;
  if (err.code === 'payment_timeout') return new CloudError('payment_timeout', 'the payment provider did not answer in time; the payment state shows what happened (GET …/payment)');
  if (err.code === 'payment_refused') return new CloudError('payment_refused', err.message);
  return new CloudError('payment_unavailable', err.code === 'payment_unavailable' ? err.message : `the payment provider's answer could not be used (${err.code})`);
}

export class Payments {
  readonly repo: PaymentsRepository;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly refunding = new Set<string>();
  /** Payment codes whose first request is at the provider now: not to be queried or reversed under it. */
  private readonly codeInFlight = new Set<string>();
  private sweeping = false;
  private followingUp = false;

  constructor(
    private readonly ctx: PaymentsContext,
    private readonly deps: PaymentsDeps,
  ) {
    this.repo = new PaymentsRepository(ctx.store);
  }

  private now(): Date {
    return this.ctx.clock();
  }

  /** Work after an answer (a refund to send): tracked, so stop() waits for it; never rejects. */
  private background(work: () => Promise<void>): void {
    const p = work().catch((err: unknown) => this.ctx.log.warn({ err }, 'payment background step failed; the sweep tries again'));
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Wait for the background steps (stop()). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The order of this channel, or unknown_order. */
  private async order(site: string, channel: Channel, orderId: string): Promise<PayableOrder> {
    if (channel.payment !== 'provider') throw new CloudError('payment_by_partner', `channel ${channel.id} collects payment itself: confirm with POST /v1/channel/orders/${orderId}/pay`);
    const order = await this.deps.orders.payable(site, orderId);
    if (!order || order.channel !== channel.id) throw new CloudError('unknown_order', `no order ${orderId} on this channel`);
    return order;
  }

  private provider(site: string, id: ProviderId): PaymentProvider {
    const p = this.deps.providers.get(site, id);
    if (!p) throw new CloudError('provider_not_configured', `site ${site} has no ${id === 'wechat' ? 'WeChat Pay' : 'Alipay'} configured`);
    return p;
  }

  // ---- the channel routes ------------------------------------------------------------------

  /**
   * A payment for a pending order: a QR code, the in-app payment sheet, or a scanned payment
   * code. A QR or in-app attempt still pending is shown again rather than made twice; a
   * payment code already taken for this (still pending) order answers with that payment's
   * state, never a second charge.
   */
  async create(site: SalesSite, channel: Channel, orderId: string, body: CreatePaymentBody): Promise<Reply> {
    const order = await this.order(site.id, channel, orderId);
    if (order.status === 'paid') throw new CloudError('already_paid', `order ${orderId} is paid`);
    if (order.status === 'expired' || (order.status === 'pending' && this.now() >= order.deadline)) throw new CloudError('order_expired', `order ${orderId} was not paid within its hold; its places are released`);
    if (order.status !== 'pending') throw new CloudError('not_payable', `order ${orderId} is ${order.status}`);
    const provider = this.provider(site.id, body.provider);
    if (body.method === 'code' && body.authCode === undefined) throw new CloudError('invalid_request', 'authCode: the scanned payment code is required for method code');
    if (body.method === 'in_app' && body.provider === 'wechat' && body.openid === undefined) throw new CloudError('invalid_request', "openid: WeChat in-app payment (JSAPI) needs the visitor's openid");
    if (body.method === 'qr') return this.createQr(site, order, provider, body);
    if (body.method === 'in_app') return this.createInApp(site, order, provider, body);
    return this.payWithCode(site, order, provider, body);
  }

  private async createQr(site: SalesSite, order: PayableOrder, provider: PaymentProvider, body: CreatePaymentBody): Promise<Reply> {
    const again = await this.repo.reusable(site.id, order.orderId, provider.id, 'qr');
    if (again) return this.created(again, { codeUrl: again.code_url! });
    const a = await this.newAttempt(order, provider.id, 'qr');
    try {
      const { codeUrl } = await provider.createQr(this.providerOrder(a, order));
      await this.repo.setShown(a.out_trade_no, codeUrl, this.now().toISOString());
      this.ctx.log.info({ site: site.id, orderId: order.orderId, outTradeNo: a.out_trade_no, provider: provider.id, method: 'qr' }, 'payment created');
      return this.created(a, { codeUrl });
    } catch (err) {
      throw await this.createFailed(a, err, body);
    }
  }

  private async createInApp(site: SalesSite, order: PayableOrder, provider: PaymentProvider, body: CreatePaymentBody): Promise<Reply> {
    const again = await this.repo.reusable(site.id, order.orderId, provider.id, 'in_app');
    const inApp = (a: PaymentRow): Promise<InAppPayment> =>
      provider.createInApp({ ...this.providerOrder(a, order), ...(body.openid !== undefined ? { openid: body.openid } : {}), ...(body.returnUrl !== undefined ? { returnUrl: body.returnUrl, quitUrl: body.returnUrl } : {}) });
    if (again) {
      // The same trade again (WeChat answers the same prepay_id for the same parameters); another visitor identity is a new trade.
      try {
        return this.created(again, { inApp: await inApp(again) });
      } catch (err) {
        if (!isCloudError(err, 'payment_refused')) throw channelError(err);
      }
    }
    const a = await this.newAttempt(order, provider.id, 'in_app');
    try {
      const payment = await inApp(a);
      await this.repo.setShown(a.out_trade_no, payment.kind, this.now().toISOString());
      this.ctx.log.info({ site: site.id, orderId: order.orderId, outTradeNo: a.out_trade_no, provider: provider.id, method: 'in_app' }, 'payment created');
      return this.created(a, { inApp: payment });
    } catch (err) {
      throw await this.createFailed(a, err, body);
    }
  }

  private async payWithCode(site: SalesSite, order: PayableOrder, provider: PaymentProvider, body: CreatePaymentBody): Promise<Reply> {
    // The code itself is never stored: a keyed hash finds a retried scan's attempt.
    const codeHash = createHmac('sha256', site.idHashKey).update(`paycode\0${body.authCode!}`).digest('hex');
    const seen = await this.repo.byAuthCode(site.id, order.orderId, codeHash);
    if (seen) {
      if (seen.state === 'pending') await this.refresh(seen);
      return this.created((await this.repo.attempt(seen.out_trade_no)) ?? seen, {});
    }
    const a = await this.newAttempt(order, provider.id, 'code', codeHash);
    this.codeInFlight.add(a.out_trade_no);
    try {
      const r = await provider.payWithCode({ ...this.providerOrder(a, order), authCode: body.authCode!, ...(body.deviceId !== undefined ? { deviceId: body.deviceId } : {}) });
      this.ctx.log.info({ site: site.id, orderId: order.orderId, outTradeNo: a.out_trade_no, provider: provider.id, method: 'code', result: r.result }, 'payment code taken');
      if (r.result === 'paid') await this.settle(a, r);
      if (r.result === 'failed') {
        // Reversed by the sweep to be sure no money moved.
        await this.repo.markFailed(a.out_trade_no, `${r.providerCode} ${r.message}`.trim(), this.now().toISOString());
        return this.created((await this.repo.attempt(a.out_trade_no))!, { failure: { providerCode: r.providerCode, message: r.message } });
      }
      return this.created((await this.repo.attempt(a.out_trade_no))!, {});
    } catch (err) {
      throw await this.createFailed(a, err, body);
    } finally {
      this.codeInFlight.delete(a.out_trade_no);
    }
  }

  /** The order as the provider gets it: our number, the amount, the receipt text, the deadline, the order id passed back. */
  private providerOrder(a: PaymentRow, order: PayableOrder): { outTradeNo: string; amountFen: number; description: string; expiresAt: Date; attach: string } {
    return { outTradeNo: a.out_trade_no, amountFen: Number(a.amount_fen), description: order.description, expiresAt: order.deadline, attach: order.orderId };
  }

  /** Stored before the provider hears of it, so a crash or a timeout leaves an attempt the sweep closes. */
  private async newAttempt(order: PayableOrder, provider: ProviderId, method: 'qr' | 'in_app' | 'code', authCodeHash: string | null = null): Promise<PaymentRow> {
    const now = this.now().toISOString();
    // 25 characters of [0-9A-Za-z]: unique, and inside WeChat's 6–32.
    const row: PaymentRow = {
      out_trade_no: `P${randomBytes(18).toString('base64url').replace(/[-_]/g, '').slice(0, 24).padEnd(24, '0')}`,
      site: order.site,
      order_id: order.orderId,
      provider,
      method,
      amount_fen: order.amountFen,
      state: 'pending',
      code_url: null,
      auth_code_hash: authCodeHash,
      transaction_id: null,
      paid_fen: null,
      paid_at: null,
      outcome: null,
      failure: null,
      created_at: now,
      expires_at: order.deadline.toISOString(),
      closed_at: null,
      updated_at: now,
    };
    await this.repo.insertAttempt(row);
    return row;
  }

  /** A create that failed: refused → failed; otherwise (timeout, 5xx) it may exist at the provider and stays pending for the sweep. */
  private async createFailed(a: PaymentRow, err: unknown, body: CreatePaymentBody): Promise<CloudError> {
    if (!isCloudError(err)) throw err;
    const now = this.now().toISOString();
    const text = `${err.code}: ${err.message}`.slice(0, 500);
    if (err.code === 'payment_refused' || err.code === 'invalid_request') await this.repo.markFailed(a.out_trade_no, text, now);
    else await this.repo.noteFailure(a.out_trade_no, text, now);
    this.ctx.log.warn({ site: a.site, orderId: a.order_id, outTradeNo: a.out_trade_no, provider: body.provider, method: body.method, code: err.code, err: err.message }, 'payment not created');
    return channelError(err);
  }

  private async created(a: PaymentRow, extra: { codeUrl?: string; inApp?: InAppPayment; failure?: { providerCode: string; message: string } }): Promise<Reply> {
    const order = await this.deps.orders.payable(a.site, a.order_id);
    const failure = extra.failure ?? (a.state === 'failed' && a.failure ? { providerCode: a.failure.split(/[\s:]/)[0] ?? 'FAILED', message: a.failure } : undefined);
    return {
      status: 200,
      body: {
        orderId: a.order_id,
        outTradeNo: a.out_trade_no,
        provider: a.provider,
        method: a.method,
        state: a.state,
        amountFen: Number(a.amount_fen),
        expiresAt: a.expires_at,
        orderStatus: order?.status ?? 'pending',
        ...(extra.codeUrl !== undefined ? { codeUrl: extra.codeUrl } : {}),
        ...(extra.inApp !== undefined ? { inApp: extra.inApp } : {}),
        ...(failure ? { failure } : {}),
      },
    };
  }

  /**
   * The order's payment state. While an attempt is pending the provider is asked (an active
   * query): a visitor who closed the page mid-payment, or a notification that never came,
   * still ends in a paid order — or, too late, in a recorded refund.
   */
  async state(site: SalesSite, channel: Channel, orderId: string): Promise<Reply> {
    await this.order(site.id, channel, orderId);
    const pending = (await this.repo.attempts(site.id, orderId)).filter((a) => a.state === 'pending');
    await Promise.all(pending.map((a) => this.refresh(a)));
    const order = await this.order(site.id, channel, orderId);
    const [attempts, refunds] = await Promise.all([this.repo.attempts(site.id, orderId), this.repo.refundsOfOrder(site.id, orderId)]);
    return {
      status: 200,
      body: {
        orderId,
        orderStatus: order.status,
        amountFen: order.amountFen,
        deadline: order.deadline.toISOString(),
        paymentRef: order.paymentRef,
        refundState: order.refundState,
        payments: attempts.map((a) => ({
          outTradeNo: a.out_trade_no,
          provider: a.provider,
          method: a.method,
          state: a.state,
          amountFen: Number(a.amount_fen),
          createdAt: a.created_at,
          expiresAt: a.expires_at,
          transactionId: a.transaction_id,
          paidAt: a.paid_at,
          outcome: a.outcome,
          failure: a.failure,
        })),
        refunds: refunds.map((r) => ({
          outRefundNo: r.out_refund_no,
          outTradeNo: r.out_trade_no,
          provider: r.provider,
          amountFen: Number(r.amount_fen),
          cause: r.cause,
          reason: r.reason,
          state: r.state,
          createdAt: r.created_at,
          succeededAt: r.succeeded_at,
        })),
      },
    };
  }

  /** Ask the provider about a pending attempt (never throws: the answer is what is known now). */
  async refresh(a: PaymentRow): Promise<void> {
    const provider = this.deps.providers.get(a.site, a.provider as ProviderId);
    if (!provider) return;
    try {
      const q = await provider.query(a.out_trade_no);
      if (q.state === 'paid') await this.settle(a, q);
      else if (q.state === 'closed') await this.repo.markClosed(a.out_trade_no, this.now().toISOString());
      else if (q.state === 'refunded') await this.repo.noteFailure(a.out_trade_no, 'paid and refunded at the provider (not by Stile)', this.now().toISOString());
    } catch (err) {
      this.ctx.log.warn({ site: a.site, outTradeNo: a.out_trade_no, code: isCloudError(err) ? err.code : undefined, err: (err as Error).message }, 'payment query failed');
    }
  }

  // ---- notifications -----------------------------------------------------------------------

  /**
   * A provider's notification, from its raw body: verified (and decrypted) by the site's
   * provider — each site's in turn when several have one of this kind — then applied once
   * (dedupe by the notification id, and by state). Forged, tampered, stale or foreign
   * notifications change nothing and are answered as a failure.
   */
  async notify(kind: ProviderId, headers: HeaderBag, rawBody: string): Promise<NotificationAck | undefined> {
    const candidates = this.deps.providers.ofKind(kind);
    if (candidates.length === 0) return undefined;
    let verified: { site: string; provider: PaymentProvider; event: PaymentEvent } | undefined;
    let refusal: unknown;
    for (const c of candidates) {
      try {
        verified = { ...c, event: c.provider.parseNotification(headers, rawBody) };
        break;
      } catch (err) {
        refusal = err;
      }
    }
    const ack = candidates[0]!.provider;
    if (!verified) {
      const code = isCloudError(refusal) ? refusal.code : 'error';
      this.ctx.metrics.refuse(`payment_notification.${code}`);
      this.ctx.log.warn({ provider: kind, code, err: (refusal as Error | undefined)?.message }, 'payment notification refused');
      return ack.notificationAck(false);
    }
    const { event } = verified;
    try {
      if (await this.repo.seenNotification(kind, event.notificationId)) {
        this.ctx.log.info({ provider: kind, notificationId: event.notificationId }, 'payment notification again (already handled)');
        return verified.provider.notificationAck(true);
      }
      // A payment is recorded with what it bought, in one commit; anything else after it is handled.
      if (!(await this.apply(verified.site, kind, event, headers, rawBody))) {
        await this.repo.recordNotification(kind, event.notificationId, event.kind, event.kind === 'other' ? null : event.outTradeNo, this.now().toISOString());
      }
      return verified.provider.notificationAck(true);
    } catch (err) {
      // Not handled (the store is down…): the provider retries.
      this.ctx.log.warn({ err, provider: kind, notificationId: event.notificationId }, 'payment notification not handled; the provider will retry');
      return verified.provider.notificationAck(false);
    }
  }

  /** A notification verified by `verifiedBy`'s provider is about `site`'s trade when that site's own provider verifies it too (sites may share a merchant). */
  private belongs(site: string, verifiedBy: string, kind: ProviderId, headers: HeaderBag, rawBody: string): boolean {
    if (site === verifiedBy) return true;
    const own = this.deps.providers.get(site, kind);
    if (!own) return false;
    try {
      own.parseNotification(headers, rawBody);
      return true;
    } catch {
      return false;
    }
  }

  /** Act on a verified notification; true when its id was recorded with what it did. */
  private async apply(site: string, kind: ProviderId, event: PaymentEvent, headers: HeaderBag, rawBody: string): Promise<boolean> {
    const log = this.ctx.log;
    if (event.kind === 'other') {
      log.info({ provider: kind, eventType: event.eventType }, 'payment notification of another kind');
      return false;
    }
    if (event.kind === 'refund') {
      const r = event.outRefundNo !== undefined ? await this.repo.refund(event.outRefundNo) : await this.repo.latestRefundOfTrade(event.outTradeNo);
      if (!r || !this.belongs(r.site, site, kind, headers, rawBody)) {
        log.info({ provider: kind, outTradeNo: event.outTradeNo, outRefundNo: event.outRefundNo }, 'refund notification for a refund Stile did not send (reversal, merchant portal)');
        return false;
      }
      if (event.state === 'succeeded') await this.refundSucceeded(r, event.refundId);
      else await this.refundFailed(r, `the provider reports the refund ${event.state}`);
      return false;
    }
    const a = await this.repo.attempt(event.outTradeNo);
    if (!a || a.provider !== kind || !this.belongs(a.site, site, kind, headers, rawBody)) {
      // Not ours (the merchant account may also serve a shop): never refunded blindly; the daily reconciliation lists it.
      log.warn({ provider: kind, outTradeNo: event.outTradeNo, kind: event.kind }, 'payment notification for a trade Stile did not make');
      if (event.kind === 'paid') {
        await this.deps.alerts.raise({
          site,
          kind: 'payment_problem',
          at: this.now().toISOString(),
          message: { zh: `收到未知订单的支付通知（${kind} ${event.outTradeNo}，${event.amountFen} 分），请对账核实`, en: `Payment notification for a trade Stile did not make (${kind} ${event.outTradeNo}, ${event.amountFen} fen): check it against the bill` },
          details: { provider: kind, outTradeNo: event.outTradeNo, amountFen: event.amountFen },
        });
      }
      return false;
    }
    if (event.kind === 'closed') {
      await this.repo.markClosed(a.out_trade_no, this.now().toISOString());
      return false;
    }
    await this.settle(a, event, { provider: kind, id: event.notificationId });
    return true;
  }

  // ---- settling the money --------------------------------------------------------------------

  /**
   * The provider took `paid` on attempt `a`: the order takes it (OrderPayments.confirmPaid),
   * and in the same transaction the money is recorded with what it bought — the order's
   * tickets, or (the order expired, is paid already, or costs another amount) a refund, sent
   * at once and retried by the sweep until the provider confirms it, and a staff alert. One
   * commit: the payment is never recorded without its outcome, nor the order paid without the
   * payment on record. Idempotent: a second report of the same transaction changes nothing.
   */
  async settle(a: PaymentRow, paid: Paid, notification?: { provider: ProviderId; id: string }): Promise<Outcome | undefined> {
    const now = this.now();
    const iso = now.toISOString();
    const paidAt = paid.paidAt ?? now;
    const cur = await this.repo.attempt(a.out_trade_no);
    if (!cur) return undefined;
    if (cur.transaction_id !== null && cur.transaction_id !== paid.transactionId) {
      this.ctx.log.error({ site: a.site, outTradeNo: a.out_trade_no, stored: cur.transaction_id, reported: paid.transactionId }, 'two transactions reported for one trade; the first is kept');
      return undefined;
    }
    if (cur.outcome !== null) {
      if (notification) await this.repo.recordNotification(notification.provider, notification.id, 'paid', cur.out_trade_no, iso);
      return cur.outcome as Outcome;
    }
    const refundFor = (cause: Exclude<Outcome, 'ticketed'>): PaymentRefundsTable => ({
      out_refund_no: `${cur.out_trade_no}R`,
      site: cur.site,
      order_id: cur.order_id,
      out_trade_no: cur.out_trade_no,
      provider: cur.provider,
      amount_fen: paid.amountFen,
      total_fen: paid.amountFen,
      cause,
      reason: cause,
      state: 'pending',
      refund_id: null,
      attempts: 0,
      last_error: null,
      next_at: iso,
      created_at: iso,
      updated_at: iso,
      succeeded_at: null,
    });
    let outcome: Outcome | undefined;
    let refund: PaymentRefundsTable | undefined;
    await this.deps.orders.confirmPaid(cur.site, cur.order_id, { provider: cur.provider as ProviderId, transactionId: paid.transactionId, amountFen: paid.amountFen, paidAt }, async (db, result) => {
      outcome = undefined;
      refund = undefined;
      await this.repo.markPaid(cur.out_trade_no, { transactionId: paid.transactionId, amountFen: paid.amountFen, paidAt: paidAt.toISOString() }, iso, db);
      if (result === 'paid' || result === 'already_paid') {
        outcome = 'ticketed';
        await this.repo.settleTicketed(cur.out_trade_no, iso, db);
      } else {
        const cause = result === 'expired' ? 'late_payment' : result === 'amount_mismatch' ? 'amount_mismatch' : 'duplicate';
        outcome = cause;
        const row = refundFor(cause);
        if (await this.repo.settleRefunded(cur.out_trade_no, cause, row, db)) refund = row;
      }
      if (notification) await this.repo.recordNotification(notification.provider, notification.id, 'paid', cur.out_trade_no, iso, db);
    });
    if (refund && outcome && outcome !== 'ticketed') {
      const cause = outcome;
      const text = AUTO_REFUND_TEXT[cause];
      this.ctx.log.warn({ site: cur.site, orderId: cur.order_id, outTradeNo: cur.out_trade_no, transactionId: paid.transactionId, amountFen: paid.amountFen, cause }, 'payment bought no ticket: refunding it');
      await this.deps.alerts.raise({
        site: cur.site,
        kind: 'payment_refunded',
        at: iso,
        message: {
          zh: `订单 ${cur.order_id} 的一笔支付（${cur.provider} ${paid.amountFen / 100} 元）未出票：${text.zh}`,
          en: `A payment for order ${cur.order_id} (${cur.provider}, ${paid.amountFen} fen) bought no ticket — ${text.en}: refunded automatically`,
        },
        details: { orderId: cur.order_id, outTradeNo: cur.out_trade_no, transactionId: paid.transactionId, amountFen: paid.amountFen, cause },
      });
      const no = refund.out_refund_no;
      this.background(() => this.sendRefund(no));
    }
    return outcome;
  }

  // ---- refunds -------------------------------------------------------------------------------

  /** Sales committed a visitor refund of a provider-mode order: record it and send it. */
  onRefund(owed: OwedRefund): void {
    this.background(async () => {
      if (await this.recordVisitorRefund(owed)) await this.sendRefund(owed.outRefundNo);
    });
  }

  /** The refund of the money that bought the order's tickets. False when there is nothing to send it against. */
  private async recordVisitorRefund(owed: OwedRefund): Promise<boolean> {
    if (await this.repo.refund(owed.outRefundNo)) return true;
    const paymentRef = (await this.deps.orders.payable(owed.site, owed.orderId))?.paymentRef;
    const a = paymentRef ? await this.repo.paidWith(owed.site, owed.orderId, paymentRef) : undefined;
    const now = this.now().toISOString();
    if (!a) {
      this.ctx.log.error({ site: owed.site, orderId: owed.orderId }, 'refund of a provider-mode order without a ticketed payment');
      await this.deps.orders.refundUpdate(owed.site, owed.orderId, owed.outRefundNo, 'failed');
      await this.deps.alerts.raise({
        site: owed.site,
        kind: 'payment_problem',
        at: now,
        message: { zh: `订单 ${owed.orderId} 已退票，但找不到对应的支付记录，请人工退款`, en: `Order ${owed.orderId} was refunded but no payment of it was found: refund it by hand` },
        details: { orderId: owed.orderId, outRefundNo: owed.outRefundNo },
      });
      return false;
    }
    await this.repo.insertRefund({
      out_refund_no: owed.outRefundNo,
      site: owed.site,
      order_id: owed.orderId,
      out_trade_no: a.out_trade_no,
      provider: a.provider,
      amount_fen: owed.amountFen,
      total_fen: Number(a.paid_fen ?? a.amount_fen),
      cause: 'visitor',
      reason: owed.reason,
      state: 'pending',
      refund_id: null,
      attempts: 0,
      last_error: null,
      next_at: now,
      created_at: now,
      updated_at: now,
      succeeded_at: null,
    });
    return true;
  }

  /** What the payer reads on the refund: the catalogue's label of the reason, or the automatic refund's text. */
  private refundReasonText(r: RefundRow): string {
    if (r.cause !== 'visitor') return AUTO_REFUND_TEXT[r.cause as Exclude<RefundCause, 'visitor'>]?.zh ?? r.reason;
    return this.ctx.sites.site(r.site)?.catalogue.refundReasons.find((x) => x.code === r.reason)?.label['zh-CN'] ?? r.reason;
  }

  /**
   * Send one refund, or ask about one sent before. A refund the provider accepted
   * (processing), or whose sending failed (a timeout: it may have arrived), is queried
   * first; only when the provider says it has no such refund is it sent again — with the
   * same out_refund_no, so the provider refunds once however often it is asked.
   */
  async sendRefund(outRefundNo: string): Promise<void> {
    if (this.refunding.has(outRefundNo)) return;
    this.refunding.add(outRefundNo);
    try {
      const r = await this.repo.refund(outRefundNo);
      if (!r || r.state === 'succeeded' || r.state === 'failed') return;
      const provider = this.deps.providers.get(r.site, r.provider as ProviderId);
      if (!provider) return await this.refundFailed(r, `${r.provider} is not configured for site ${r.site}`);
      const now = this.now();
      let sending = false;
      try {
        if (r.state === 'processing' || Number(r.attempts) > 0) {
          const q = await provider.queryRefund({ outTradeNo: r.out_trade_no, outRefundNo, amountFen: Number(r.amount_fen) });
          if (q.state === 'succeeded') return await this.refundSucceeded(r, q.refundId);
          if (q.state === 'failed') return await this.refundFailed(r, `the provider reports the refund ${q.providerCode.toLowerCase()}`);
          if (q.state === 'processing') return await this.refundProcessing(r, q.refundId, now);
          this.ctx.log.info({ site: r.site, orderId: r.order_id, outRefundNo, attempts: Number(r.attempts) }, 'refund unknown to the provider: sending it (again)');
        }
        sending = true;
        const res = await provider.refund({ outTradeNo: r.out_trade_no, outRefundNo, amountFen: Number(r.amount_fen), totalFen: Number(r.total_fen), reason: this.refundReasonText(r) });
        if (res.state === 'succeeded') return await this.refundSucceeded(r, res.refundId);
        await this.refundProcessing(r, res.refundId, now);
      } catch (err) {
        if (!isCloudError(err)) throw err;
        // A refused query says nothing about the refund: only a refused refund fails it.
        if (err.code === 'payment_refused' && sending) return await this.refundFailed(r, `${err.code}: ${err.message}`);
        const attempts = Number(r.attempts) + 1;
        await this.repo.updateRefund(
          outRefundNo,
          { attempts, last_error: `${err.code}: ${err.message}`.slice(0, 500), next_at: new Date(now.getTime() + refundBackoffMs(attempts)).toISOString(), updated_at: now.toISOString() },
          ['pending', 'processing'],
        );
        this.ctx.log.warn({ site: r.site, orderId: r.order_id, outRefundNo, attempts, code: err.code }, 'refund not sent; the sweep tries again');
      }
    } finally {
      this.refunding.delete(outRefundNo);
    }
  }

  /** Accepted and not finished yet: asked about again after REFUND_RECHECK_MS. */
  private async refundProcessing(r: RefundRow, refundId: string | undefined, now: Date): Promise<void> {
    const moved = await this.repo.updateRefund(
      r.out_refund_no,
      { state: 'processing', refund_id: refundId ?? r.refund_id, attempts: Number(r.attempts) + 1, last_error: null, next_at: new Date(now.getTime() + REFUND_RECHECK_MS).toISOString(), updated_at: now.toISOString() },
      ['pending', 'processing'],
    );
    if (moved && r.cause === 'visitor') await this.deps.orders.refundUpdate(r.site, r.order_id, r.out_refund_no, 'processing');
    this.ctx.log.info({ site: r.site, orderId: r.order_id, outRefundNo: r.out_refund_no, cause: r.cause }, 'refund accepted by the provider (processing)');
  }

  private async refundSucceeded(r: RefundRow, refundId: string | undefined): Promise<void> {
    const now = this.now().toISOString();
    const moved = await this.repo.updateRefund(r.out_refund_no, { state: 'succeeded', refund_id: refundId ?? r.refund_id, succeeded_at: now, updated_at: now, last_error: null }, ['pending', 'processing']);
    if (moved && r.cause === 'visitor') await this.deps.orders.refundUpdate(r.site, r.order_id, r.out_refund_no, 'succeeded');
    if (moved) this.ctx.log.info({ site: r.site, orderId: r.order_id, outRefundNo: r.out_refund_no, cause: r.cause, amountFen: Number(r.amount_fen) }, 'refund confirmed by the provider');
  }

  /** The provider refused (or closed) the refund: the money is still with the park. Staff act. */
  private async refundFailed(r: RefundRow, why: string): Promise<void> {
    const now = this.now().toISOString();
    const moved = await this.repo.updateRefund(r.out_refund_no, { state: 'failed', last_error: why.slice(0, 500), updated_at: now }, ['pending', 'processing']);
    if (!moved) return;
    if (r.cause === 'visitor') await this.deps.orders.refundUpdate(r.site, r.order_id, r.out_refund_no, 'failed');
    this.ctx.log.error({ site: r.site, orderId: r.order_id, outRefundNo: r.out_refund_no, why }, 'refund failed at the provider');
    await this.deps.alerts.raise({
      site: r.site,
      kind: 'payment_problem',
      at: now,
      message: { zh: `退款失败（订单 ${r.order_id}，${Number(r.amount_fen) / 100} 元）：${why}，请人工处理`, en: `Refund failed (order ${r.order_id}, ${r.amount_fen} fen): ${why}; handle it by hand` },
      details: { orderId: r.order_id, outRefundNo: r.out_refund_no, amountFen: Number(r.amount_fen), cause: r.cause },
    });
  }

  // ---- payment codes being confirmed -----------------------------------------------------------

  /**
   * Payment codes still `pending` — the visitor is typing the password on the phone, or our
   * request's answer was lost — as the providers say to handle them: asked about every
   * `queryEveryMs` (this runs on that timer), and once `reverseAfterMs` old and still not
   * paid, reversed (closeAttempt: queried once more, so a code paid meanwhile is settled —
   * paid wins, or refunded when the order cannot take it — and otherwise reversed). The order
   * stays pending for another try (or expires at its deadline); the attempt reads `closed`.
   * A reverse the provider does not answer leaves the attempt pending: the next run tries again.
   * Attempts of orders no longer payable or past their deadline are the sweep's.
   */
  async followUpCodes(): Promise<CodeFollowUpReport> {
    const report: CodeFollowUpReport = { queried: 0, paid: 0, reversed: 0, errors: 0 };
    if (this.followingUp) return report;
    this.followingUp = true;
    const reverseAfter = this.deps.codePayments?.reverseAfterMs ?? CODE_REVERSE_AFTER_MS;
    try {
      const now = this.now();
      for (const a of await this.repo.pendingCodes(new Date(now.getTime() - CODE_GUARD_MS).toISOString(), 100)) {
        if (this.codeInFlight.has(a.out_trade_no)) continue;
        try {
          const order = await this.deps.orders.payable(a.site, a.order_id);
          if (order?.status !== 'pending' || now >= order.deadline) continue;
          report.queried++;
          if (now.getTime() - Date.parse(a.created_at) >= reverseAfter) {
            const r = await this.closeAttempt(a);
            if (r === 'closed') {
              report.reversed++;
              this.ctx.log.info({ site: a.site, orderId: a.order_id, outTradeNo: a.out_trade_no, provider: a.provider }, 'payment code not confirmed in time: reversed; the order stays payable');
            } else if (r === 'paid') report.paid++;
            else report.errors++;
          } else {
            await this.refresh(a);
            if ((await this.repo.attempt(a.out_trade_no))?.state === 'paid') report.paid++;
          }
        } catch (err) {
          report.errors++;
          this.ctx.log.warn({ err, outTradeNo: a.out_trade_no }, 'payment code follow-up failed; the next one tries again');
        }
      }
    } finally {
      this.followingUp = false;
    }
    return report;
  }

  // ---- a channel cancels an order --------------------------------------------------------------

  /**
   * Before a pending order is cancelled (OrderPaymentClosing, core/ports.ts): every open attempt
   * closed or reversed at its provider, as the sweep does at the deadline (closeAttempt: a code
   * is queried first, so one the visitor confirmed meanwhile is settled — paid wins — not
   * reversed). A code whose first request is at the provider right now is not closed under it.
   */
  async closeAll(site: string, orderId: string): Promise<'closed' | 'paid' | 'unavailable'> {
    let paid = false;
    let open = false;
    for (const a of await this.repo.openAttemptsOf(site, orderId)) {
      if (this.codeInFlight.has(a.out_trade_no)) {
        open = true;
        continue;
      }
      const r = await this.closeAttempt(a);
      if (r === 'paid') paid = true;
      if (r === 'error') open = true;
    }
    if (paid) return 'paid';
    return open ? 'unavailable' : 'closed';
  }

  // ---- the sweep -----------------------------------------------------------------------------

  /**
   * Close at the provider what must not take money any more, before giving places back:
   *
   * 1. refunds sales committed whose event was lost (a crash), 2. refunds due (not sent, or
   * accepted and not yet confirmed), 3. money recorded but not settled, 4. attempts of orders
   * no longer payable and refused payment codes: closed / reversed, 5. pending orders past
   * their hold: each open attempt closed (a code reversed) — if the provider says it was paid
   * meanwhile, the order is paid instead — and only when all are closed do its places go back.
   */
  async sweep(): Promise<SweepReport> {
    const report: SweepReport = { closed: 0, expired: 0, settled: 0, refundsSent: 0, errors: 0 };
    if (this.sweeping) return report;
    this.sweeping = true;
    const step = async (what: string, work: () => Promise<void>): Promise<void> => {
      try {
        await work();
      } catch (err) {
        report.errors++;
        this.ctx.log.warn({ err, step: what }, 'payment sweep step failed; next sweep tries again');
      }
    };
    try {
      const now = this.now();
      for (const owed of await this.deps.orders.refundsOwed(100)) {
        await step('owed refund', async () => {
          if (!(await this.repo.refund(owed.outRefundNo))) await this.recordVisitorRefund(owed);
        });
      }
      for (const r of await this.repo.refundsDue(this.now().toISOString(), 100)) {
        await step('refund', async () => {
          await this.sendRefund(r.out_refund_no);
          report.refundsSent++;
        });
      }
      for (const a of await this.repo.unsettled(100)) {
        await step('settle', async () => {
          await this.settle(a, { transactionId: a.transaction_id!, amountFen: Number(a.paid_fen), paidAt: new Date(a.paid_at!) });
          report.settled++;
        });
      }
      for (const a of await this.repo.openAttempts(new Date(now.getTime() - SETTLE_MS).toISOString(), 200)) {
        await step('close', async () => {
          const order = await this.deps.orders.payable(a.site, a.order_id);
          const overdue = order?.status === 'pending' && now >= order.deadline;
          const payable = order?.status === 'pending' && !overdue;
          if (overdue) return; // below, with its order
          if (!payable || (a.method === 'code' && a.state === 'failed')) {
            const r = await this.closeAttempt(a);
            if (r === 'closed') report.closed++;
            if (r === 'error') report.errors++;
          }
        });
      }
      for (const o of await this.deps.orders.overdue(now, 200)) {
        await step('expire', async () => {
          let open = true;
          for (const a of await this.repo.openAttemptsOf(o.site, o.orderId)) {
            const r = await this.closeAttempt(a);
            if (r === 'closed') report.closed++;
            else open = false;
            if (r === 'error') report.errors++;
          }
          if (open && (await this.deps.orders.expire(o.site, o.orderId))) report.expired++;
        });
      }
    } finally {
      this.sweeping = false;
    }
    if (report.closed + report.expired + report.settled + report.errors > 0) this.ctx.log.info({ ...report }, 'payment sweep');
    return report;
  }

  /**
   * Make sure an attempt can take no money any more: a QR / in-app trade closed, a payment
   * code reversed (after a query: a code the visitor confirmed is settled, not reversed). If
   * the provider says it was paid, the payment is settled instead ('paid').
   */
  private async closeAttempt(a: PaymentRow): Promise<'closed' | 'paid' | 'error'> {
    const provider = this.deps.providers.get(a.site, a.provider as ProviderId);
    const now = (): string => this.now().toISOString();
    if (!provider) {
      await this.repo.noteFailure(a.out_trade_no, `${a.provider} is not configured for site ${a.site}: cannot close`, now());
      return 'error';
    }
    try {
      if (a.method === 'code') {
        const q = await provider.query(a.out_trade_no);
        if (q.state === 'paid') {
          await this.settle(a, q);
          return 'paid';
        }
        if (q.state !== 'closed') {
          const r = await provider.reverse(a.out_trade_no);
          if (r.action === 'refunded') await this.repo.noteFailure(a.out_trade_no, 'reversed after the money was taken: the provider gave it back', now());
        }
      } else {
        await provider.close(a.out_trade_no);
      }
      await this.repo.markClosed(a.out_trade_no, now());
      return 'closed';
    } catch (first) {
      let err = first;
      if (isCloudError(err, 'payment_refused')) {
        // Closing a paid trade is refused: it was paid meanwhile.
        try {
          const q = await provider.query(a.out_trade_no);
          if (q.state === 'paid') {
            await this.settle(a, q);
            return 'paid';
          }
          if (q.state === 'closed' || q.state === 'refunded') {
            await this.repo.markClosed(a.out_trade_no, now());
            return 'closed';
          }
        } catch (again) {
          err = again;
        }
      }
      const code = isCloudError(err) ? err.code : 'error';
      await this.repo.noteFailure(a.out_trade_no, `close: ${code}: ${(err as Error).message}`.slice(0, 500), now());
      this.ctx.log.warn({ site: a.site, orderId: a.order_id, outTradeNo: a.out_trade_no, code }, 'payment not closed at the provider; the order keeps its places until it is');
      return 'error';
    }
  }
}
