/**
 * The daily reconciliation (issue #16 point 4): once a day per site with provider payments,
 * after the providers publish the day's bill (WeChat Pay from 10:00 the next day, Alipay
 * from 09:00), each configured provider's bill is downloaded, matched against our records
 * (reconcile.ts), kept (one row per site and date, replaced by a later run) and, when
 * anything disagrees, staff are alerted once (counts, no personal data). A bill that is not
 * out yet, a provider that fails, or an empty bill while we recorded money is tried again
 * later, up to `maxAttempts`; then the day is `failed` and that is alerted.
 */
import { createHash } from 'node:crypto';
import type { Alerts } from '../../core/alerts.js';
import { CloudError, isCloudError } from '../../core/errors.js';
import type { ModuleContext } from '../../core/module.js';
import { MISMATCH_LABELS, PROVIDER_LABELS, type Mismatch, type MismatchKind, type ProviderReconciliation, type ReconciliationResult } from '../../core/reconciliation.js';
import type { Bill } from './bill.js';
import type { ProviderSet } from './provider-set.js';
import type { PaymentProvider, ProviderId } from './provider.js';
import { beijingDay, matchBill, type MatchInput } from './reconcile.js';
import { ReconciliationRepository } from './reconciliation-repository.js';

export interface ReconciliationOptions {
  /** Beijing time ("HH:MM") on the next day from which a day is reconciled; default 10:30. */
  at?: string;
  /** Wait before trying a missing bill again; default 30 min. */
  retryEveryMs?: number;
  /** Runs before a day whose bill cannot be had is `failed` (and an empty bill is taken as it is); default 8. */
  maxAttempts?: number;
  /** Records this close to midnight may be in the neighbouring day's bill; default 10 min. */
  boundaryMinutes?: number;
  /** Days back the timer makes up for (a bridge that was down at `at`); default 3. */
  catchUpDays?: number;
  /** How often the timer looks; default 60 s. */
  checkEveryMs?: number;
}

export type ReconciliationContext = Pick<ModuleContext, 'store' | 'clock' | 'log'>;

const PROVIDERS: ProviderId[] = ['wechat', 'alipay'];
const DAY_MS = 86_400_000;

/** The Beijing date of an instant. */
export function beijingDate(at: number): string {
  return new Date(at + 8 * 3_600_000).toISOString().slice(0, 10);
}

const addDays = (date: string, n: number): string => beijingDate(beijingDay(date).start + n * DAY_MS);

