/**
 * Lines for the lane's text display / LED + buzzer board, one per decision, LF-ended:
 *
 *   OK <zh> <en>[ ×<persons>]            admit   e.g. "OK 请通行 Welcome ×3"
 *   NO <reason> <zh> <en>                reject  e.g. "NO entries_exhausted 票已使用 Already used"
 *
 * The first word tells the board which light and beep to use; <reason> is the stable code
 * from REJECT_REASONS; the rest is text for the visitor (REJECT_MESSAGES). ×N appears only
 * for groups.
 */
import { ADMIT_MESSAGE, REJECT_MESSAGES, isRejectReason, type RejectReason } from '@stile/config';

export type DisplayDecision = { decision: 'admit'; persons: number } | { decision: 'reject'; reason: RejectReason };

export function displayLine(d: DisplayDecision): string {
  if (d.decision === 'admit') {
    return `OK ${ADMIT_MESSAGE.zh} ${ADMIT_MESSAGE.en}${d.persons > 1 ? ` ×${d.persons}` : ''}\n`;
  }
  const m = REJECT_MESSAGES[d.reason];
  return `NO ${d.reason} ${m.zh} ${m.en}\n`;
}

/** The board side (and tests): a display line back to its parts; undefined if it is not one. */
export function parseDisplayLine(line: string): (DisplayDecision & { zh: string; en: string }) | undefined {
  const ok = /^OK (\S+) (.+?)(?: ×(\d+))?$/u.exec(line.replace(/\r?\n$/, ''));
  if (ok) return { decision: 'admit', persons: ok[3] ? Number(ok[3]) : 1, zh: ok[1]!, en: ok[2]! };
  const no = /^NO (\S+) (\S+) (.+)$/u.exec(line.replace(/\r?\n$/, ''));
  if (no && isRejectReason(no[1])) return { decision: 'reject', reason: no[1], zh: no[2]!, en: no[3]! };
  return undefined;
}
