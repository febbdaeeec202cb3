import type { DaemonStatus } from '../daemon/gate-daemon.js';
import type { LaneStatus } from '../lane/lane.js';
import type { EntryRow } from '../store/index.js';
import type { SyncStatus } from '../sync/status.js';

/** A device as a daemon stored it in its heartbeat (older daemons kept `discarded` as one number). */
export interface StoredDevice {
  name: string;
  kind?: string;
  state: string;
  error?: string;
  since?: string;
  discarded?: number | Record<string, number>;
  scans?: number;
}
export type StoredLane = Omit<LaneStatus, 'sensor' | 'display'> & { sensor: StoredDevice | null; display: StoredDevice | null };
/** Older daemons have no `lane`, `locked` or `sync`. */
export type StoredStatus = Omit<DaemonStatus, 'inputs' | 'relay' | 'lane' | 'locked' | 'sync'> & {
  inputs?: StoredDevice[];
  relay?: StoredDevice;
  lane?: StoredLane | null;
  locked?: boolean;
  sync?: SyncStatus | null;
};

/** The cloud link, for `gatectl status`. */
export function syncLines(s: SyncStatus): string[] {
  const r = s.resync;
  const resync =
    r.state === 'idle'
      ? `resync idle${r.lastDoneAt ? ` (last ${r.lastDoneAt})` : ''}`
      : r.state === 'failed'
        ? `RESYNC FAILED (${r.lastError ?? '?'})`
        : `resync ${r.state} since ${r.since ?? '?'}: ${r.bytes} bytes, ${r.tickets} tickets`;
  const dropped = Object.entries(s.dropped);
  const commands = Object.entries(s.commands);
  return [
    `${'cloud'.padEnd(10)} ${s.connected ? `connected to ${s.broker} since ${s.connectedAt}${s.subscribed === false ? `, NOT SUBSCRIBED${s.lastError ? ` (${s.lastError})` : ''}: no deltas, commands or receipts until the broker grants them` : ''}` : `NOT CONNECTED to ${s.broker}${s.lastError ? ` (${s.lastError})` : ''}`}, ${s.disconnects} disconnect(s)`,
    `${'uplink'.padEnd(10)} ${s.eventsSent} event(s) stored by the cloud, last receipt ${s.lastReceiptAt ?? 'never'}, outbox ${s.outboxDepth}${s.outboxFull ? ' OUTBOX FULL' : ''}`,
    `${'downlink'.padEnd(10)} whitelist seq ${s.whitelistSeq ?? '-'}, ${s.deltasApplied} delta(s) applied, ${s.deltasIgnored} ignored, ${resync}`,
    `${'control'.padEnd(10)} ${dropped.length ? `dropped ${dropped.map(([k, v]) => `${k}=${v}`).join(' ')}` : 'nothing dropped'}; commands ${commands.length ? commands.map(([k, v]) => `${k}=${v}`).join(' ') : 'none'}${s.locked ? '; GATE LOCKED' : ''}`,
  ];
}

export function deviceLine(label: string, d: StoredDevice, unit = 'scans'): string {
  const discarded = typeof d.discarded === 'number' ? d.discarded : Object.values(d.discarded ?? {}).reduce((a, b) => a + b, 0);
  return `${label.padEnd(10)} ${d.name}${d.kind ? ` (${d.kind})` : ''}: ${d.state}${d.error ? ` (${d.error})` : ''}${d.scans !== undefined ? `, ${d.scans} ${unit}` : ''}, ${discarded} discarded`;
}

/** The lane's devices, emergency state and passage counters, for `gatectl status`. */
export function laneLines(lane: StoredLane): string[] {
  const e = lane.emergency;
  const emergency = e.active ? `EMERGENCY OPEN since ${e.since} (${e.causes.join(', ')}; ${e.mode})` : `emergency off (${e.mode})`;
  const passage = lane.passageConfirm
    ? `; passage confirm ${lane.passageConfirm.windowMs} ms: ${lane.passes} passed, ${lane.tailgates} tailgate(s), ${lane.notPassed} not passed (${lane.notPassedPersons} person(s), ${lane.entriesReturned} entry(ies) given back), ${lane.pending} waiting`
    : lane.sensor ? `; ${lane.passes} passed` : '';
  return [
    ...(lane.sensor ? [deviceLine('sensor', lane.sensor, 'passes')] : []),
    ...(lane.display ? [deviceLine('display', lane.display, 'lines')] : []),
    `${'lane'.padEnd(10)} ${emergency}${passage}`,
  ];
}

/** "admit", or "not-passed #12" naming the admission it corrects. */
export function kindOf(e: Pick<EntryRow, 'kind' | 'refSeq'>): string {
  return e.refSeq ? `${e.kind} #${e.refSeq}` : e.kind;
}
