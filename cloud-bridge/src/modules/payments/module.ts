import type { Alerts } from '../../core/alerts.js';
import type { Clock } from '../../core/clock.js';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { BookingPayments, OrderPayments } from '../../core/ports.js';
import type { SitePayments } from './config.js';
import { ProviderSet } from './provider-set.js';
import { bookingPayments } from './booking-port.js';
import { CODE_QUERY_EVERY_MS, Payments, type CodePaymentOptions } from './payments.js';
import type { ProviderId } from './provider.js';
import { paymentRoutes } from './routes.js';
import { Reconciliation, type ReconciliationOptions } from './reconciliation.js';
import { reconciliationRoutes } from './reconciliation-routes.js';

/** How often the sweep runs by default. */
const SWEEP_EVERY_MS = 5000;

export interface PaymentsModuleDeps {
  /** Sales' OrderPayments port: the only way an order becomes paid from a provider payment. */
  orders: OrderPayments;
  alerts: Pick<Alerts, 'raise'>;
  /** Providers by site (cloud.yaml `sites[].payments`). */
  sites: Record<string, SitePayments>;
  /** Where a provider posts its notifications (read at each request: the listener may be bound after the modules are built). */
  notifyUrl: (provider: ProviderId) => string;
  /** The clock the providers sign with and check signatures against (real time: the providers refuse skew). Default ctx.clock. */
  providerClock?: Clock;
  sweepEveryMs?: number;
  /** Pending payment codes: how often they are queried, when they are reversed (payments.ts followUpCodes). */
  codePayments?: CodePaymentOptions;
  /** The daily reconciliation against the providers' bills. */
  reconciliation?: ReconciliationOptions;
}

export type PaymentsModule = CloudModule & {
  readonly payments: Payments;
  /** The port the booking page pays through (core/ports.ts BookingPayments). */
  readonly bookingPayments: BookingPayments;
  /** The daily reconciliation; as a port (ReconciliationView), what the daily report shows. */
  readonly reconciliation: Reconciliation;
  start(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * The payments module: WeChat Pay and Alipay for provider-mode channels. Routes: create a
 * payment, its state (with an active query), and the providers' notification endpoints.
 * Listens for sales' `refund` events (the money goes back through the provider) and runs the
 * sweep: overdue orders closed at the provider before their places go back, refunds retried
 * until the provider confirms, payments settled after a crash.
 */
export function createPaymentsModule(ctx: ModuleContext, deps: PaymentsModuleDeps): PaymentsModule {
  const providers = new ProviderSet(deps.sites, { notifyUrl: deps.notifyUrl, clock: deps.providerClock ?? ctx.clock, log: ctx.log });
  const payments = new Payments(ctx, { orders: deps.orders, providers, alerts: deps.alerts, ...(deps.codePayments ? { codePayments: deps.codePayments } : {}) });
  ctx.events.on('refund', (e) => payments.onRefund(e));
  const reconciliation = new Reconciliation(ctx, { providers, alerts: deps.alerts }, deps.reconciliation);
  let timer: ReturnType<typeof setInterval> | undefined;
  let codeTimer: ReturnType<typeof setInterval> | undefined;
  let sweeping: Promise<unknown> = Promise.resolve();
  let followingUp: Promise<unknown> = Promise.resolve();
  const every = deps.sweepEveryMs ?? SWEEP_EVERY_MS;
  return {
    name: 'payments',
    payments,
    bookingPayments: bookingPayments(payments, providers),
    reconciliation,
    routes: (app) => {
      paymentRoutes(app, payments);
      reconciliationRoutes(app, { sites: ctx.sites, reconciliation });
    },
    start: () => {
      timer ??= setInterval(() => {
        sweeping = payments.sweep().catch((err: unknown) => ctx.log.warn({ err }, 'payment sweep failed'));
      }, every);
      timer.unref();
      codeTimer ??= setInterval(() => {
        followingUp = payments.followUpCodes().catch((err: unknown) => ctx.log.warn({ err }, 'payment code follow-up failed'));
      }, deps.codePayments?.queryEveryMs ?? CODE_QUERY_EVERY_MS);
      codeTimer.unref();
      reconciliation.start();
      return Promise.resolve();
    },
    stop: async () => {
      clearInterval(timer);
      clearInterval(codeTimer);
      timer = undefined;
      codeTimer = undefined;
      // A sweep, a follow-up and refunds under way finish (each provider call is bounded by its timeout) before the store closes.
      await sweeping;
      await followingUp;
      await payments.drain();
      await reconciliation.stop();
    },
  };
}
