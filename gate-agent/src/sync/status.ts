/** What `gatectl status` and the heartbeat show about the cloud link. A live object. */
export interface SyncStatus {
  broker: string;
  connected: boolean;
  connectedAt: string | null;
  /** Every subscription granted on the current connection (deltas, commands, receipts): without them the gate is connected but deaf. */
  subscribed: boolean;
  disconnects: number;
  lastError: string | null;
  lastReceiptAt: string | null;
  /** Entry events the broker acknowledged since start. */
  eventsSent: number;
  outboxDepth: number;
  /** Raised when the outbox holds more than `mqtt.outboxMax` rows; the gate keeps admitting. */
  outboxFull: boolean;
  whitelistSeq: string | null;
  /** The cloud's whitelist head as last announced (retained `…/whitelist/head`); null until heard. */
  headSeq: string | null;
  /** When the last delta was applied (live or by a resync). */
  lastDeltaAt: string | null;
  deltasApplied: number;
  deltasIgnored: number;
  resync: ResyncStatus;
  /** Control messages dropped, by reason (bad_json, invalid, wrong_site, unsigned, bad_signature, …). */
  dropped: Record<string, number>;
  /** Commands by result (done, refused, duplicate, failed). */
  commands: Record<string, number>;
  locked: boolean;
}

export interface ResyncStatus {
  state: 'idle' | 'changes' | 'snapshot' | 'failed';
  since: string | null;
  /** Snapshot download/import progress. */
  bytes: number;
  tickets: number;
  lastError: string | null;
  lastDoneAt: string | null;
  count: number;
}

export function newSyncStatus(broker: string): SyncStatus {
  return {
    broker,
    connected: false,
    connectedAt: null,
    subscribed: false,
    disconnects: 0,
    lastError: null,
    lastReceiptAt: null,
    eventsSent: 0,
    outboxDepth: 0,
    outboxFull: false,
    whitelistSeq: null,
    headSeq: null,
    lastDeltaAt: null,
    deltasApplied: 0,
    deltasIgnored: 0,
    resync: { state: 'idle', since: null, bytes: 0, tickets: 0, lastError: null, lastDoneAt: null, count: 0 },
    dropped: {},
    commands: {},
    locked: false,
  };
}

export function bump(counter: Record<string, number>, key: string): void {
  counter[key] = (counter[key] ?? 0) + 1;
}
