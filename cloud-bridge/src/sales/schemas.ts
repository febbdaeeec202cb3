import { z } from '@hono/zod-openapi';

/** Request and reply bodies of the channel API; the OpenAPI document at /docs is generated from these. */

const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')
  .openapi({ example: '2026-12-05' });

export const IdempotencyHeaderSchema = z.object({
  'idempotency-key': z
    .string()
    .min(8, 'Idempotency-Key: 8–100 characters')
    .max(100, 'Idempotency-Key: 8–100 characters')
    .openapi({ description: 'Unique per write; a retry with the same key and body gets the same answer, never a second order.', example: 'wx-20261205-000123' }),
});

export const AvailabilityQuerySchema = z.object({ date });

export const VisitorSchema = z
  .object({
    name: z.string().min(1).max(50).openapi({ example: '张三' }),
    idNumber: z.string().min(1).max(32).openapi({ description: 'Resident ID number (GB 11643, 18 characters). Stored only as a keyed hash and a masked form.', example: '11010519491231002X' }),
  })
  .strict();

export const CreateOrderSchema = z
  .object({
    typeId: z.string().min(1).max(64).openapi({ example: 'adult' }),
    date,
    slotId: z.string().min(1).max(64).optional().openapi({ example: 's0800' }),
    entry: z.enum(['early', 'night']).optional().openapi({ description: 'Early-bird or night entry: cheaper, admitted only in that window.' }),
    contactPhone: z.string().regex(/^1\d{10}$/, 'contactPhone: an 11-digit mainland mobile number').openapi({ example: '13800138000' }),
    visitors: z.array(VisitorSchema).min(1).max(50).openapi({ description: 'One per person (real name). A family package takes its size in visitors per ticket.' }),
  })
  .strict();
export type CreateOrderBody = z.infer<typeof CreateOrderSchema>;

export const PaySchema = z
  .object({
    paymentRef: z.string().min(1).max(100).openapi({ description: "The payment provider's transaction id.", example: 'wxpay-4200001234' }),
    amountFen: z.number().int().min(0).openapi({ description: 'Amount paid in fen; must equal the order amount.', example: 8000 }),
  })
  .strict();
export type PayBody = z.infer<typeof PaySchema>;

export const RefundSchema = z.object({ reason: z.string().min(1).max(64).openapi({ description: "A code from the park's refund reasons.", example: 'weather' }) }).strict();
export type RefundBody = z.infer<typeof RefundSchema>;

export const RebookSchema = z.object({ date, slotId: z.string().min(1).max(64).optional() }).strict();
export type RebookBody = z.infer<typeof RebookSchema>;

export const PauseSchema = z
  .object({
    by: z.string().min(1).max(64).openapi({ description: 'Who (staff name or id), for the audit log.', example: 'staff:li' }),
    reason: z.string().min(1).max(200).openapi({ example: 'Queue at the east gate' }),
  })
  .strict();

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ description: 'Machine-readable reason', example: 'sold_out' }),
    message: z.string().openapi({ description: 'For people' }),
  })
  .passthrough();

export const OrderIdParamSchema = z.object({ orderId: z.string().min(1).max(64) });
export const ChannelParamSchema = z.object({ site: z.string().min(1).max(64), channel: z.string().min(1).max(64) });
