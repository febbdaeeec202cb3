import { z } from '@hono/zod-openapi';
import { SMS_STATES } from './repository.js';

/** The staff list of a site's texts: what the visitor was sent and what became of it. */

const State = z.enum(SMS_STATES as [string, ...string[]]);

export const SmsListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ description: 'Newest first, at most this many (1–500)' }),
    state: State.optional().openapi({ description: 'Only texts in this state' }),
  })
  .strict();

export const SmsMessageSchema = z
  .object({
    id: z.string(),
    orderId: z.string().nullable(),
    provider: z.string().openapi({ description: 'aliyun | tencent' }),
    providerMessageId: z.string().nullable().openapi({ description: "Alibaba's BizId / Tencent's SerialNo" }),
    phone: z.string().openapi({ description: 'Masked: 138****8000 (the number itself is never stored)', example: '138****8000' }),
    kind: z.string().openapi({ description: 'checkin, or the template the caller named' }),
    template: z.string().openapi({ description: "The provider's template code / id" }),
    lang: z.string(),
    state: State.openapi({ description: 'queued → sent → delivered | failed; refused (never sent: throttled, no template…); unknown (no answer from the provider: it may have been sent)' }),
    errorCode: z.string().nullable().openapi({ description: "Why not: the provider's or carrier's code, throttled_minute|hour|day, queue_full, sms_timeout…" }),
    error: z.string().nullable(),
    attempts: z.number().int(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
    doneAt: z.string().nullable().openapi({ description: 'Delivered, failed or refused at' }),
  })
  .strict()
  .openapi('SmsMessage');

export const SmsListSchema = z
  .object({
    site: z.string(),
    provider: z.string(),
    last24h: z.record(z.string(), z.number().int()).openapi({ description: 'Texts of the last 24 hours by state' }),
    messages: z.array(SmsMessageSchema),
  })
  .strict()
  .openapi('SmsList');
