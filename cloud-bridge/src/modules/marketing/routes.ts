import { createRoute } from '@hono/zod-openapi';
import { addDays, localDate } from '@stile/config';
import type { Context } from 'hono';
import type { Clock } from '../../core/clock.js';
import { errorResponses, json } from '../../core/http/openapi.js';
import { refusalBody, type RefusalCode } from '../../core/http/refusals.js';
import { SiteParamSchema } from '../../core/http/schemas.js';
import { STAFF_SECURITY, staffAuth as checkStaff, unknownSite } from '../../core/http/staff-auth.js';
import type { Logger } from '../../core/log.js';
import type { CloudApp } from '../../core/module.js';
import type { SiteRegistry } from '../../core/sites.js';
import { termsOf, type CouponRow, type MarketingRepository } from './repository.js';
import { CouponListQuerySchema, CouponListSchema, CouponParamSchema, CouponSchema, IssueCouponSchema, MembershipSchema } from './schemas.js';
import { newCouponCode, normalizeCode, termsOfTemplate, windowOf } from './terms.js';

/** Each marketing route's refusals (besides 413 and 500). */
export const MARKETING_ROUTE_CODES = {
  list: ['unauthorized', 'invalid_request', 'invalid_date', 'unknown_site'],
  issue: ['unauthorized', 'invalid_request', 'invalid_date', 'unknown_site'],
  void: ['unauthorized', 'invalid_request', 'unknown_site', 'coupon_unknown', 'coupon_in_use', 'coupon_used', 'coupon_void'],
  membership: ['unauthorized', 'unknown_site'],
} satisfies Record<string, RefusalCode[]>;

export interface MarketingRouteDeps {
  sites: Pick<SiteRegistry, 'staffTokenSha256' | 'site' | 'config'>;
  repo: MarketingRepository;
  clock: Clock;
  log: Logger;
}

/** A coupon as staff see it. */
export function couponView(r: CouponRow): Record<string, unknown> {
  const t = termsOf(r);
  return {
    code: r.code,
    rule: r.rule_id,
    template: r.template,
    visitor: r.id_hash,
    kind: t.kind,
    percentOff: t.percentOff,
    amountFen: t.amountFen,
    item: t.item,
    appliesTo: t.appliesTo,
    categories: t.categories,
    channels: t.channels,
    stacking: t.stacking,
    minSpendFen: t.minSpendFen,
    validFrom: r.valid_from,
    validTo: r.valid_to,
    state: t.state,
    issuedAt: r.issued_at,
    heldBy: r.held_order,
    redeemedAt: r.redeemed_at,
    redeemedVia: r.redeemed_via,
    redeemedRef: r.redeemed_ref,
    discountFen: r.discount_fen === null ? null : Number(r.discount_fen),
  };
}

