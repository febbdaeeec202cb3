import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { escapeHtml } from '../../core/html.js';
import { errorResponses, json } from '../../core/http/openapi.js';
import { refusalBody, type RefusalCode } from '../../core/http/refusals.js';
import { DateSchema, SiteParamSchema } from '../../core/http/schemas.js';
import { STAFF_SECURITY, staffAuth } from '../../core/http/staff-auth.js';
import type { CloudApp } from '../../core/module.js';
import type { SiteRegistry } from '../../core/sites.js';
import { SEGMENT_DIMENSIONS } from './repository.js';
import type { Visitors } from './service.js';

/** Each visitors route's refusals (besides 413 and 500). */
export const VISITOR_ROUTE_CODES = {
  optOut: ['invalid_request', 'unknown_site', 'opt_out_token_invalid'],
  consent: ['unauthorized', 'invalid_request', 'unknown_site', 'unknown_visitor'],
  deletion: ['unauthorized', 'invalid_request', 'unknown_site', 'unknown_visitor'],
  segments: ['unauthorized', 'invalid_request', 'invalid_date', 'unknown_site'],
} satisfies Record<string, RefusalCode[]>;

const Who = {
  idNumber: z.string().min(1).max(32).optional().openapi({ description: 'The resident ID number: hashed with the site key at once, never stored or logged' }),
  idHash: z.string().regex(/^[0-9a-f]{64}$/).optional().openapi({ description: 'Or the keyed ID hash' }),
};
const ConsentBodySchema = z
  .object({ ...Who, consent: z.boolean(), source: z.string().min(1).max(64).openapi({ example: 'front-desk' }), by: z.string().min(1).max(64).openapi({ description: 'Who (staff), for the log', example: 'staff:li' }) })
  .strict()
  .refine((b) => (b.idNumber === undefined) !== (b.idHash === undefined), { message: 'give exactly one of idNumber and idHash' });
const DeletionBodySchema = z
  .object({ ...Who, by: z.string().min(1).max(64).openapi({ description: 'Who (staff), for the audit log', example: 'staff:li' }), reason: z.string().min(1).max(200).default('visitor request (PIPL art. 47)') })
  .strict()
  .refine((b) => (b.idNumber === undefined) !== (b.idHash === undefined), { message: 'give exactly one of idNumber and idHash' });
const DeletionSchema = z
  .object({
    visitor: z.string().openapi({ description: 'The first 8 characters of the ID hash (as in the audit log)' }),
    deleted: z.object({ profiles: z.number().int(), visits: z.number().int(), tags: z.number().int(), coupons: z.number().int(), couponGrants: z.number().int(), posLines: z.number().int(), orderVisitors: z.number().int() }).strict(),
  })
  .strict();
const ConsentSchema = z.object({ visitor: z.string(), consent: z.boolean(), at: z.string() }).strict();
const CellsSchema = z
  .object({
    k: z.number().int(),
    cells: z.array(z.object({ key: z.string(), count: z.number().int(), label: z.string().optional() }).strict()),
    other: z.object({ groups: z.number().int(), count: z.number().int().nullable() }).strict().nullable().openapi({ description: 'Groups under k merged; count null when even together they are under k' }),
    total: z.number().int().nullable(),
  })
  .strict();
const SegmentsSchema = z.object({ site: z.string(), from: z.string(), to: z.string(), by: z.enum(SEGMENT_DIMENSIONS), k: z.number().int(), groups: CellsSchema, tags: CellsSchema.openapi({ description: 'Visitors per tag, suppressed the same way' }) }).strict();
const SegmentsQuerySchema = z.object({ from: DateSchema, to: DateSchema, by: z.enum(SEGMENT_DIMENSIONS) });
const TokenQuerySchema = z.object({ t: z.string().min(1).max(200).openapi({ description: 'The token of the link sent to the visitor' }) });

const page = (title: string, body: string) =>
  `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title></head><body style="font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em">${body}</body></html>`;

