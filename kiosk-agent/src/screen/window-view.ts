/**
 * The staff window page's view and inputs: the kiosk screen's view model of the sale
 * (screenView) with what the window adds — the ways to pay a staff member offers (cash typed
 * in, a payment code), the amount to collect while cash is typed in, the ticket types by name
 * for lookups. Inputs are zod-checked JSON; the sale steps are the kiosk's touches, but cash
 * is only `staff_cash` (typed in) here, and `tender` reports it (a staff action: session only).
 */
import { z } from 'zod';
import type { LocalText, PayMethod, SaleState } from '../sale/model.js';
import { yuan } from '../sale/text.js';
import { methodProblem, screenView, type ScreenContext, type ScreenView } from './view.js';

export type WindowMethod = Extract<PayMethod, 'staff_cash' | 'code'>;

export interface WindowView extends Omit<ScreenView, 'methods'> {
  methods?: { method: WindowMethod; enabled: boolean }[];
  /** While cash is typed in: what to collect. */
  collect?: { totalFen: number; total: string };
}

export interface WindowState {
  staff: { id: string; name: string } | null;
  view?: WindowView;
  types?: { id: string; name: LocalText }[];
  /** The last cash sale of this session: what was handed over and the change given. */
  lastTender?: { tendered: string; change: string };
}

/** An order as the page shows it: visitors masked (as the cloud sends them), no ticket codes. */
export interface PageOrder {
  orderId: string;
  status: 'pending' | 'paid' | 'refunded' | 'expired';
  typeId: string;
  date: string;
  slotId: string | null;
  persons: number;
  amount: string;
  visitors: { name: string; idMasked: string }[];
  tickets: number;
  canRefund: boolean;
}

export function windowView(s: SaleState, ctx: ScreenContext, now: number): WindowView {
  const { methods: _kioskMethods, ...v } = screenView(s, ctx, now);
  const out: WindowView = v;
  if (s.phase === 'review') {
    out.methods = ctx.sale.config.methods
      .filter((m): m is WindowMethod => m === 'staff_cash' || m === 'code')
      .map((m) => ({ method: m, enabled: methodProblem(s, ctx.sale, m) === undefined }));
  }
  if (s.phase === 'staff_cash' && s.sale) {
    out.collect = { totalFen: s.sale.money.totalFen, total: yuan(s.sale.money.totalFen) };
    // The order line the kiosk shows while paying.
    const paying = screenView({ ...s, phase: 'cash' }, ctx, now);
    if (paying.order) out.order = paying.order;
  }
  return out;
}

const id = z.string().min(1).max(64);
const orderId = z.string().min(1).max(80);

export const LoginSchema = z.object({ staffId: z.string().trim().min(1).max(64), pin: z.string().regex(/^\d{4,12}$/) }).strict();

export const SaleInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('start') }).strict(),
  z.object({ kind: z.literal('choose_type'), typeId: id }).strict(),
  z.object({ kind: z.literal('choose_date'), date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }).strict(),
  z.object({ kind: z.literal('choose_slot'), slotId: id }).strict(),
  z.object({ kind: z.literal('set_count'), count: z.number().int().min(1).max(50) }).strict(),
  z.object({ kind: z.literal('confirm') }).strict(),
  z.object({ kind: z.literal('back') }).strict(),
  z.object({ kind: z.literal('cancel') }).strict(),
  z.object({ kind: z.literal('id_typed'), name: z.string().trim().min(1).max(40), idNumber: z.string().regex(/^\d{17}[\dXx]$/) }).strict(),
  z.object({ kind: z.literal('remove_visitor'), index: z.number().int().min(0).max(49) }).strict(),
  z.object({ kind: z.literal('choose_method'), method: z.enum(['staff_cash', 'code']) }).strict(),
  z.object({ kind: z.literal('reprint') }).strict(),
  z.object({ kind: z.literal('tender'), amountFen: z.number().int().min(1).max(10_000_000) }).strict(),
]);
export type SaleInput = z.infer<typeof SaleInputSchema>;

export const LookupSchema = z.object({ idNumber: z.string().regex(/^\d{17}[\dXx]$/).optional() }).strict();
export const PrintSchema = z.object({ orderId }).strict();
export const RefundSchema = z.object({ orderId, reason: z.string().min(1).max(64) }).strict();
