import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { isCloudError } from '../../core/errors.js';
import { errorResponses, json, send } from '../../core/http/openapi.js';
import { refusalReply, type RefusalCode } from '../../core/http/refusals.js';
import { STAFF_SECURITY, staffAuth } from '../../core/http/staff-auth.js';
import type { CloudApp } from '../../core/module.js';
import type { SiteRegistry } from '../../core/sites.js';
import type { Reconciliation } from './reconciliation.js';
import { ReconciliationParamSchema, ReconciliationSchema } from './reconciliation-schemas.js';

/** Each reconciliation route's refusals (besides 413 and 500). */
export const RECONCILIATION_ROUTE_CODES = {
  get: ['unauthorized', 'invalid_request', 'invalid_date'],
  run: ['unauthorized', 'invalid_request', 'invalid_date', 'provider_not_configured', 'bill_not_ready'],
} satisfies Record<string, RefusalCode[]>;

/** Staff: a day's reconciliation against the providers' bills, and running it now. */
export function reconciliationRoutes(app: CloudApp, opts: { sites: Pick<SiteRegistry, 'staffTokenSha256'>; reconciliation: Reconciliation }): void {
  const tags = ['staff'];
  const security = STAFF_SECURITY;
  const path = '/v1/staff/sites/{site}/reconciliation/{date}';
  const denied = (c: Context, site: string): Response | undefined => staffAuth(opts.sites, c, site);
  app.openapi(
    createRoute({
      method: 'get',
      path,
      tags,
      security,
      summary: "A day's payment reconciliation: per provider the bill's totals, what matched, and every mismatch",
      description: 'The kept result of the last run (the timer runs each day from `payments.reconciliation.at`, default 10:30 Beijing time, for the day before). `state: not_run` when the day has not been reconciled.',
      request: { params: ReconciliationParamSchema },
      responses: { 200: json(ReconciliationSchema, 'Reconciliation'), ...errorResponses(RECONCILIATION_ROUTE_CODES.get) },
    }),
    async (c) => {
      const { site, date } = c.req.valid('param');
      const no = denied(c, site);
      if (no) return no as never;
      const result = await opts.reconciliation.get(site, date);
      return c.json(result ?? { v: 1, site, date, state: 'not_run' }, 200) as never;
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path,
      tags,
      security,
      summary: 'Reconcile a day now: download each provider’s bill, match it, keep the result (replacing the earlier one)',
      description:
        'Answers the new result. A bill that is not out yet or a provider that fails leaves the day `retrying` (the provider’s `reason` and `error` say why; the timer tries again at `nextAt`). Mismatches are alerted to staff once: running again with the same mismatches sends no new alert. `bill_not_ready` for today or a later date.',
      request: { params: ReconciliationParamSchema },
      responses: { 200: json(ReconciliationSchema, 'Reconciliation'), ...errorResponses(RECONCILIATION_ROUTE_CODES.run) },
    }),
    async (c) => {
      const { site, date } = c.req.valid('param');
      const no = denied(c, site);
      if (no) return no as never;
      try {
        return c.json(await opts.reconciliation.run(site, date), 200) as never;
      } catch (err) {
        if (!isCloudError(err)) throw err;
        return send(c, refusalReply(err));
      }
    },
  );
}
