import { z } from 'zod';

/** An age band: "18-29" (both ends inclusive) or "60+" (open-ended). */
const AgeBand = z.string().regex(/^\d{1,3}(-\d{1,3}|\+)$/, 'expected an age band like "18-29" or "60+"');

/**
 * A tag rule (data): the visitor gets `tag` when every condition given holds. `types` and
 * `posCategories` together mean "bought one of these types OR spent in one of these POS categories".
 */
export const TagRuleSchema = z
  .object({
    tag: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'expected a short lowercase tag like "high-spend"'),
    /** Came at least once in a party (order) of this many visitors or more. */
    partySizeAtLeast: z.number().int().min(1).optional(),
    /** Ticket + POS spending together, fen. */
    spendAtLeastFen: z.number().int().min(0).optional(),
    types: z.array(z.string().min(1)).min(1).optional(),
    posCategories: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .refine((r) => r.partySizeAtLeast !== undefined || r.spendAtLeastFen !== undefined || r.types !== undefined || r.posCategories !== undefined, { message: 'a tag rule needs at least one condition' });

export type TagRule = z.output<typeof TagRuleSchema>;

export interface AgeBand {
  label: string;
  from: number;
  /** Inclusive; Infinity for "60+". */
  to: number;
}

/** ["0-17","18-29",…,"60+"] → bands; throws with the reason when they overlap, leave gaps or do not start at 0. */
export function parseAgeBands(labels: readonly string[]): AgeBand[] {
  const bands = labels.map((label): AgeBand => {
    const m = /^(\d{1,3})(?:-(\d{1,3})|(\+))$/.exec(label);
    if (!m) throw new RangeError(`age band "${label}": expected "18-29" or "60+"`);
    const from = Number(m[1]);
    const to = m[3] ? Infinity : Number(m[2]);
    if (to < from) throw new RangeError(`age band "${label}": ends before it starts`);
    return { label, from, to };
  });
  let next = 0;
  for (const b of bands) {
    if (b.from !== next) throw new RangeError(`age band "${b.label}": expected it to start at ${String(next)} (bands are in order, without gaps or overlaps)`);
    next = b.to + 1;
  }
  if (next !== Infinity) throw new RangeError(`age bands end at ${String(next - 1)}: the last one must be open-ended ("${String(next)}+")`);
  return bands;
}

export const DEFAULT_AGE_BANDS = ['0-17', '18-29', '30-44', '45-59', '60+'];

/** cloud.yaml sites[].visitors (#19, docs/visitor-data/profiles.md). */
export const VisitorsConfigSchema = z
  .object({
    /** Age bands at the visit date, in order, without gaps or overlaps (checked at start). */
    ageBands: z
      .array(AgeBand)
      .min(1)
      .default(DEFAULT_AGE_BANDS)
      .superRefine((labels, ctx) => {
        try {
          parseAgeBands(labels);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      }),
    /** Profiles, visits, tags and POS links older than this are purged daily. */
    retentionDays: z.number().int().min(1).max(3650).default(730),
    /** Smallest group an aggregate shows (small-cell suppression, k). */
    minGroup: z.number().int().min(1).default(10),
    /** The park's location, for the distance from a visitor's home region. */
    location: z.object({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) }).strict().optional(),
    tags: z.array(TagRuleSchema).default([]),
  })
  .strict();

export type VisitorsConfig = z.output<typeof VisitorsConfigSchema>;