/** Staff: the site's coupons (list, issue one by hand, void) and its membership counts. */
export function marketingRoutes(app: CloudApp, d: MarketingRouteDeps): void {
  const security = STAFF_SECURITY;
  const tags = ['staff'];
  const guard = (c: Context, site: string): Response | undefined => checkStaff(d.sites, c, site) ?? (d.sites.site(site) ? undefined : (unknownSite(c, site) as Response));
  const refuse = (c: Context, code: RefusalCode, message: string, status: number) => c.json(refusalBody(code, message), status as 422) as never;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/coupons',
      tags,
      security,
      summary: 'Coupons of the site, newest first, with filters, and their counts by state',
      request: { params: SiteParamSchema, query: CouponListQuerySchema },
      responses: { 200: json(CouponListSchema, 'Coupons'), ...errorResponses(MARKETING_ROUTE_CODES.list) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = guard(c, site);
      if (denied) return denied as never;
      const q = c.req.valid('query');
      const rows = await d.repo.list(site, { ...(q.state ? { state: q.state } : {}), ...(q.rule ? { rule: q.rule } : {}), ...(q.visitor ? { idHash: q.visitor } : {}), ...(q.from ? { issuedFrom: q.from } : {}), ...(q.to ? { issuedTo: addDays(q.to, 1) } : {}), limit: q.limit });
      const counts = (await d.repo.counts(site)).map((r) => ({ state: r.state, coupons: r.n, discountFen: r.discountFen }));
      return c.json({ site, counts, coupons: rows.map(couponView) }, 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/staff/sites/{site}/coupons',
      tags,
      security,
      summary: "Issue one coupon by hand from a template (to a visitor's keyed ID hash, or to the bearer)",
      request: { params: SiteParamSchema, body: { content: { 'application/json': { schema: IssueCouponSchema } }, required: true } },
      responses: { 200: json(CouponSchema, 'The coupon, issued'), ...errorResponses(MARKETING_ROUTE_CODES.issue) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = guard(c, site);
      if (denied) return denied as never;
      const body = c.req.valid('json');
      const template = d.sites.config(site)?.marketing?.coupons.find((t) => t.id === body.template);
      if (!template) return refuse(c, 'invalid_request', `no coupon template "${body.template}" in cloud.yaml marketing.coupons`, 400);
      if ((body.validFrom === undefined) !== (body.validTo === undefined) || (body.validFrom && body.validTo && body.validFrom > body.validTo)) return refuse(c, 'invalid_request', 'validFrom and validTo go together, validFrom first', 400);
      const now = d.clock();
      const today = localDate(now, d.sites.site(site)!.catalogue.timeZone);
      const window = body.validFrom && body.validTo ? { from: body.validFrom, to: body.validTo } : windowOf(template, today);
      const code = newCouponCode();
      await d.repo.transaction(async (trx) => {
        await d.repo.insertCoupon(trx, { site, code, rule_id: 'manual', id_hash: body.visitor ?? null, ...termsOfTemplate(template), valid_from: window.from, valid_to: window.to, issued_at: now.toISOString() });
        await d.repo.audit(trx, site, now.toISOString(), body.staff ?? 'staff', 'coupon_issue', code, { template: template.id, visitor: body.visitor ? body.visitor.slice(0, 8) : null, validFrom: window.from, validTo: window.to });
      });
      d.log.info({ site, coupon: code, template: template.id, owned: body.visitor !== undefined, ...(body.staff ? { staff: body.staff } : {}) }, 'coupon issued by staff');
      return c.json(couponView((await d.repo.coupon(d.repo.db, site, code))!), 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/staff/sites/{site}/coupons/{code}/void',
      tags,
      security,
      summary: 'Void an issued coupon (not one held by an unpaid order or already used)',
      request: { params: CouponParamSchema },
      responses: { 200: json(CouponSchema, 'The coupon, void'), ...errorResponses(MARKETING_ROUTE_CODES.void) },
    }),
    async (c) => {
      const { site, code: raw } = c.req.valid('param');
      const denied = guard(c, site);
      if (denied) return denied as never;
      const code = normalizeCode(raw);
      if (!(await d.repo.void(site, code, d.clock().toISOString(), 'staff'))) {
        const row = await d.repo.coupon(d.repo.db, site, code);
        if (!row) return refuse(c, 'coupon_unknown', `no coupon ${code} at this site`, 422);
        if (row.state === 'held') return refuse(c, 'coupon_in_use', `coupon ${code} is held by unpaid order ${row.held_order}; void it once that order ends`, 422);
        if (row.state === 'redeemed') return refuse(c, 'coupon_used', `coupon ${code} was used (${row.redeemed_via}, ${row.redeemed_at})`, 422);
        return refuse(c, 'coupon_void', `coupon ${code} is already void`, 422);
      }
      d.log.info({ site, coupon: code }, 'coupon voided by staff');
      return c.json(couponView((await d.repo.coupon(d.repo.db, site, code))!), 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/membership',
      tags,
      security,
      summary: 'Members of the site (automatic after N admitted visits) and how many joined in the last 30 days',
      request: { params: SiteParamSchema },
      responses: { 200: json(MembershipSchema, 'Membership'), ...errorResponses(MARKETING_ROUTE_CODES.membership) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = guard(c, site);
      if (denied) return denied as never;
      const today = localDate(d.clock(), d.sites.site(site)!.catalogue.timeZone);
      const m = await d.repo.membership(site, addDays(today, -29));
      return c.json({ site, afterVisits: d.sites.config(site)?.marketing?.membership?.afterVisits ?? null, members: m.members, newLast30Days: m.newSince, profiles: m.profiles }, 200) as never;
    },
  );
}
