import { z } from 'zod';
import { hhmm } from './time.js';

/**
 * How many times a ticket may pass. Each admission is one entry, whatever the
 * number of persons (a group ticket of 5 passes 5 people on one entry).
 */
export const EntriesRuleSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('single') }).strict(),
  z.object({ mode: z.literal('multi'), max: z.number().int().min(1).max(1000) }).strict(),
  z.object({ mode: z.literal('perDay'), max: z.number().int().min(1).max(100) }).strict(),
]);
export type EntriesRule = z.infer<typeof EntriesRuleSchema>;

/**
 * Rules for one ticket type. Data, not code paths: the cloud's catalogue produces
 * them and every gate applies the same decide().
 */
export const TicketTypeSchema = z
  .object({
    id: z.string().min(1).max(64),
    name: z.string().min(1).max(100),
    entries: EntriesRuleSchema.default({ mode: 'single' }),
    /** Window of day during which this type may enter, e.g. early-bird 00:00–08:00, night 17:00–24:00. */
    entryWindow: z.object({ from: hhmm, to: hhmm }).strict().optional(),
    /** Grace around the ticket's time slot, minutes. */
    slotGrace: z
      .object({
        earlyMin: z.number().int().min(0).max(720).default(0),
        lateMin: z.number().int().min(0).max(720).default(0),
      })
      .strict()
      .default({ earlyMin: 0, lateMin: 0 }),
    /** Gates / zones allowed; absent means all. */
    gates: z.array(z.string().min(1)).min(1).optional(),
    zones: z.array(z.string().min(1)).min(1).optional(),
    /** Refuse the same ticket again within this many seconds (re-entry anti-passback). 0 = off. */
    antiPassbackSec: z.number().int().min(0).max(86400).default(0),
  })
  .strict()
  .refine((t) => !t.entryWindow || t.entryWindow.from !== t.entryWindow.to, {
    message: 'entry window from and to must differ',
    path: ['entryWindow'],
  });
export type TicketType = z.infer<typeof TicketTypeSchema>;
