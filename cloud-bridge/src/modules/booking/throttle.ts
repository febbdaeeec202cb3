/** A throttling window as stored: its start, how many it took, and the last one (ms since the epoch). */
export interface ThrottleWindow {
  windowStart: number;
  count: number;
  lastAt: number;
}

export interface ThrottleRule {
  /** At most this many per window. */
  max: number;
  windowMs: number;
  /** At least this long between two (0: no gap). */
  minGapMs: number;
}

export type ThrottleDecision = { ok: true; next: ThrottleWindow } | { ok: false; retryAfterSec: number; limit: 'gap' | 'window' };

/**
 * Whether one more may go now, and the window after it. The window starts with the first one
 * taken and lasts `windowMs` (not sliding: simple to store, and the bound holds per window).
 */
export function admit(w: ThrottleWindow | undefined, now: number, rule: ThrottleRule): ThrottleDecision {
  if (w && rule.minGapMs > 0 && now - w.lastAt < rule.minGapMs) return { ok: false, retryAfterSec: Math.ceil((rule.minGapMs - (now - w.lastAt)) / 1000), limit: 'gap' };
  const fresh = !w || now - w.windowStart >= rule.windowMs;
  const start = fresh ? now : w.windowStart;
  const count = fresh ? 0 : w.count;
  if (count >= rule.max) return { ok: false, retryAfterSec: Math.max(1, Math.ceil((start + rule.windowMs - now) / 1000)), limit: 'window' };
  return { ok: true, next: { windowStart: start, count: count + 1, lastAt: now } };
}
