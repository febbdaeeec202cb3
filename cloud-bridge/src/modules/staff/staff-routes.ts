import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { CloudApp } from '../../core/module.js';
import type { RefusalCode } from '../../core/http/refusals.js';
import { errorResponses, json, send } from '../../core/http/openapi.js';
import { STAFF_SECURITY, staffAuth as checkStaff } from '../../core/http/staff-auth.js';
import type { SiteRegistry } from '../../core/sites.js';
import type { Staff } from './staff.js';
import { SiteParamSchema } from '../../core/http/schemas.js';
import { AuditLogSchema, ChannelParamSchema, ChannelStateSchema, PauseSchema } from './schemas.js';

/** Each staff route's refusals (besides 413 and 500). */
export const STAFF_ROUTE_CODES = {
  pause: ['unauthorized', 'invalid_request', 'unknown_site', 'unknown_channel'],
  audit: ['unauthorized'],
} satisfies Record<string, RefusalCode[]>;

export interface StaffRoutesOptions {
  sites: Pick<SiteRegistry, 'staffTokenSha256'>;
  staff: Pick<Staff, 'setChannelPaused' | 'auditLog'>;
}

/** Staff actions: pause and resume a channel (audit-logged, alerted), and the audit log. */
export function staffRoutes(app: CloudApp, opts: StaffRoutesOptions): void {
  const security = STAFF_SECURITY;
  const tags = ['staff'];
  const staffAuth = (c: Context, site: string): Response | undefined => checkStaff(opts.sites, c, site);
  const { staff } = opts;
  for (const action of ['pause', 'resume'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/v1/staff/sites/{site}/channels/{channel}/${action}`,
        tags,
        security,
        summary: action === 'pause' ? 'Stop a channel selling (audit-logged)' : 'Let a paused channel sell again (audit-logged)',
        request: { params: ChannelParamSchema, body: { content: { 'application/json': { schema: PauseSchema } }, required: true } },
        responses: { 200: json(ChannelStateSchema, 'New channel state'), ...errorResponses(STAFF_ROUTE_CODES.pause) },
      }),
      async (c) => {
        const { site, channel } = c.req.valid('param');
        const denied = staffAuth(c, site);
        if (denied) return denied as never;
        const { by, reason } = c.req.valid('json');
        return send(c, await staff.setChannelPaused(site, channel, action === 'pause', by, reason));
      },
    );
  }
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/audit',
      tags,
      security,
      summary: 'Staff actions, newest first',
      request: { params: SiteParamSchema },
      responses: { 200: json(AuditLogSchema, 'Audit log'), ...errorResponses(STAFF_ROUTE_CODES.audit) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      return c.json({ site, entries: await staff.auditLog(site) }, 200) as never;
    },
  );
}
