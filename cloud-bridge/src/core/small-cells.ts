/**
 * Small-cell suppression for visitor aggregates (#19, docs/visitor-data/profiles.md).
 *
 * No group of fewer than `k` visitors is ever shown, and no shown number lets one be worked out:
 * 1. Groups with `count >= k` are shown exactly, in their input order. Empty groups are dropped.
 * 2. Groups with `0 < count < k` are merged into one `other` cell (`groups` says how many).
 * 3. If `other` is still under k (one small group, or small groups that together stay small),
 *    its exact count plus the exact total would reveal them; so the smallest shown groups are
 *    merged into `other` too (secondary suppression) until it reaches k. The total stays exact.
 * 4. If all groups together are under k, nothing is shown: `other.count` and `total` are null.
 *
 * Pure; differencing across two queries with other filters is not prevented here (the segments
 * route only offers fixed dimensions over whole days, which keeps that coarse).
 */
export interface Cell {
  key: string;
  count: number;
}

export interface SuppressedCells {
  k: number;
  /** Groups shown exactly (each ≥ k). */
  cells: Cell[];
  /** The merged groups; null when nothing was merged. `count` null: too small to show at all. */
  other: { groups: number; count: number | null } | null;
  /** Sum of all groups; null when even that is under k. */
  total: number | null;
}

export function suppressSmallCells(cells: readonly Cell[], k: number): SuppressedCells {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer ≥ 1, got ${String(k)}`);
  for (const c of cells) {
    if (!Number.isInteger(c.count) || c.count < 0) throw new RangeError(`count of "${c.key}" must be a non-negative integer, got ${String(c.count)}`);
  }
  const present = cells.filter((c) => c.count > 0);
  const total = present.reduce((s, c) => s + c.count, 0);
  if (total === 0) return { k, cells: [], other: null, total: 0 };
  if (total < k) return { k, cells: [], other: { groups: present.length, count: null }, total: null };

  const shown = new Set(present.filter((c) => c.count >= k));
  let otherCount = 0;
  let otherGroups = 0;
  for (const c of present) {
    if (!shown.has(c)) {
      otherCount += c.count;
      otherGroups += 1;
    }
  }
  // Secondary suppression: a small `other` next to an exact total would give it away.
  while (otherGroups > 0 && otherCount < k) {
    let smallest: Cell | undefined;
    for (const c of shown) if (smallest === undefined || c.count < smallest.count) smallest = c;
    // total ≥ k guarantees a shown group remains while other < k.
    if (smallest === undefined) break;
    shown.delete(smallest);
    otherCount += smallest.count;
    otherGroups += 1;
  }
  return {
    k,
    cells: present.filter((c) => shown.has(c)).map((c) => ({ key: c.key, count: c.count })),
    other: otherGroups === 0 ? null : { groups: otherGroups, count: otherCount },
    total,
  };
}
