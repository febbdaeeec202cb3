import { z } from 'zod';

/*
 * Combos and their partners (#19 point 4, docs/visitor-data/combos.md). Partners are site
 * configuration (cloud.yaml sites[].partners, each with its own API key as SHA-256); a combo is
 * a ticket type of the catalogue whose price is shared with them (ticket + hotel night).
 */

const ID_RE = /^[A-Za-z0-9_-]+$/;
const ID_MSG = 'letters, digits, _ and - only';

export const PartnerSchema = z
  .object({
    id: z.string().regex(ID_RE, ID_MSG).max(64),
    name: z.string().trim().min(1, 'must not be empty').max(100),
    /** SHA-256 (hex) of the partner's API key for /v1/partner/… (the key itself is never configured). */
    apiKeySha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits (the SHA-256 of the key)')
      .transform((s) => s.toLowerCase()),
  })
  .strict();

/** cloud.yaml sites[].partners: the hotels and farm stays that take part in combos. */
export const PartnersConfigSchema = z.array(PartnerSchema).superRefine((list, ctx) => {
  list.forEach((p, i) => {
    // The split ledger names the park's own line "park".
    if (p.id === 'park') ctx.addIssue({ code: 'custom', path: [i, 'id'], message: '"park" is the park\'s own line in the split ledger: choose another partner id' });
    const j = list.findIndex((o) => o.id === p.id);
    if (j < i) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate partner id "${p.id}" (first at index ${j})` });
    const k = list.findIndex((o) => o.apiKeySha256 === p.apiKeySha256);
    if (k < i) ctx.addIssue({ code: 'custom', path: [i, 'apiKeySha256'], message: `same API key hash as partner "${list[k]!.id}"; each partner needs its own key` });
  });
});

export type Partner = z.output<typeof PartnerSchema>;
export type PartnersConfig = z.output<typeof PartnersConfigSchema>;

const FEN_MSG = 'money is whole fen (1 CNY = 100 fen), e.g. 30000 for ¥300';
const PCT_MSG = 'percent must be a whole number from 1 to 100';

/** A partner's share of each unit (ticket) sold: a percentage of the price, or a fixed amount. */
export const ShareSchema = z.union([
  z.object({ percent: z.number({ error: PCT_MSG }).int(PCT_MSG).min(1, PCT_MSG).max(100, 'a share cannot be over 100 percent') }).strict(),
  z.object({ fixedFen: z.number({ error: FEN_MSG }).int(FEN_MSG).min(1, 'a fixed share is at least 1 fen').max(10_000_000, 'at most 10000000 fen (¥100000)') }).strict(),
]);

export const ComboPartSchema = z
  .object({
    /** The part's id within the combo ("hotel-night"): partners redeem it by this id. */
    id: z.string().regex(ID_RE, ID_MSG).max(64),
    /** A partner id of sites[].partners in cloud.yaml (checked where both are loaded). */
    partner: z.string().regex(ID_RE, ID_MSG).max(64),
    name: z.string().trim().min(1, 'must not be empty').max(100),
    share: ShareSchema,
  })
  .strict();

/** ticketTypes[].combo: the parts partners deliver and their shares; the park keeps the rest. */
export const ComboSchema = z.object({ parts: z.array(ComboPartSchema).min(1, 'a combo has at least one partner part') }).strict();

export type ComboShare = z.output<typeof ShareSchema>;
export type ComboPart = z.output<typeof ComboPartSchema>;
export type Combo = z.output<typeof ComboSchema>;

export interface ComboIssue {
  path: (string | number)[];
  message: string;
}

/** A part's nominal share of one unit sold at `unitFen` (percent rounded down to whole fen). */
export function unitShareFen(share: ComboShare, unitFen: number): number {
  return 'percent' in share ? Math.floor((unitFen * share.percent) / 100) : share.fixedFen;
}

/**
 * Every problem with a combo's split at each price it can be sold for (the type's price, a
 * channel's price): duplicate part ids, a fixed share over the price, shares that add up to
 * more than the price. Percentages over 100 are refused by the schema.
 */
export function comboIssues(combo: Combo, prices: readonly { fen: number; where: string }[]): ComboIssue[] {
  const issues: ComboIssue[] = [];
  combo.parts.forEach((p, i) => {
    const j = combo.parts.findIndex((o) => o.id === p.id);
    if (j < i) issues.push({ path: ['parts', i, 'id'], message: `duplicate part id "${p.id}" (first at index ${j})` });
  });
  const percent = combo.parts.reduce((s, p) => s + ('percent' in p.share ? p.share.percent : 0), 0);
  // One share over 100 is already refused by the schema; the sum would only repeat it.
  const single = combo.parts.some((p) => 'percent' in p.share && p.share.percent > 100);
  if (percent > 100 && !single) issues.push({ path: ['parts'], message: `the partners' percentages add up to ${percent} %, over 100 %` });
  for (const { fen, where } of prices) {
    combo.parts.forEach((p, i) => {
      if ('fixedFen' in p.share && p.share.fixedFen > fen) issues.push({ path: ['parts', i, 'share', 'fixedFen'], message: `part "${p.id}" takes ${p.share.fixedFen} fen, more than the price ${fen} fen (${where})` });
    });
    const total = combo.parts.reduce((s, p) => s + unitShareFen(p.share, fen), 0);
    if (total > fen && percent <= 100) {
      const list = combo.parts.map((p) => `${p.id} ${unitShareFen(p.share, fen)}`).join(' + ');
      issues.push({ path: ['parts'], message: `the split does not add up: the partners' shares (${list} = ${total} fen) are more than the price ${fen} fen (${where}); the park keeps the remainder, which cannot be negative` });
    }
  }
  return issues;
}
