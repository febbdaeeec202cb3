/**
 * The touches the page may send (`POST /input`), checked with zod, and the machine event each
 * one is. Nothing here moves money beyond what a touch on the screen can: no device, cloud,
 * staff or payment-result event can come in this way (those come from the devices and the
 * cloud only). `stay` ("I'm still here" on the idle countdown) becomes, per phase, an input
 * the phase takes without changing the sale, which renews the idle timer.
 */
import { z } from 'zod';
import type { EdgeEvent } from '../daemon/executor.js';
import type { SaleState } from '../sale/model.js';

const id = z.string().min(1).max(64);

export const ScreenInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('start') }).strict(),
  z.object({ kind: z.literal('choose_type'), typeId: id }).strict(),
  z.object({ kind: z.literal('choose_date'), date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }).strict(),
  z.object({ kind: z.literal('choose_slot'), slotId: id }).strict(),
  z.object({ kind: z.literal('set_count'), count: z.number().int().min(1).max(50) }).strict(),
  z.object({ kind: z.literal('confirm') }).strict(),
  z.object({ kind: z.literal('back') }).strict(),
  z.object({ kind: z.literal('cancel') }).strict(),
  z.object({ kind: z.literal('stay') }).strict(),
  z.object({ kind: z.literal('id_typed'), name: z.string().trim().min(1).max(40), idNumber: z.string().regex(/^\d{17}[\dXx]$/) }).strict(),
  z.object({ kind: z.literal('remove_visitor'), index: z.number().int().min(0).max(49) }).strict(),
  z.object({ kind: z.literal('choose_method'), method: z.enum(['cash', 'code', 'qr']) }).strict(),
  z.object({ kind: z.literal('reprint') }).strict(),
  // A coupon code typed on the review screen ('' takes it off); the machine checks its form.
  z.object({ kind: z.literal('coupon_entered'), code: z.string().trim().max(40) }).strict(),
]);

export type ScreenInput = z.infer<typeof ScreenInputSchema>;

/** What a touch becomes: a new sale, a machine event, or nothing to do in this phase. */
export type InputAction = { kind: 'start' } | { kind: 'event'; event: EdgeEvent } | { kind: 'none' };

export function inputAction(input: ScreenInput, s: SaleState): InputAction {
  switch (input.kind) {
    case 'start':
      return { kind: 'start' };
    case 'stay':
      return stay(s);
    default:
      return { kind: 'event', event: input as EdgeEvent };
  }
}

function stay(s: SaleState): InputAction {
  switch (s.phase) {
    case 'choosing':
      return s.sale ? { kind: 'event', event: { kind: 'set_count', count: s.sale.count } } : { kind: 'none' };
    case 'identifying':
      return { kind: 'event', event: { kind: 'confirm' } };
    case 'review':
    case 'code_wait':
      // Neither phase takes a reprint: it is ignored (logged), and as a touch it renews the idle timer.
      return { kind: 'event', event: { kind: 'reprint' } };
    default:
      return { kind: 'none' };
  }
}
