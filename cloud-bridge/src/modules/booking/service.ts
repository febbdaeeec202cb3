import { randomUUID } from 'node:crypto';
import { localDate } from '@stile/config';
import type { Channel } from '../../core/catalogue.js';
import type { Clock } from '../../core/clock.js';
import { CloudError, isCloudError } from '../../core/errors.js';
import { refusalReply, type Reply } from '../../core/http/refusals.js';
import type { Logger } from '../../core/log.js';
import type { BookingPayments, BookingSales } from '../../core/ports.js';
import type { SalesSite, SiteRegistry } from '../../core/sites.js';
import type { z } from '@hono/zod-openapi';
import type { BookingLimits } from './limits.js';
import type { BookOrderRequestSchema, BookPayRequestSchema } from './schemas.js';
import { SiteSecrets } from './secrets.js';
import type { VisitorSession } from './sessions.js';
import type { LoginSite, SmsLogin } from './sms-login.js';
import { bookInfo, bookOrder, siteName } from './views.js';

/** A site whose booking page is on: its sales, its booking channel, its login identity. */
export interface BookingSite {
  site: SalesSite;
  channel: Channel;
  login: LoginSite;
}

export interface BookingServiceDeps {
  sites: Pick<SiteRegistry, 'site' | 'config'>;
  sales: BookingSales;
  payments: BookingPayments;
  login: SmsLogin;
  clock: Clock;
  log: Logger;
  limits: BookingLimits;
  /** Whether the site's WeChat web OAuth is configured (the page then pays with JSAPI inside WeChat). */
  wechatOAuth(site: string): boolean;
}

const unknownOrder = (orderId: string): Reply => refusalReply(new CloudError('unknown_order', `no order ${orderId} of yours on this booking page`));

/**
 * The visitor's side of the booking page: every order is the booking channel's and the
 * session phone's. Another phone's order is answered like no order at all (404
 * `unknown_order`, never 403): the page must not tell anyone which orders exist.
 */
export class BookingService {
  private readonly byId = new Map<string, BookingSite | null>();

  constructor(private readonly d: BookingServiceDeps) {}

  /** The site's booking page, or undefined: no such site, no sales, or no `bookingChannel`. */
  site(id: string): BookingSite | undefined {
    const known = this.byId.get(id);
    if (known !== undefined) return known ?? undefined;
    const site = this.d.sites.site(id);
    const channel = site?.bookingChannel ? site.catalogue.channels.find((c) => c.id === site.bookingChannel) : undefined;
    const pem = this.d.sites.config(id)?.controlKey.privateKeyPem;
    const found = site && channel && pem ? { site, channel, login: { id, name: siteName(site), secrets: new SiteSecrets(pem, id) } } : null;
    this.byId.set(id, found);
    return found ?? undefined;
  }

  info(b: BookingSite): Reply {
    const providers = this.d.payments.providers(b.site.id);
    return { status: 200, body: bookInfo(b.site, b.channel, localDate(this.d.clock(), b.site.catalogue.timeZone), providers, providers.includes('wechat') && this.d.wechatOAuth(b.site.id)) };
  }

  /** The booking channel's availability JSON, exactly the channel API's (sales' in-memory view). */
  availability(b: BookingSite, date: string): Promise<{ status: number; text: string }> {
    return this.d.sales.availabilityJson(b.site, b.channel, date);
  }

  async createOrder(b: BookingSite, who: VisitorSession, key: string, body: z.infer<typeof BookOrderRequestSchema>): Promise<Reply> {
    const r = await this.d.sales.createOrder(b.site, b.channel, this.key(who, key), {
      typeId: body.typeId,
      date: body.date,
      ...(body.slotId !== undefined ? { slotId: body.slotId } : {}),
      ...(body.entry !== undefined ? { entry: body.entry } : {}),
      contactPhone: who.phone,
      visitors: body.visitors,
      lang: body.lang,
      ...(body.couponCode !== undefined && body.couponCode !== '' ? { couponCode: body.couponCode } : {}),
      ...(body.marketingConsent !== undefined ? { marketingConsent: body.marketingConsent } : {}),
    });
    if (r.status !== 201) return r;
    const o = await this.d.sales.visitorOrder(b.site, b.channel, who.phone, String(r.body.orderId));
    if (!o) throw new CloudError('internal', `order ${String(r.body.orderId)} created but not found`);
    return { status: 201, body: bookOrder(b.site, o) };
  }

