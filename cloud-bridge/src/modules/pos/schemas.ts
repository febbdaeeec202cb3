import { z } from '@hono/zod-openapi';
import { DateSchema } from '../../core/http/schemas.js';
import { MAX_LINES } from './lines.js';

/* The POS API's bodies (docs/visitor-data/pos.md); the OpenAPI document is generated from them. */

const LINE_FIELDS =
  '`lineId` (1–64 of A–Z a–z 0–9 _ . : / # -, unique per POS), `at` (ISO 8601 time; without an offset it is park time), `amountFen` (whole fen, before any coupon), `category` (e.g. restaurant, souvenir), `item`?, one or more of `memberCode` / `ticketCode` (the ticket QR text) / `phone` (mainland mobile) to find the visit, `couponCode`?';

/**
 * Each line is checked on its own (a bad line is refused with `invalid_line` and the others
 * are still taken), so the lines are documented here and validated by the module.
 */
export const PosLinesBodySchema = z
  .object({
    lines: z
      .array(z.record(z.string(), z.unknown()).openapi({ description: LINE_FIELDS, example: { lineId: 'R1-20270310-0042', at: '2027-03-10T12:31:05+08:00', amountFen: 4800, category: 'restaurant', item: 'noodles', ticketCode: 'ST1:…', couponCode: 'C-7QX2' } }))
      .min(1)
      .max(MAX_LINES, `at most ${MAX_LINES} lines per request`),
  })
  .strict();

export const LineResultSchema = z
  .object({
    lineId: z.string().nullable().openapi({ description: 'null when the line had no readable id' }),
    status: z.enum(['accepted', 'duplicate', 'refused']).openapi({ description: 'duplicate: this source sent this line before; it is counted once' }),
    reason: z.string().optional().openapi({ description: 'refused: `unknown_visit`, `invalid_line`, `line_conflict` (the id is stored with other content) or the coupon\'s `coupon_*` reason' }),
    message: z.string().optional(),
    csvLine: z.number().int().optional().openapi({ description: 'CSV: the line of the file (the header is line 1)' }),
    visitDate: DateSchema.optional(),
    link: z.enum(['member', 'ticket', 'phone']).optional().openapi({ description: 'How the visit was found' }),
    discountFen: z.number().int().optional().openapi({ description: "The coupon's discount on this line (0 without a coupon)" }),
  })
  .strict();

export const SubmissionSchema = z
  .object({
    source: z.string(),
    accepted: z.number().int(),
    duplicate: z.number().int(),
    refused: z.number().int(),
    lines: z.array(LineResultSchema).openapi({ description: 'One answer per line, in the order sent' }),
  })
  .strict();

export const PosDayQuerySchema = z.object({ date: DateSchema });

export const PosDaySchema = z
  .object({
    source: z.string(),
    date: DateSchema,
    count: z.number().int(),
    amountFen: z.number().int().openapi({ description: 'Sum of the lines\' amounts (before coupons)' }),
    discountFen: z.number().int().openapi({ description: 'Sum of the coupon discounts' }),
    lines: z.array(
      z
        .object({
          lineId: z.string(),
          at: z.string(),
          amountFen: z.number().int(),
          discountFen: z.number().int(),
          category: z.string(),
          item: z.string().nullable(),
          link: z.string(),
          couponCode: z.string().nullable(),
          receivedAt: z.string(),
        })
        .strict(),
    ),
  })
  .strict();
