import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { CloudError } from '../../core/errors.js';
import type { CloudApp } from '../../core/module.js';
import { errorResponses, json } from '../../core/http/openapi.js';
import { refusalBody, refusalReply, type RefusalCode } from '../../core/http/refusals.js';
import { bearer, STAFF_SECURITY, staffAuth } from '../../core/http/staff-auth.js';
import type { SiteRegistry } from '../../core/sites.js';
import type { Combos, PartnerCaller } from './combos.js';
import {
  FormatQuerySchema,
  LinesQuerySchema,
  PartnerLinesSchema,
  PartnerPeriodParamSchema,
  ReconciliationSchema,
  RedeemBodySchema,
  RedemptionSchema,
  StaffReconciliationParamSchema,
  StaffStatementParamSchema,
  StatementSchema,
} from './schemas.js';
import { reconciliationToCsv, statementToCsv, statementToHtml, type Statement } from './statement.js';

/** Each route's refusals (besides 413 and 500). */
export const PARTNER_ROUTE_CODES = {
  lines: ['unknown_partner_key', 'invalid_request', 'invalid_date'],
  redeem: ['unknown_partner_key', 'invalid_request', 'unknown_order', 'unknown_part', 'not_your_part', 'part_not_redeemable'],
  statement: ['unknown_partner_key', 'invalid_period'],
  staffStatement: ['unauthorized', 'invalid_period', 'unknown_partner', 'unknown_site'],
  reconciliation: ['unauthorized', 'invalid_request', 'invalid_period', 'unknown_site'],
} satisfies Record<string, RefusalCode[]>;

export interface PartnerRoutesOptions {
  sites: Pick<SiteRegistry, 'staffTokenSha256'>;
  combos: Combos;
}

const statementResponse = {
  content: {
    'application/json': { schema: StatementSchema },
    'text/csv': { schema: z.string().openapi({ description: 'format=csv: UTF-8 with a BOM, for spreadsheets' }) },
    'text/html': { schema: z.string().openapi({ description: 'format=html: a printable page' }) },
  },
  description: 'Statement',
};

/** A refusal thrown by the service, answered with its status (anything else is a 500 from the app). */
function answer(c: Context, err: unknown): Response {
  if (!(err instanceof CloudError)) throw err;
  const r = refusalReply(err);
  return c.json(r.body, r.status as 400);
}

function sendStatement(c: Context, s: Statement, format: 'json' | 'csv' | 'html'): Response {
  if (format === 'csv') return c.body(statementToCsv(s, { bom: true }), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${s.site}-${s.partner.id}-${s.period}.csv"` });
  if (format === 'html') return c.html(statementToHtml(s));
  return c.json(s, 200);
}

/**
 * The partner API (`/v1/partner/…`, the partner's own key: it sees only its own lines) and
 * the staff's statements and reconciliation (`/v1/staff/sites/{site}/partners/…`).
 */
export function partnerRoutes(app: CloudApp, opts: PartnerRoutesOptions): void {
  const { combos } = opts;
  app.openAPIRegistry.registerComponent('securitySchemes', 'partnerKey', { type: 'http', scheme: 'bearer', description: "A combo partner's API key (cloud.yaml sites[].partners[].apiKeySha256)" });
  const security = [{ partnerKey: [] }];
  const tags = ['partner'];
  /** The caller's partner, or the 401 answer. */
  const asPartner = (c: Context): PartnerCaller | Response => combos.partnerForKey(bearer(c)) ?? c.json(refusalBody('unknown_partner_key', 'send the partner API key as Authorization: Bearer <key>'), 401);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/partner/lines',
      tags,
      security,
      summary: "The partner's own split lines (sales and reversals) between two park-local days",
      request: { query: LinesQuerySchema },
      responses: { 200: json(PartnerLinesSchema, 'Lines'), ...errorResponses(PARTNER_ROUTE_CODES.lines) },
    }),
    async (c) => {
      const who = asPartner(c);
      if (who instanceof Response) return who as never;
      const { from, to } = c.req.valid('query');
      try {
        return c.json({ site: who.site, partner: who.partner.id, from, to, lines: await combos.lines(who.site, who.partner.id, from, to) }, 200) as never;
      } catch (err) {
        return answer(c, err) as never;
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/partner/redemptions',
      tags,
      security,
      summary: 'Redeem the partner\'s part of a combo (the hotel checks the guest in); a retry answers the first redemption',
      request: { body: { content: { 'application/json': { schema: RedeemBodySchema } }, required: true } },
      responses: { 200: json(RedemptionSchema, 'Redeemed (now, or before: `created` false)'), ...errorResponses(PARTNER_ROUTE_CODES.redeem) },
    }),
    async (c) => {
      const who = asPartner(c);
      if (who instanceof Response) return who as never;
      try {
        return c.json(await combos.redeem(who, c.req.valid('json')), 200) as never;
      } catch (err) {
        return answer(c, err) as never;
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/partner/statements/{period}',
      tags,
      security,
      summary: "The partner's statement for a day (YYYY-MM-DD) or a month (YYYY-MM): JSON, CSV or HTML",
      request: { params: PartnerPeriodParamSchema, query: FormatQuerySchema },
      responses: { 200: statementResponse, ...errorResponses(PARTNER_ROUTE_CODES.statement) },
    }),
    async (c) => {
      const who = asPartner(c);
      if (who instanceof Response) return who as never;
      try {
        return sendStatement(c, await combos.statement(who.site, who.partner.id, c.req.valid('param').period), c.req.valid('query').format) as never;
      } catch (err) {
        return answer(c, err) as never;
      }
    },
  );

  const staffTags = ['staff'];
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/partners/{partner}/statements/{period}',
      tags: staffTags,
      security: STAFF_SECURITY,
      summary: "A partner's statement for a day or a month, as the partner sees it: JSON, CSV or HTML",
      request: { params: StaffStatementParamSchema, query: FormatQuerySchema },
      responses: { 200: statementResponse, ...errorResponses(PARTNER_ROUTE_CODES.staffStatement) },
    }),
    async (c) => {
      const { site, partner, period } = c.req.valid('param');
      const denied = staffAuth(opts.sites, c, site);
      if (denied) return denied as never;
      try {
        return sendStatement(c, await combos.statement(site, partner, period), c.req.valid('query').format) as never;
      } catch (err) {
        return answer(c, err) as never;
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/partners/reconciliation/{period}',
      tags: staffTags,
      security: STAFF_SECURITY,
      summary: 'Combo orders of a day or a month: amount paid (and payment bill) against the split lines, to the fen; every difference with its order',
      request: { params: StaffReconciliationParamSchema, query: z.object({ format: z.enum(['json', 'csv']).default('json') }) },
      responses: {
        200: {
          content: { 'application/json': { schema: ReconciliationSchema }, 'text/csv': { schema: z.string().openapi({ description: 'format=csv: UTF-8 with a BOM' }) } },
          description: 'Reconciliation',
        },
        ...errorResponses(PARTNER_ROUTE_CODES.reconciliation),
      },
    }),
    async (c) => {
      const { site, period } = c.req.valid('param');
      const denied = staffAuth(opts.sites, c, site);
      if (denied) return denied as never;
      try {
        const r = await combos.reconciliation(site, period);
        if (c.req.valid('query').format === 'csv') return c.body(reconciliationToCsv(r), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${site}-combos-${period}.csv"` }) as never;
        return c.json(r, 200) as never;
      } catch (err) {
        return answer(c, err) as never;
      }
    },
  );
}
