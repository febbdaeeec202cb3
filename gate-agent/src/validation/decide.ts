import type { RejectReason, TicketRecord, TicketType } from '@stile/config';
import { localClock } from '@stile/config';

/** What the gate knows about itself when deciding. */
export interface GateContext {
  siteId: string;
  gateId: string;
  zone: string;
  timeZone: string; // IANA, e.g. "Asia/Shanghai"
}

export type Decision =
  | { decision: 'admit'; persons: number }
  | { decision: 'reject'; reason: RejectReason; detail?: string };

const DAY_SEC = 86400;

/** Seconds since midnight for "HH:MM" ("24:00" → 86400); parsed by char code to stay allocation-free. */
function secOf(hm: string): number {
  const h = (hm.charCodeAt(0) - 48) * 10 + (hm.charCodeAt(1) - 48);
  const m = (hm.charCodeAt(3) - 48) * 10 + (hm.charCodeAt(4) - 48);
  return (h * 60 + m) * 60;
}

function reject(reason: RejectReason, detail?: string): Decision {
  return detail === undefined ? { decision: 'reject', reason } : { decision: 'reject', reason, detail };
}

function fmtSec(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return `${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:${s < 10 ? '0' : ''}${s}`;
}

/**
 * The admission decision for one scan: pure, no I/O. Rules run in a fixed order and the
 * first failing one names the reason, so the same ticket always gets the same answer.
 */
export function decide(
  ticket: TicketRecord | undefined,
  type: TicketType | undefined,
  gate: GateContext,
  nowMs: number,
): Decision {
  if (ticket === undefined) return reject('unknown_ticket');
  if (type === undefined) return reject('unknown_ticket_type', `type ${ticket.typeId}`);

  switch (ticket.status) {
    case 'valid':
      break;
    case 'refunded':
    case 'revoked':
    case 'rebooked':
      return reject(ticket.status);
    case 'used':
      return reject('entries_exhausted', 'ticket marked used');
  }

  if (type.gates !== undefined && !type.gates.includes(gate.gateId)) return reject('gate_not_allowed', `gate ${gate.gateId}`);
  if (type.zones !== undefined && !type.zones.includes(gate.zone)) return reject('zone_not_allowed', `zone ${gate.zone}`);

  const { date: today, secondOfDay: now } = localClock(gate.timeZone, nowMs);
  // ISO dates compare correctly as strings.
  if (ticket.visitDate > today) return reject('date_not_yet', `visit date ${ticket.visitDate}`);
  if (ticket.visitDate < today) return reject('date_expired', `visit date ${ticket.visitDate}`);

  if (ticket.slotStart != null || ticket.slotEnd != null) {
    const grace = type.slotGrace;
    // Grace is clamped to the visit day: a slot never spills into the previous or next date.
    const start = ticket.slotStart != null ? Math.max(0, secOf(ticket.slotStart) - grace.earlyMin * 60) : 0;
    const end = ticket.slotEnd != null ? Math.min(DAY_SEC, secOf(ticket.slotEnd) + grace.lateMin * 60) : DAY_SEC;
    if (now < start) return reject('before_slot', `slot opens ${fmtSec(start)}`);
    if (now >= end) return reject('after_slot', `slot closed ${fmtSec(end)}`);
  }

  const w = type.entryWindow;
  if (w !== undefined) {
    const from = secOf(w.from);
    const to = secOf(w.to);
    // from > to wraps midnight (22:00–02:00 admits late evening and early morning).
    const inside = from < to ? now >= from && now < to : now >= from || now < to;
    if (!inside) return reject('outside_entry_window', `window ${w.from}–${w.to}`);
  }

  const e = type.entries;
  if (e.mode === 'single') {
    if (ticket.entriesUsed >= 1) return reject('entries_exhausted', 'single entry used');
  } else if (e.mode === 'multi') {
    if (ticket.entriesUsed >= e.max) return reject('entries_exhausted', `${ticket.entriesUsed}/${e.max} entries used`);
  } else {
    const usedToday = ticket.entriesDay === today ? ticket.entriesDayCount : 0;
    if (usedToday >= e.max) return reject('daily_entries_exhausted', `${usedToday}/${e.max} entries today`);
  }

  const apMs = type.antiPassbackSec * 1000;
  if (apMs > 0 && ticket.lastEntryAt != null && nowMs - ticket.lastEntryAt < apMs) {
    return reject('anti_passback', `last entry ${Math.floor((nowMs - ticket.lastEntryAt) / 1000)}s ago`);
  }

  return { decision: 'admit', persons: ticket.persons };
}

/** Pure: the ticket's usage fields after one admission at nowMs (entriesUsed+1, entriesDay/entriesDayCount for the local day, lastEntryAt). */
export function recordAdmission(ticket: TicketRecord, gate: GateContext, nowMs: number): TicketRecord {
  const today = localClock(gate.timeZone, nowMs).date;
  return {
    ...ticket,
    entriesUsed: ticket.entriesUsed + 1,
    entriesDay: today,
    entriesDayCount: ticket.entriesDay === today ? ticket.entriesDayCount + 1 : 1,
    lastEntryAt: nowMs,
  };
}
