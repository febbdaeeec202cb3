/**
 * The SmsSender port over a real provider. For each text, in this order:
 *
 *   1. what to send: the site's template (check-in code of the order, or the template the
 *      caller names) in the visitor's language, its variables filled; a mainland number;
 *   2. per-phone throttling (≤ perMinute / perHour / perDay, counted in the store, so it holds
 *      across restarts and instances) and the queue bound: refused texts are recorded and
 *      logged, never thrown — a throttled check-in text must not fail a paid sale (the
 *      visitor still sees the code in the channel's order view);
 *   3. the provider's request rate (token bucket), then the request; retried only when the
 *      provider surely did not send it (no connection, 503, its rate limit), with backoff;
 *   4. sent (with the provider's message id, for the receipts), failed, or unknown (no
 *      answer in time: it may have gone out, so it is not retried).
 *
 * `send()` resolves once the text is recorded and queued, so a sale's reply never waits for
 * the provider; `submit()` also returns the row id and a promise of the final state.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { CloudError, isCloudError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { SmsLang, SmsMessage, SmsSender, SmsSendResult } from '../../core/notify/sms.js';
import type { SiteRegistry } from '../../core/sites.js';
import { mainlandMobile, maskPhone, type PhoneHasher } from './phone.js';
import type { ProviderText, SmsProvider } from './provider.js';
import type { RateLimiter } from './rate-limiter.js';
import type { NewSms, SmsRepository } from './repository.js';
import type { SmsSettings } from './settings.js';
import { checkinVars, fillParams, pickTemplate } from './templates.js';

export interface SmsFinal {
  id: string;
  state: 'sent' | 'failed' | 'unknown';
  providerMessageId?: string;
  /** The provider's code, or ours (sms_timeout…). */
  error?: string;
}

export type SmsOutcome =
  | { id: string; state: 'queued'; done: Promise<SmsFinal> }
  /** Not sent: `reason` is throttled_minute|hour|day (with `retryAfterSec`), queue_full, no_template, no_site, order_not_paid, bad_phone, missing_var:<name>, internal. */
  | { id?: string; state: 'refused'; reason: string; retryAfterSec?: number };

export interface SenderDeps {
  repo: SmsRepository;
  provider: SmsProvider;
  settings: SmsSettings;
  sites: Pick<SiteRegistry, 'site'>;
  hasher: PhoneHasher;
  limiter: RateLimiter;
  clock: Clock;
  log: Logger;
  /** First retry delay (doubles each time); default 500 ms. */
  retryBaseMs?: number;
}

/**
 * Provider messages can quote the request (a gateway's SignatureDoesNotMatch may quote what
 * it signed): no phone number and no check-in code (it opens a gate) is logged or stored from them.
 */
export function redact(text: string): string {
  return text.replace(/(?<!\d)(\+?86)?(1\d{2})\d{4}(\d{4})(?!\d)/g, '$2****$3').replace(/(?<![A-Za-z])ST([12])(:|%3A)[A-Za-z0-9._~-]+/gi, 'ST$1$2…');
}

export const newSmsId = (): string => `sms_${randomBytes(12).toString('base64url')}`;

interface Prepared {
  row: NewSms;
  text?: ProviderText;
  /** Why it cannot be sent (then `text` is absent). */
  refusal?: { reason: string; message: string };
}

export class ProviderSmsSender implements SmsSender {
  private readonly jobs = new Set<Promise<SmsFinal>>();
  /** Texts being recorded or waiting/at the provider: what the queue bound counts (taken synchronously, so a burst cannot overrun it). */
  private admitted = 0;
  private closing = false;

  constructor(private readonly d: SenderDeps) {}

  /** The port: never throws, never waits for the provider; says whether the text was taken (a throttled one: when to ask again). */
  async send(message: SmsMessage): Promise<SmsSendResult> {
    const o = await this.submit(message);
    if (o.state === 'queued') return { accepted: true };
    return { accepted: false, reason: o.reason, ...(o.retryAfterSec !== undefined ? { retryAfterSec: o.retryAfterSec } : {}) };
  }

  /** Texts recorded and not yet finished (waiting for the rate or at the provider). */
  get pending(): number {
    return this.jobs.size;
  }

  async submit(message: SmsMessage): Promise<SmsOutcome> {
    const full = this.closing ? 'closing' : this.admitted >= this.d.settings.limits.queue ? 'queue_full' : undefined;
    this.admitted++;
    let outcome: SmsOutcome = { state: 'refused', reason: 'internal' };
    try {
      outcome = await this.submitOrThrow(message, full);
      return outcome;
    } catch (err) {
      this.d.log.error({ err, orderId: message.orderId, to: maskPhone(message.to) }, 'SMS not recorded');
      return outcome;
    } finally {
      if (outcome.state === 'queued') void outcome.done.finally(() => this.admitted--);
      else this.admitted--;
    }
  }