export class Reconciliation {
  readonly repo: ReconciliationRepository;
  private readonly running = new Map<string, Promise<ReconciliationResult>>();
  private readonly at: string;
  private readonly retryEveryMs: number;
  private readonly maxAttempts: number;
  private readonly boundaryMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private ticking: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: ReconciliationContext,
    private readonly deps: { providers: Pick<ProviderSet, 'get' | 'sites'>; alerts: Pick<Alerts, 'raise'> },
    private readonly opts: ReconciliationOptions = {},
  ) {
    this.repo = new ReconciliationRepository(ctx.store);
    this.at = opts.at ?? '10:30';
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(this.at)) throw new CloudError('config_invalid', `payments.reconciliation.at: expected HH:MM, got ${this.at}`);
    this.retryEveryMs = opts.retryEveryMs ?? 30 * 60_000;
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.boundaryMs = (opts.boundaryMinutes ?? 10) * 60_000;
  }

  /** From when a day's bills are reconciled: `at` (Beijing) on the next day. */
  readyAt(date: string): number {
    return Date.parse(`${addDays(date, 1)}T${this.at}:00+08:00`);
  }

  private providersOf(site: string): PaymentProvider[] {
    return PROVIDERS.map((p) => this.deps.providers.get(site, p)).filter((p): p is PaymentProvider => p !== undefined);
  }

  /** The kept result of a day, if it ran. */
  async get(site: string, date: string): Promise<ReconciliationResult | undefined> {
    const row = await this.repo.get(site, date);
    return row ? (JSON.parse(row.result) as ReconciliationResult) : undefined;
  }

  /**
   * Reconcile a day now (replacing an earlier result). Refused for a site without providers
   * and for today or later (no bill yet). A run of the same day already under way is joined.
   */
  run(site: string, date: string): Promise<ReconciliationResult> {
    if (this.providersOf(site).length === 0) return Promise.reject(new CloudError('provider_not_configured', `site ${site} has no payment provider configured`));
    const today = beijingDate(this.ctx.clock().getTime());
    if (date >= today) return Promise.reject(new CloudError('bill_not_ready', `the bills of ${date} are published the next day (from ${this.at} Beijing time); today is ${today}`));
    const key = `${site}\0${date}`;
    let p = this.running.get(key);
    if (!p) {
      p = this.runNow(site, date).finally(() => this.running.delete(key));
      this.running.set(key, p);
    }
    return p;
  }

  private async runNow(site: string, date: string): Promise<ReconciliationResult> {
    const now = this.ctx.clock();
    const prev = await this.repo.get(site, date);
    const attempts = (prev?.state === 'retrying' ? Number(prev.attempts) : 0) + 1;
    const last = attempts >= this.maxAttempts;
    const providers: ProviderReconciliation[] = [];
    for (const provider of this.providersOf(site)) providers.push(await this.reconcileProvider(site, date, provider, last));
    const waiting = providers.some((p) => p.state === 'unavailable');
    const state: ReconciliationResult['state'] = !waiting ? 'done' : last ? 'failed' : 'retrying';
    if (state === 'failed') {
      for (const p of providers) {
        if (p.state === 'unavailable') p.mismatches.push({ kind: 'bill_unavailable', provider: p.provider, detail: `no bill after ${attempts} attempts (${p.reason}${p.error ? `: ${p.error}` : ''})` });
      }
    }
    const mismatchCounts: Partial<Record<MismatchKind, number>> = {};
    for (const m of providers.flatMap((p) => p.mismatches)) mismatchCounts[m.kind] = (mismatchCounts[m.kind] ?? 0) + 1;
    const result: ReconciliationResult = {
      v: 1,
      site,
      date,
      state,
      ranAt: now.toISOString(),
      attempts,
      ...(state === 'retrying' ? { nextAt: new Date(now.getTime() + this.retryEveryMs).toISOString() } : {}),
      providers,
      mismatchCounts,
    };
    await this.repo.put({ site, date, state, attempts, next_at: result.nextAt ?? null, result: JSON.stringify(result), ran_at: result.ranAt });
    const total = Object.values(mismatchCounts).reduce((s, n) => s + n, 0);
    const log = { site, date, state, attempts, mismatches: mismatchCounts, providers: providers.map((p) => ({ provider: p.provider, state: p.state, reason: p.reason, error: p.error, matched: p.matched.payments.count, bill: p.bill.payments.count })) };
    if (state === 'retrying') this.ctx.log.warn({ ...log, nextAt: result.nextAt }, 'reconciliation: a bill is not there yet; trying again later');
    else if (total > 0) this.ctx.log.warn(log, 'reconciliation found mismatches');
    else this.ctx.log.info(log, 'reconciliation: every transaction matched');
    if (total > 0) await this.alert(result, total);
    return result;
  }

  /** Download, match; the neighbouring days' bills only when a record near midnight needs them. */
  private async reconcileProvider(site: string, date: string, provider: PaymentProvider, last: boolean): Promise<ProviderReconciliation> {
    const id = provider.id;
    let bill: Bill;
    try {
      bill = await provider.downloadBill(date);
    } catch (err) {
      const code = isCloudError(err) ? err.code : 'error';
      const notReady = isCloudError(err) && err.details.providerCode === 'STATEMENT_CREATING';
      this.ctx.log.warn({ site, date, provider: id, code, err: (err as Error).message }, 'reconciliation: bill not downloaded');
      return this.unavailable(id, notReady ? 'bill_not_ready' : 'provider_error', code);
    }
    const { start, end } = beijingDay(date);
    const from = new Date(start - this.boundaryMs).toISOString();
    const to = new Date(end).toISOString();
    const named = bill.lines.map((l) => l.outTradeNo);
    const input: MatchInput = {
      site,
      provider: id,
      date,
      bill,
      attempts: await this.repo.attempts(site, id, from, to, named),
      refunds: await this.repo.refunds(site, id, from, to, bill.lines.flatMap((l) => (l.outRefundNo ? [l.outRefundNo] : [])), named),
      boundaryMs: this.boundaryMs,
    };
    let r = matchBill(input);
    // No bill while we recorded money: most likely not made yet (Alipay says "no bill" then too).
    if (bill.empty && r.ours.payments.count + r.ours.refunds.count > 0 && !last) return this.unavailable(id, 'bill_empty');
    if (r.needs.before || r.needs.after) {
      r = matchBill({
        ...input,
        ...(r.needs.before ? { before: await this.neighbour(provider, addDays(date, -1)) } : {}),
        ...(r.needs.after ? { after: await this.neighbour(provider, addDays(date, 1)) } : {}),
      });
    }
    const out: ProviderReconciliation & { needs?: unknown } = r;
    delete out.needs;
    return out;
  }

  /** A neighbouring day's bill, or null when it is not out yet or cannot be had. */
  private async neighbour(provider: PaymentProvider, date: string): Promise<Bill | null> {
    if (this.ctx.clock().getTime() < this.readyAt(date)) return null;
    try {
      return await provider.downloadBill(date);
    } catch (err) {
      this.ctx.log.warn({ provider: provider.id, date, code: isCloudError(err) ? err.code : 'error' }, "reconciliation: the neighbouring day's bill not downloaded");
      return null;
    }
  }

  private unavailable(provider: ProviderId, reason: NonNullable<ProviderReconciliation['reason']>, error?: string): ProviderReconciliation {
    const none = { count: 0, amountFen: 0 };
    return {
      provider,
      state: 'unavailable',
      reason,
      ...(error ? { error } : {}),
      bill: { payments: { ...none }, refunds: { ...none }, lines: 0, rejected: 0, empty: true },
      matched: { payments: { ...none }, refunds: { ...none } },
      ours: { payments: { ...none }, refunds: { ...none } },
      mismatches: [],
      deferred: [],
    };
  }

  /** One alert per day and set of mismatches: a run that finds the same ones again is quiet. */
  private async alert(result: ReconciliationResult, total: number): Promise<void> {
    const all: Mismatch[] = result.providers.flatMap((p) => p.mismatches);
    const digest = createHash('sha256')
      .update(all.map((m) => [m.kind, m.provider, m.outTradeNo ?? '', m.outRefundNo ?? '', m.lineNo ?? ''].join('|')).sort().join('\n'))
      .digest('hex');
    if (!(await this.repo.claimAlert(result.site, result.date, digest))) return;
    const kinds = Object.entries(result.mismatchCounts) as [MismatchKind, number][];
    const byProvider = result.providers.filter((p) => p.mismatches.length > 0);
    await this.deps.alerts.raise({
      site: result.site,
      kind: 'payment_problem',
      at: result.ranAt,
      message: {
        zh: `${result.date} 支付对账发现 ${total} 处不符（${byProvider.map((p) => `${PROVIDER_LABELS[p.provider]['zh-CN']} ${p.mismatches.length}`).join('，')}）：${kinds.map(([k, n]) => `${MISMATCH_LABELS[k]['zh-CN']} ${n}`).join('，')}。详见日报的对账部分`,
        en: `Payment reconciliation of ${result.date}: ${total} mismatch${total === 1 ? '' : 'es'} (${byProvider.map((p) => `${PROVIDER_LABELS[p.provider].en} ${p.mismatches.length}`).join(', ')}): ${kinds.map(([k, n]) => `${MISMATCH_LABELS[k].en} ${n}`).join(', ')}. See the daily report's reconciliation section`,
      },
      details: { reconciliation: result.date, state: result.state, mismatches: result.mismatchCounts },
    });
  }

  /** Sites with providers, the days from `catchUpDays` back to yesterday: run when due, or again when a retry is due. */
  async tick(catchUpDays = this.opts.catchUpDays ?? 3): Promise<void> {
    const now = this.ctx.clock().getTime();
    for (const site of this.deps.providers.sites()) {
      for (let back = catchUpDays; back >= 1; back--) {
        const date = beijingDate(now - back * DAY_MS);
        if (now < this.readyAt(date)) continue;
        const row = await this.repo.get(site, date);
        const due = !row || (row.state === 'retrying' && row.next_at !== null && Date.parse(row.next_at) <= now);
        if (!due) continue;
        try {
          await this.run(site, date);
        } catch (err) {
          this.ctx.log.warn({ err, site, date }, 'reconciliation failed; the next check tries again');
        }
      }
    }
  }

  /** The timer: the first look after one interval (a starting bridge does not download bills at once). */
  start(): void {
    const every = this.opts.checkEveryMs ?? 60_000;
    if (every <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.tick()).catch((err: unknown) => this.ctx.log.warn({ err }, 'reconciliation check failed'));
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await Promise.allSettled([...this.running.values()]);
  }
}
