import { localDate } from '@stile/config';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import { CloudError } from '../../core/errors.js';
import type { SmsSender } from '../../core/notify/sms.js';
import type { BookingPayments, BookingSales } from '../../core/ports.js';
import { bookingChannelProblem } from './config.js';
import { BOOKING_LIMITS, type BookingLimits } from './limits.js';
import { BookingRepository } from './repository.js';
import { bookingPageRoutes } from './page.js';
import { bookingRoutes } from './routes.js';
import { BookingService } from './service.js';
import { Sessions } from './sessions.js';
import { SmsLogin } from './sms-login.js';
import { WechatOAuth, type WechatOAuthOptions } from './wechat-oauth.js';
import { wechatOAuthRoutes } from './wechat-oauth-routes.js';

/** Expired codes and sessions and old throttling windows are dropped this often. */
const PURGE_EVERY_MS = 3_600_000;

export interface BookingDeps {
  /** Sales' BookingSales port: the booking channel's availability, orders, refunds, rebookings. */
  sales: BookingSales;
  /** Payments' BookingPayments port: a provider payment for an order. */
  payments: BookingPayments;
  /** Where the login codes go (the same sender as the check-in codes). */
  sms: SmsSender;
  limits?: Partial<BookingLimits>;
  /** WeChat web OAuth by site (the openid for JSAPI inside WeChat); a site without one pays by QR code in WeChat. */
  wechatOAuth?: Record<string, WechatOAuthOptions>;
  /** This bridge's public base URL, for the OAuth callback WeChat sends the browser to. */
  publicUrl: () => string;
}

export type BookingModule = CloudModule & {
  readonly service: BookingService;
  readonly repository: BookingRepository;
  start(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * The visitor booking page's API (`/v1/book/{site}/…`, docs/booking.md): for each site whose
 * `sales.bookingChannel` names an online, provider-paid channel. Phone + SMS code login,
 * sessions, and the visitor's own orders — sold, paid, refunded and rebooked through the sales
 * and payments ports with the channel API's rules. The page itself is served elsewhere.
 */
export function createBookingModule(ctx: ModuleContext, deps: BookingDeps): BookingModule {
  // A channel that cannot be the booking page's is refused at start, not at the first visitor.
  const problems = ctx.sites.salesIds.flatMap((id) => {
    const s = ctx.sites.site(id)!;
    const p = s.bookingChannel === undefined ? undefined : bookingChannelProblem(s.catalogue, s.bookingChannel);
    return p ? [`sites[${id}].sales.bookingChannel: ${p}`] : [];
  });
  if (problems.length > 0) throw new CloudError('config_invalid', problems.join('\n'));
  const limits = { ...BOOKING_LIMITS, ...deps.limits };
  const repository = new BookingRepository(ctx.store);
  const sessions = new Sessions(repository, ctx.clock, limits.sessionTtlMs);
  const login = new SmsLogin({ repo: repository, sessions, sms: deps.sms, clock: ctx.clock, log: ctx.log, limits });
  // AppSecret files are read now: a missing one stops the start, not the first visitor.
  const oauth = new Map(Object.entries(deps.wechatOAuth ?? {}).map(([site, o]) => [site, new WechatOAuth(o, ctx.log.child({ site }))]));
  const service = new BookingService({ sites: ctx.sites, sales: deps.sales, payments: deps.payments, login, clock: ctx.clock, log: ctx.log, limits, wechatOAuth: (site) => oauth.has(site) });
  let purge: ReturnType<typeof setInterval> | undefined;
  return {
    name: 'booking',
    service,
    repository,
    routes: (app) => {
      bookingRoutes(app, { service, login, sessions });
      wechatOAuthRoutes(app, { service, oauth: (site) => oauth.get(site), publicUrl: deps.publicUrl, clock: ctx.clock, log: ctx.log });
      // The page's shell and assets (page.ts, web/booking/): only for sites with a booking page.
      bookingPageRoutes(app, {
        hasBookingPage: (site) => service.site(site) !== undefined,
        today: (site) => localDate(ctx.clock(), ctx.sites.site(site)!.catalogue.timeZone),
      });
    },
    start: () => {
      const sites = ctx.sites.salesIds.filter((id) => service.site(id));
      if (sites.length > 0) ctx.log.info({ sites: sites.map((id) => `${id}:${ctx.sites.site(id)!.bookingChannel!}`) }, 'booking page API on');
      purge ??= setInterval(() => {
        const now = ctx.clock().getTime();
        repository.purge(now, now - 24 * 3_600_000).catch((err: unknown) => ctx.log.warn({ err }, 'purging booking codes and sessions failed; next try in an hour'));
      }, PURGE_EVERY_MS);
      purge.unref();
      return Promise.resolve();
    },
    stop: () => {
      clearInterval(purge);
      purge = undefined;
      return Promise.resolve();
    },
  };
}
