import { z } from '@hono/zod-openapi';

/** Bodies of the staff actions: pause/resume, the audit log. */

export const PauseSchema = z
  .object({
    by: z.string().min(1).max(64).openapi({ description: 'Who (staff name or id), for the audit log.', example: 'staff:li' }),
    reason: z.string().min(1).max(200).openapi({ example: 'Queue at the east gate' }),
  })
  .strict();

/* ---------- replies ---------- */

export const ChannelStateSchema = z
  .object({ site: z.string(), channel: z.string(), paused: z.boolean(), by: z.string(), reason: z.string(), at: z.string() })
  .strict()
  .openapi('ChannelState');

export const AuditLogSchema = z
  .object({ site: z.string(), entries: z.array(z.object({ at: z.string(), actor: z.string(), action: z.string(), target: z.string(), reason: z.string() }).strict()) })
  .strict()
  .openapi('AuditLog');

export const ChannelParamSchema = z.object({ site: z.string().min(1).max(64), channel: z.string().min(1).max(64) });