export function visitorRoutes(app: CloudApp, opts: { sites: Pick<SiteRegistry, 'staffTokenSha256' | 'site'>; visitors: Visitors }): void {
  const { visitors } = opts;
  const noSite = (c: Context, site: string) => c.json(refusalBody('unknown_site', `no site ${site} with sales`), 404) as never;
  const forged = (c: Context) => c.json(refusalBody('opt_out_token_invalid', 'this opt-out link is not valid: use the link of the message as it was sent'), 403) as never;

  for (const method of ['get', 'post'] as const) {
    app.openapi(
      createRoute({
        method,
        path: '/v1/visitor/{site}/opt-out',
        tags: ['visitor'],
        summary: method === 'get' ? 'The opt-out page of a marketing message (a button that posts the same link)' : 'Opt out of marketing messages: the profile is marked and no message goes to it again',
        request: { params: SiteParamSchema, query: TokenQuerySchema },
        responses: { 200: { content: { 'text/html': { schema: z.string() } }, description: 'Page' }, ...errorResponses(VISITOR_ROUTE_CODES.optOut) },
      }),
      async (c) => {
        const { site } = c.req.valid('param');
        const { t } = c.req.valid('query');
        if (!opts.sites.site(site)) return noSite(c, site);
        const idHash = visitors.tokenVisitor(site, t);
        if (!idHash) return forged(c);
        if (method === 'get') {
          const action = `/v1/visitor/${encodeURIComponent(site)}/opt-out?t=${encodeURIComponent(t)}`;
          return c.html(page('退订 / Unsubscribe', `<h1>退订营销短信</h1><p>点击下方按钮后，本景区不再向您发送优惠和活动短信。<br>Press the button to receive no more offers from this park.</p><form method="post" action="${escapeHtml(action)}"><button type="submit">退订 / Unsubscribe</button></form>`), 200) as never;
        }
        await visitors.optOut(site, idHash);
        return c.html(page('已退订 / Unsubscribed', '<h1>已退订</h1><p>您将不再收到本景区的营销短信。<br>You will receive no more offers from this park.</p>'), 200) as never;
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/staff/sites/{site}/visitors/consent',
      tags: ['staff'],
      security: STAFF_SECURITY,
      summary: "Record or withdraw a visitor's consent to marketing (at the front desk, on the phone)",
      request: { params: SiteParamSchema, body: { content: { 'application/json': { schema: ConsentBodySchema } }, required: true } },
      responses: { 200: json(ConsentSchema, 'Recorded'), ...errorResponses(VISITOR_ROUTE_CODES.consent) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(opts.sites, c, site);
      if (denied) return denied as never;
      if (!opts.sites.site(site)) return noSite(c, site);
      const body = c.req.valid('json');
      const idHash = visitors.idHashOf(site, body);
      if (!idHash) return c.json(refusalBody('invalid_request', 'idNumber is not a valid resident ID number'), 400) as never;
      const at = await visitors.setConsent(site, idHash, body.consent, body.source);
      if (!at) return c.json(refusalBody('unknown_visitor', `no profile of visitor ${idHash.slice(0, 8)}… at ${site}`), 404) as never;
      return c.json({ visitor: idHash.slice(0, 8), consent: body.consent, at }, 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/staff/sites/{site}/visitors/deletions',
      tags: ['staff'],
      security: STAFF_SECURITY,
      summary: "Delete a visitor's profile, visits, tags and coupons on request; unlink their POS lines and orders' attributes (logged)",
      request: { params: SiteParamSchema, body: { content: { 'application/json': { schema: DeletionBodySchema } }, required: true } },
      responses: { 200: json(DeletionSchema, 'Deleted'), ...errorResponses(VISITOR_ROUTE_CODES.deletion) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(opts.sites, c, site);
      if (denied) return denied as never;
      if (!opts.sites.site(site)) return noSite(c, site);
      const body = c.req.valid('json');
      const idHash = visitors.idHashOf(site, body);
      if (!idHash) return c.json(refusalBody('invalid_request', 'idNumber is not a valid resident ID number'), 400) as never;
      const deleted = await visitors.deleteVisitor(site, idHash, body.by, body.reason);
      if (!deleted) return c.json(refusalBody('unknown_visitor', `no data of visitor ${idHash.slice(0, 8)}… at ${site}; the request is logged`), 404) as never;
      return c.json({ visitor: idHash.slice(0, 8), deleted }, 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/visitors/segments',
      tags: ['staff'],
      security: STAFF_SECURITY,
      summary: 'Distinct visitors of [from, to] by one attribute, and per tag, with small-cell suppression (no group under k = visitors.minGroup)',
      request: { params: SiteParamSchema, query: SegmentsQuerySchema },
      responses: { 200: json(SegmentsSchema, 'Segments'), ...errorResponses(VISITOR_ROUTE_CODES.segments) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(opts.sites, c, site);
      if (denied) return denied as never;
      if (!opts.sites.site(site)) return noSite(c, site);
      const { from, to, by } = c.req.valid('query');
      if (from > to) return c.json(refusalBody('invalid_request', `from ${from} is after to ${to}`), 400) as never;
      const s = await visitors.segments(site, from, to, by);
      return c.json({ site, from, to, by, k: s.k, groups: s.by, tags: s.tags }, 200) as never;
    },
  );
}
