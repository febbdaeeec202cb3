import type { TagRule } from '../../core/site-config/visitors.js';

/** What the tag rules look at, for one visitor (kept visits only). */
export interface TagFacts {
  maxPartySize: number;
  ticketFen: number;
  posFen: number;
  types: ReadonlySet<string>;
  posCategories: ReadonlySet<string>;
}

/** The tags a visitor gets from the site's rules (pure; every condition a rule gives must hold). */
export function computeTags(facts: TagFacts, rules: readonly TagRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    if (r.partySizeAtLeast !== undefined && facts.maxPartySize < r.partySizeAtLeast) continue;
    if (r.spendAtLeastFen !== undefined && facts.ticketFen + facts.posFen < r.spendAtLeastFen) continue;
    if (r.types !== undefined || r.posCategories !== undefined) {
      const bought = (r.types ?? []).some((t) => facts.types.has(t)) || (r.posCategories ?? []).some((c) => facts.posCategories.has(c));
      if (!bought) continue;
    }
    out.add(r.tag);
  }
  return [...out].sort();
}