  /** Stop taking texts, refuse those waiting for the rate, and wait (bounded) for the ones at the provider. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closing = true;
    this.d.limiter.close();
    await Promise.race([Promise.allSettled([...this.jobs]), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  private async submitOrThrow(message: SmsMessage, full: string | undefined): Promise<SmsOutcome> {
    const { repo, settings, log } = this.d;
    const now = this.d.clock();
    const p = await this.prepare(message);
    if (p === undefined) return { state: 'refused', reason: 'no_site' };
    const fields = { id: p.row.id, site: p.row.site, orderId: p.row.orderId ?? undefined, kind: p.row.kind, to: p.row.phoneMasked };
    if (p.refusal || !p.text) {
      const refusal = p.refusal ?? { reason: 'internal', message: 'nothing to send' };
      await repo.recordRefused(p.row, refusal.reason, refusal.message, now);
      log.warn({ event: 'sms_refused', ...fields, reason: refusal.reason }, `SMS not sent: ${refusal.message}`);
      return { id: p.row.id, state: 'refused', reason: refusal.reason };
    }
    const r = await repo.reserve(p.row, settings.limits, now, full);
    if (r.state === 'refused') {
      // The sale stands: the visitor sees the code on the page; staff see why in the SMS list.
      log.warn({ event: 'sms_refused', ...fields, reason: r.reason }, r.limit ? 'SMS not sent (throttled)' : `SMS not sent (${r.reason})`);
      return { id: p.row.id, state: 'refused', reason: r.reason, ...(r.retryAfterSec !== undefined ? { retryAfterSec: r.retryAfterSec } : {}) };
    }
    const done = this.run(p.row, p.text);
    this.jobs.add(done);
    void done.finally(() => this.jobs.delete(done));
    return { id: p.row.id, state: 'queued', done };
  }

  /** The row and the provider text for a message; undefined when not even its site is known (logged). */
  private async prepare(message: SmsMessage): Promise<Prepared | undefined> {
    const { settings, log } = this.d;
    const order = message.template === undefined ? await this.d.repo.checkinOrder(message.orderId) : undefined;
    const siteId = message.site ?? order?.site;
    if (siteId === undefined) {
      log.warn({ event: 'sms_refused', orderId: message.orderId, to: maskPhone(message.to), reason: 'no_site' }, 'SMS not sent: no site (an unknown order, and no site named)');
      return undefined;
    }
    const siteSms = settings.sites[siteId];
    const kind = message.template ?? 'checkin';
    const wanted: SmsLang = message.lang ?? siteSms?.defaultLang ?? 'zh-CN';
    const picked = siteSms ? pickTemplate(siteSms, kind, wanted) : undefined;
    const phone = mainlandMobile(message.to);
    const row: NewSms = {
      id: newSmsId(),
      site: siteId,
      orderId: message.template === undefined ? message.orderId : message.orderId || null,
      provider: this.d.provider.id,
      phoneHash: this.d.hasher.hash(phone ?? message.to),
      phoneMasked: maskPhone(phone ?? ''),
      kind,
      template: picked?.template.id ?? '',
      lang: picked?.lang ?? wanted,
    };
    const refuse = (reason: string, msg: string): Prepared => ({ row, refusal: { reason, message: msg } });
    if (!siteSms || !picked) return refuse('no_template', `no sms.sites.${siteId}.templates.${kind} in cloud.yaml`);
    if (phone === undefined) return refuse('bad_phone', 'not an 11-digit mainland mobile number');
    let vars = message.vars ?? {};
    if (message.template === undefined) {
      if (!order) return refuse('no_order', `no order ${message.orderId}`);
      if (order.status !== 'paid' || order.ticketIds.length === 0) return refuse('order_not_paid', `order ${order.orderId} is ${order.status}: no check-in code to send`);
      vars = checkinVars(order, this.d.sites.site(siteId), picked.lang);
    }
    const filled = fillParams(picked.template, vars);
    if ('missing' in filled) return refuse(`missing_var:${filled.missing}`, `template ${kind} needs ${filled.missing}, which the message does not give`);
    return { row, text: { phone, signName: siteSms.signName, templateId: picked.template.id, params: filled.params, ref: row.id } };
  }

  private async run(row: NewSms, text: ProviderText): Promise<SmsFinal> {
    const { repo, provider, settings, log } = this.d;
    const fields = { id: row.id, site: row.site, orderId: row.orderId ?? undefined, provider: provider.id, to: row.phoneMasked };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.d.limiter.take();
        let accepted;
        try {
          accepted = await provider.send(text);
        } finally {
          this.d.limiter.release();
        }
        await repo.markSent(row.id, accepted.providerMessageId, attempt, this.d.clock());
        log.info({ event: 'sms_sent', ...fields, providerMessageId: accepted.providerMessageId, attempts: attempt }, 'SMS sent');
        return { id: row.id, state: 'sent', providerMessageId: accepted.providerMessageId };
      } catch (err) {
        const e = isCloudError(err) ? err : new CloudError('sms_unavailable', (err as Error).message, { outcome: 'unknown' }, { cause: err });
        if (e.details.retryable === true && attempt <= settings.limits.retries && !this.closing) {
          log.info({ event: 'sms_retry', ...fields, code: e.code, providerCode: e.details.providerCode, attempt }, 'SMS provider did not take it; sending again');
          await new Promise((r) => setTimeout(r, (this.d.retryBaseMs ?? 500) * 2 ** (attempt - 1)));
          continue;
        }
        const state = e.details.outcome === 'unknown' ? 'unknown' : 'failed';
        const code = typeof e.details.providerCode === 'string' ? e.details.providerCode : e.code;
        try {
          await repo.markEnded(row.id, state, code, redact(e.message), attempt, this.d.clock());
        } catch (dbErr) {
          log.error({ err: dbErr, ...fields }, 'SMS state not recorded');
        }
        const level = e.code === 'sms_auth' || e.code === 'sms_malformed' ? 'error' : 'warn';
        log[level]({ event: state === 'unknown' ? 'sms_unknown' : 'sms_failed', ...fields, code: e.code, providerCode: e.details.providerCode, attempts: attempt }, redact(e.message));
        return { id: row.id, state, error: code };
      }
    }
  }
}
