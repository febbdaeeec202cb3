import { z } from '@hono/zod-openapi';
import { MISMATCH_KINDS, type MismatchKind } from '../../core/reconciliation.js';

/** The daily report's reconciliation section (reconciliation-section.ts) as the JSON report carries it. */

const Provider = z.enum(['wechat', 'alipay']);
const int = z.number().int();

export const ReconciliationSectionSchema = z
  .object({
    state: z.enum(['done', 'retrying', 'failed', 'not_run', 'none']).openapi({ description: '`not_run`: the day has not been reconciled yet (the providers publish its bill the next morning); `none`: the site sells through no payment provider' }),
    ranAt: z.string().optional(),
    nextAt: z.string().optional(),
    providers: z.array(
      z
        .object({ provider: Provider, state: z.enum(['matched', 'unavailable']), reason: z.string().optional(), transactions: int, amountFen: int, refunds: int, refundedFen: int, matched: int, matchedFen: int, mismatches: int })
        .strict(),
    ),
    mismatches: z.array(
      z
        .object({
          kind: z.enum(MISMATCH_KINDS as [MismatchKind, ...MismatchKind[]]),
          provider: Provider,
          outTradeNo: z.string().optional(),
          outRefundNo: z.string().optional(),
          transactionId: z.string().optional(),
          orderId: z.string().optional(),
          billFen: int.optional(),
          ourFen: int.optional(),
          lineNo: int.optional(),
          at: z.string().optional(),
          detail: z.string(),
        })
        .strict(),
    ),
    channels: z
      .array(z.object({ channel: z.string(), names: z.object({ 'zh-CN': z.string(), en: z.string() }).strict().optional(), kind: z.enum(['partner', 'cash']), orders: int, amountFen: int, refundedFen: int }).strict())
      .openapi({ description: 'Money that never passes a provider: each partner-mode channel (collected by the partner) and each kiosk that takes money itself (cash)' }),
  })
  .strict();
