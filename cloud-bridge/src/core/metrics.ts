/** In-memory counters, served as JSON on GET /metrics. Per process, reset on restart. */
export class Metrics {
  /** Entries messages taken off the broker. */
  received = 0;
  /** Entry events newly stored. */
  inserted = 0;
  /** Entry events already stored (QoS 1 redelivery, a gate resending its outbox). */
  duplicates = 0;
  /** Messages dropped, by reason (bad_json, schema, topic_mismatch, unknown_site, unknown_gate, oversized, …). */
  invalid: Record<string, number> = {};
  /** Partition conflicts detected (one ticket admitted beyond what it allows). */
  conflicts = 0;
  /** Transactions that stored entries messages (several messages can share one). */
  ingestCommits = 0;
  /** Entry messages not acknowledged because the database write failed. */
  dbErrors = 0;
  /** Gaps in a gate's entry seq (a batch starting past high-water + 1). */
  seqGaps = 0;
  deltasPublished = 0;
  publishErrors = 0;
  statusApplied = 0;
  staleStatusIgnored = 0;
  commandsSent = 0;
  acksReceived = 0;
  /** Admissions stored as anomalies, by reason (unknown_ticket, st2_unverified, rate_exceeded, future_time). */
  anomalies: Record<string, number> = {};
  /** Refusals at a trust boundary, by reason (http_unauthorized, broker: anonymous, publish_denied, …). */
  refused: Record<string, number> = {};

  /** Scheduled backups of the SQLite store (cloud.yaml `backup`): done, failed, when the last one was done (ms). */
  backups = { done: 0, failed: 0, lastAt: 0 };

  /** When ingest last committed, and its last failed write (for /healthz: a read-only or full store). */
  lastCommitAt = 0;
  lastWriteError: { at: number; message: string } | null = null;

  drop(reason: string): void {
    this.invalid[reason] = (this.invalid[reason] ?? 0) + 1;
  }

  anomaly(reason: string, n = 1): void {
    this.anomalies[reason] = (this.anomalies[reason] ?? 0) + n;
  }

  refuse(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
  }

  toJSON(): Record<string, unknown> {
    return {
      received: this.received,
      inserted: this.inserted,
      duplicates: this.duplicates,
      invalid: { ...this.invalid },
      conflicts: this.conflicts,
      ingestCommits: this.ingestCommits,
      dbErrors: this.dbErrors,
      seqGaps: this.seqGaps,
      deltasPublished: this.deltasPublished,
      publishErrors: this.publishErrors,
      statusApplied: this.statusApplied,
      staleStatusIgnored: this.staleStatusIgnored,
      commandsSent: this.commandsSent,
      acksReceived: this.acksReceived,
      anomalies: { ...this.anomalies },
      refused: { ...this.refused },
    };
  }
}
