import type { Level, LocalizedText } from '../../core/capacity-levels.js';
import type { StaffAlert } from '../../core/notify/webhook.js';
import type { ConflictRow } from './repository.js';

/** The staff alert for a level change: the announcement's own text, so staff read what visitors hear. */
export function levelAlert(site: string, from: Level | null, to: Level, text: LocalizedText, load: number, capacity: number, at: Date): StaffAlert {
  return { site, kind: 'capacity_level', level: to, message: text, at: at.toISOString(), details: { from, load, capacity } };
}

/** The staff alert for a ticket admitted twice while its gates were cut off from each other. */
export function conflictAlert(site: string, c: ConflictRow, at: Date): StaffAlert {
  const where = `${c.first_gate ?? '?'} → ${c.second_gate}`;
  return {
    site,
    kind: 'partition_conflict',
    message: { zh: `票 ${c.ticket_id} 在断网期间于两个闸机重复入园（${where}），请核查。`, en: `Ticket ${c.ticket_id} was admitted twice while gates were cut off (${where}); please check.` },
    at: at.toISOString(),
    details: { ticketId: c.ticket_id, firstGate: c.first_gate, firstSeq: c.first_seq, secondGate: c.second_gate, secondSeq: c.second_seq },
  };
}
