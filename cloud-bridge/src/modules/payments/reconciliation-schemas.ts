import { z } from '@hono/zod-openapi';
import { MISMATCH_KINDS, type MismatchKind } from '../../core/reconciliation.js';
import { DateSchema } from '../../core/http/schemas.js';

/** Bodies of the reconciliation routes (core/reconciliation.ts has the types and what each kind means). */

const Money = z.object({ count: z.number().int(), amountFen: z.number().int() }).strict();
const Kind = z.enum(MISMATCH_KINDS as [MismatchKind, ...MismatchKind[]]);
const Provider = z.enum(['wechat', 'alipay']);

export const MismatchSchema = z
  .object({
    kind: Kind,
    provider: Provider,
    outTradeNo: z.string().optional(),
    outRefundNo: z.string().optional(),
    transactionId: z.string().optional(),
    orderId: z.string().optional(),
    billFen: z.number().int().optional(),
    ourFen: z.number().int().optional(),
    lineNo: z.number().int().optional(),
    at: z.string().optional(),
    detail: z.string(),
  })
  .strict()
  .openapi('ReconciliationMismatch');

const Deferred = z
  .object({ provider: Provider, kind: z.enum(['payment', 'refund']), outTradeNo: z.string(), outRefundNo: z.string().optional(), orderId: z.string(), amountFen: z.number().int(), at: z.string() })
  .strict();

const ProviderResult = z
  .object({
    provider: Provider,
    state: z.enum(['matched', 'unavailable']),
    reason: z.enum(['bill_not_ready', 'provider_error', 'bill_empty']).optional(),
    error: z.string().optional(),
    bill: z.object({ payments: Money, refunds: Money, lines: z.number().int(), rejected: z.number().int(), declaredCount: z.number().int().optional(), empty: z.boolean() }).strict(),
    matched: z.object({ payments: Money, refunds: Money }).strict(),
    ours: z.object({ payments: Money, refunds: Money }).strict(),
    mismatches: z.array(MismatchSchema),
    deferred: z.array(Deferred).openapi({ description: 'Our records near midnight that are not in this bill and wait for the next day’s' }),
  })
  .strict();

export const ReconciliationSchema = z
  .object({
    v: z.literal(1),
    site: z.string(),
    date: z.string(),
    state: z.enum(['done', 'retrying', 'failed', 'not_run']).openapi({ description: '`retrying`: a bill is not there yet, tried again at `nextAt`; `not_run`: this date has not been reconciled' }),
    ranAt: z.string().optional(),
    attempts: z.number().int().optional(),
    nextAt: z.string().optional(),
    providers: z.array(ProviderResult).optional(),
    mismatchCounts: z.record(z.string(), z.number().int()).optional(),
  })
  .strict()
  .openapi('Reconciliation');

export const ReconciliationParamSchema = z.object({ site: z.string().min(1).max(64), date: DateSchema.openapi({ description: 'The bill date (Beijing time, as the providers date their bills)' }) });
