import type { IncomingMessage } from 'node:http';
import { createRoute } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { Context } from 'hono';
import type { CloudApp } from '../../core/module.js';
import type { RefusalCode } from '../../core/http/refusals.js';
import { errorResponses, json } from '../../core/http/openapi.js';
import { SiteParamSchema } from '../../core/http/schemas.js';
import { STAFF_SECURITY, staffAuth } from '../../core/http/staff-auth.js';
import type { Metrics } from '../../core/metrics.js';
import type { Logger } from '../../core/log.js';
import type { SiteRegistry } from '../../core/sites.js';
import type { ReceiptHandler } from './receipts.js';
import type { SmsRepository } from './repository.js';
import { SmsListQuerySchema, SmsListSchema } from './schemas.js';

export const SMS_ROUTE_CODES = { list: ['unauthorized', 'invalid_request'] } satisfies Record<string, RefusalCode[]>;

/** Where a provider pushes its receipts: {publicUrl}/callbacks/sms/{provider}/{token}. */
export const receiptPath = (provider: string, token: string): string => `/callbacks/sms/${provider}/${token}`;

export interface SmsRoutesOptions {
  sites: Pick<SiteRegistry, 'staffTokenSha256'>;
  repo: SmsRepository;
  provider: string;
  receipts?: ReceiptHandler;
  clock: () => Date;
  metrics: Metrics;
  log: Logger;
}

const notFound = (c: Context) => c.json({ error: 'not_found' }, 404);

export function smsRoutes(app: CloudApp, opts: SmsRoutesOptions): void {
  const { repo, receipts } = opts;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/sms',
      tags: ['staff'],
      security: STAFF_SECURITY,
      summary: "The site's texts to visitors, newest first: sent, delivered, failed, refused (throttled) — phone numbers masked",
      request: { params: SiteParamSchema, query: SmsListQuerySchema },
      responses: { 200: json(SmsListSchema, 'Texts and their states'), ...errorResponses(SMS_ROUTE_CODES.list) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(opts.sites, c, site);
      if (denied) return denied as never;
      const { limit, state } = c.req.valid('query');
      const rows = await repo.recent(site, limit, state as Parameters<SmsRepository['recent']>[2]);
      const last24h = await repo.countsSince(site, new Date(opts.clock().getTime() - 86_400_000));
      return c.json(
        {
          site,
          provider: opts.provider,
          last24h,
          messages: rows.map((r) => ({
            id: r.id,
            orderId: r.order_id,
            provider: r.provider,
            providerMessageId: r.provider_message_id,
            phone: r.phone_masked,
            kind: r.kind,
            template: r.template,
            lang: r.lang,
            state: r.state,
            errorCode: r.error_code,
            error: r.error_message,
            attempts: Number(r.attempts),
            createdAt: r.created_at,
            sentAt: r.sent_at,
            doneAt: r.done_at,
          })),
        },
        200,
      ) as never;
    },
  );

  if (!receipts) return;
  // Batches of receipts can be large (Alibaba merges them): 1 MiB, outside /v1's 64 KiB limit.
  const limit = bodyLimit({ maxSize: 1024 * 1024, onError: (c) => c.json({ error: 'payload_too_large' }, 413) });
  app.post('/callbacks/sms/:provider/:token', limit, async (c) => {
    const { provider, token } = c.req.param();
    if (provider !== opts.provider || !receipts.tokenMatches(token)) {
      // Answered like a path that does not exist: a prober learns nothing.
      opts.metrics.refuse('sms_receipt_token');
      opts.log.warn({ event: 'sms_receipt_refused', provider, reason: 'token' }, 'SMS receipt push with a wrong path token: refused');
      return notFound(c);
    }
    const address = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress;
    if (!receipts.sourceAllowed(address)) {
      opts.metrics.refuse('sms_receipt_source');
      opts.log.warn({ event: 'sms_receipt_refused', provider, reason: 'source', address }, 'SMS receipt push from outside sms.receipts.allowFrom: refused');
      return c.json({ error: 'forbidden' }, 403);
    }
    const answer = await receipts.handle(await c.req.text());
    return c.body(answer.body, answer.status as 200, { 'content-type': 'application/json; charset=utf-8' });
  });
}
