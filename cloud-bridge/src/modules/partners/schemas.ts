import { z } from '@hono/zod-openapi';
import { DateSchema } from '../../core/http/schemas.js';

/** Bodies of the partner and staff combo routes (docs/visitor-data/combos.md). */

const fen = z.number().int();

export const PartnerLineSchema = z
  .object({
    orderId: z.string(),
    date: z.string().openapi({ description: 'Park-local day of the payment (sale) or the refund (reversal)' }),
    at: z.string(),
    kind: z.enum(['sale', 'reversal']),
    part: z.string(),
    partName: z.string(),
    units: z.number().int().openapi({ description: 'Tickets of the order (negative on a reversal)' }),
    amountFen: fen.openapi({ description: "The partner's share in fen (negative on a reversal)" }),
    visitDate: z.string().nullable(),
    persons: z.number().int().nullable(),
    guest: z.string().nullable().openapi({ description: "The lead visitor's name, masked (张**): enough to find the booking at the desk, which checks the guest's ID card itself" }),
    redeemedAt: z.string().nullable(),
  })
  .strict()
  .openapi('PartnerLine');

export const PartnerLinesSchema = z
  .object({ site: z.string(), partner: z.string(), from: z.string(), to: z.string(), lines: z.array(PartnerLineSchema) })
  .strict()
  .openapi('PartnerLines');

export const LinesQuerySchema = z.object({ from: DateSchema, to: DateSchema });

export const RedeemBodySchema = z
  .object({
    orderId: z.string().min(1).max(64).optional(),
    ticketCode: z.string().min(1).max(200).optional().openapi({ description: 'The ticket QR text (ST1:…) or its ticket id' }),
    part: z.string().min(1).max(64).openapi({ description: "The combo part's id, e.g. hotel-night" }),
    by: z.string().min(1).max(64).optional().openapi({ description: 'Who at the partner redeemed it (desk clerk id), for the record' }),
  })
  .strict()
  .refine((b) => (b.orderId === undefined) !== (b.ticketCode === undefined), { message: 'give exactly one of orderId, ticketCode' });

export const RedemptionSchema = z
  .object({
    orderId: z.string(),
    partner: z.string(),
    part: z.string(),
    partName: z.string(),
    redeemedAt: z.string(),
    created: z.boolean().openapi({ description: 'false: it was redeemed before (a retry answers the first redemption)' }),
    visitDate: z.string(),
    persons: z.number().int(),
    units: z.number().int(),
    guest: z.string().nullable(),
  })
  .strict()
  .openapi('PartnerRedemption');

const sums = {
  saleUnits: z.number().int(),
  saleFen: fen,
  reversalUnits: z.number().int(),
  reversalFen: fen,
  netFen: fen,
};

export const StatementSchema = z
  .object({
    site: z.string(),
    partner: z.object({ id: z.string(), name: z.string() }).strict(),
    period: z.string(),
    from: z.string(),
    to: z.string(),
    currency: z.literal('CNY'),
    ...sums,
    days: z.array(z.object({ date: z.string(), ...sums }).strict()),
    lines: z.array(PartnerLineSchema),
  })
  .strict()
  .openapi('PartnerStatement');

export const ReconciliationSchema = z
  .object({
    site: z.string(),
    period: z.string(),
    from: z.string(),
    to: z.string(),
    orders: z.number().int(),
    paidFen: fen,
    billFen: fen.openapi({ description: 'Provider-mode orders: what the payments (WeChat Pay / Alipay) took' }),
    saleLedgerFen: fen,
    refundFen: fen,
    refundBillFen: fen,
    reversalLedgerFen: fen,
    byPartner: z.array(z.object({ partner: z.string(), saleFen: fen, reversalFen: fen, netFen: fen }).strict()),
    billDays: z.array(z.object({ date: z.string(), state: z.string() }).strict()).openapi({ description: "The payments module's reconciliation of each day's provider bills (done, retrying, failed); its mismatches about these orders are among the differences" }),
    reconciled: z.boolean(),
    differences: z.array(z.object({ orderId: z.string(), kind: z.enum(['sale', 'refund']), orderFen: fen, ledgerFen: fen, billFen: fen.nullable(), problem: z.string() }).strict()),
  })
  .strict()
  .openapi('ComboReconciliation');

const period = z.string().openapi({ description: 'A park-local day YYYY-MM-DD or a month YYYY-MM', example: '2027-03' });
export const PartnerPeriodParamSchema = z.object({ period });
export const StaffStatementParamSchema = z.object({ site: z.string().min(1).max(64), partner: z.string().min(1).max(64), period });
export const StaffReconciliationParamSchema = z.object({ site: z.string().min(1).max(64), period });
export const FormatQuerySchema = z.object({ format: z.enum(['json', 'csv', 'html']).default('json') });