  async orders(b: BookingSite, who: VisitorSession): Promise<Reply> {
    const list = await this.d.sales.visitorOrders(b.site, b.channel, who.phone, this.d.limits.ordersListed);
    return { status: 200, body: { orders: list.map((o) => bookOrder(b.site, o)) } };
  }

  /** One order; a pending one is first looked up at the providers, so a page polling for the ticket sees it as soon as the money is taken. */
  async order(b: BookingSite, who: VisitorSession, orderId: string): Promise<Reply> {
    let o = await this.d.sales.visitorOrder(b.site, b.channel, who.phone, orderId);
    if (!o) return unknownOrder(orderId);
    if (o.status === 'pending') {
      await this.d.payments.refresh(b.site, b.channel, orderId);
      o = (await this.d.sales.visitorOrder(b.site, b.channel, who.phone, orderId)) ?? o;
    }
    return { status: 200, body: bookOrder(b.site, o) };
  }

  async pay(b: BookingSite, who: VisitorSession, orderId: string, body: z.infer<typeof BookPayRequestSchema>): Promise<Reply> {
    if (!(await this.d.sales.visitorOrder(b.site, b.channel, who.phone, orderId))) return unknownOrder(orderId);
    return this.d.payments.create(b.site, b.channel, orderId, {
      provider: body.provider,
      method: body.method,
      ...(body.openid !== undefined ? { openid: body.openid } : {}),
      ...(body.returnUrl !== undefined ? { returnUrl: body.returnUrl } : {}),
    });
  }

  async refund(b: BookingSite, who: VisitorSession, key: string | undefined, orderId: string, reason: string): Promise<Reply> {
    if (!(await this.d.sales.visitorOrder(b.site, b.channel, who.phone, orderId))) return unknownOrder(orderId);
    return this.after(b, who, orderId, await this.d.sales.refund(b.site, b.channel, this.key(who, key), orderId, reason));
  }

  async rebook(b: BookingSite, who: VisitorSession, key: string | undefined, orderId: string, to: { date: string; slotId?: string }): Promise<Reply> {
    if (!(await this.d.sales.visitorOrder(b.site, b.channel, who.phone, orderId))) return unknownOrder(orderId);
    return this.after(b, who, orderId, await this.d.sales.rebook(b.site, b.channel, this.key(who, key), orderId, to));
  }

  /** The visitor gives up a pending order: its payments closed at the provider, its places back at once (sales' cancel). */
  async cancel(b: BookingSite, who: VisitorSession, key: string | undefined, orderId: string): Promise<Reply> {
    if (!(await this.d.sales.visitorOrder(b.site, b.channel, who.phone, orderId))) return unknownOrder(orderId);
    const r = await this.d.sales.cancel(b.site, b.channel, this.key(who, key), orderId);
    // Paid meanwhile: the refusal carries the order as the page shows it.
    if (r.status === 409 && r.body.error === 'already_paid') {
      const o = await this.d.sales.visitorOrder(b.site, b.channel, who.phone, orderId);
      return { status: 409, body: { ...r.body, ...(o ? { order: bookOrder(b.site, o) } : {}) } };
    }
    return this.after(b, who, orderId, r);
  }

  /** A refusal as sales gave it; a success as the order now is. */
  private async after(b: BookingSite, who: VisitorSession, orderId: string, r: Reply): Promise<Reply> {
    if (r.status !== 200) return r;
    const o = await this.d.sales.visitorOrder(b.site, b.channel, who.phone, orderId);
    return o ? { status: 200, body: bookOrder(b.site, o) } : unknownOrder(orderId);
  }

  /** The visitor's key in the channel's idempotency space: two visitors who pick the same key never meet. */
  private key(who: VisitorSession, key: string | undefined): string {
    return `book:${who.phoneHash.slice(0, 16)}:${key ?? randomUUID()}`;
  }
}

/** A CloudError as the page's answer (anything else is the app's 500). */
export function refusal(err: unknown): Reply {
  if (!isCloudError(err)) throw err;
  return refusalReply(err);
}
