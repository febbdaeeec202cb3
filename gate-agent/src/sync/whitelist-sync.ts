import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { formatZodIssues, isStileError, StileErrorCode, WhitelistDeltaSchema, WhitelistHeadSchema, type TrustedKeys, type WhitelistDelta } from '@stile/config';
import { importSnapshot, type GateStore } from '../store/index.js';
import { checkControl, checkControlObject } from './control.js';
import { downloadSnapshot, fetchChanges, type CloudCredential, type SnapshotLimits } from './resync-http.js';
import { bump, type SyncStatus } from './status.js';

export interface WhitelistSyncDeps {
  store: GateStore;
  site: string;
  trusted: TrustedKeys;
  /** The park's local date, for control-key validity. */
  today(): string;
  snapshotUrl: string | undefined;
  /** The gate's HTTP Basic credential for the cloud (null: none configured). */
  credential: CloudCredential | null;
  /** mqtt.snapshotMaxBytes / snapshotTimeoutSec. */
  snapshotLimits: SnapshotLimits;
  /** Where the snapshot is downloaded to before import. */
  downloadPath: string;
  status: SyncStatus;
  log: Logger;
  /** Called after the whitelist seq changed (the gate's status message shows it). */
  onChange?(): void;
}

/** After a failed resync, try again after this long (a new head or delta also retries). */
const RETRY_MS = 60_000;

/**
 * Keeps the whitelist in step with the cloud (DESIGN §5 rule 8): signed deltas applied
 * only when they carry exactly the next seq, each in one transaction with whitelist_seq;
 * older ones ignored; a gap (or a retained head ahead of us) starts a resync, first by
 * GET changes?since=N, and if that is gone (410) or does not close the gap, by a full
 * snapshot. The gate keeps admitting with the old whitelist meanwhile.
 */
export class WhitelistSync {
  private running: Promise<void> | null = null;
  private again = false;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly d: WhitelistSyncDeps) {
    d.status.whitelistSeq = d.store.whitelistSeq() ?? null;
  }

  get busy(): boolean {
    return this.running !== null;
  }

  handleDelta(payload: Buffer): void {
    const c = checkControl(payload, WhitelistDeltaSchema, this.d.trusted, this.d.today());
    if (!c.ok) return this.drop(c.reason, c.detail, c.raw);
    if (c.msg.site !== this.d.site) return this.drop('wrong_site', `delta is for site "${c.msg.site}"`, c.raw);
    const result = this.apply(c.msg);
    if (result === 'gap') {
      this.d.log.info({ event: 'whitelist_gap', seq: c.msg.seq, local: this.d.store.whitelistSeq() ?? null }, 'whitelist delta out of sequence; resyncing');
      void this.resync('gap');
    }
  }

  handleHead(payload: Buffer): void {
    if (payload.length === 0) return; // a cleared retained message
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return this.drop('bad_json', (err as Error).message);
    }
    const head = WhitelistHeadSchema.safeParse(raw);
    if (!head.success) return this.drop('invalid', `head: ${formatZodIssues(head.error.issues, { limit: 1 }) || 'invalid'}`);
    this.d.status.headSeq = head.data.seq;
    const local = this.d.store.whitelistSeq();
    if (local === undefined || BigInt(head.data.seq) > BigInt(local)) {
      this.d.log.info({ event: 'whitelist_behind', head: head.data.seq, local: local ?? null }, 'whitelist is behind the cloud; resyncing');
      void this.resync('behind_head');
    }
  }

  /** Start a resync, or (if one is running) run one more after it. Never rejects. */
  resync(why: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    clearTimeout(this.retry);
    this.running = (async () => {
      let rounds = 0;
      do {
        this.again = false;
        rounds++;
        try {
          await this.resyncOnce(why);
        } catch (err) {
          const r = this.d.status.resync;
          r.state = 'failed';
          r.lastError = (err as Error).message;
          this.d.log.error({ event: 'resync_failed', why, err: (err as Error).message }, 'whitelist resync failed; the gate keeps the whitelist it has');
          if (!this.closed) this.retry = setTimeout(() => void this.resync('retry'), RETRY_MS).unref();
          break;
        }
      } while (this.again && rounds < 3 && !this.closed);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    return this.running ?? Promise.resolve();
  }

  private async resyncOnce(why: string): Promise<void> {
    const r = this.d.status.resync;
    const base = this.d.snapshotUrl;
    if (!base) throw new Error('no mqtt.snapshotUrl configured; import a snapshot with gatectl');
    r.since = new Date().toISOString();
    r.bytes = 0;
    r.tickets = 0;
    const local = this.d.store.whitelistSeq();
    if (local !== undefined) {
      r.state = 'changes';
      if (await this.catchUp(base, local)) return this.done(why, 'changes');
    }
    r.state = 'snapshot';
    const file = this.d.downloadPath;
    try {
      await downloadSnapshot(base, this.d.site, file, this.d.credential, this.d.snapshotLimits, (n) => (r.bytes = n));
      const result = await importSnapshot(this.d.store.db, file, {
        siteId: this.d.site,
        // Only what the site's control key signed reaches the whitelist.
        signature: { required: true, trusted: this.d.trusted, today: this.d.today() },
        onProgress: (p) => {
          r.tickets = p.tickets;
        },
      }).catch((err: unknown) => {
        if (isStileError(err, StileErrorCode.SnapshotInvalid)) this.refused(err.message, err.details);
        throw err;
      });
      this.d.log.info({ event: 'snapshot_imported', tickets: result.tickets, asOfSeq: result.asOfSeq, carriedOver: result.carriedOver, ms: Math.round(result.ms) }, 'whitelist snapshot imported');
    } finally {
      await rm(file, { force: true });
    }
    this.changed();
    // Deltas published while the snapshot was on its way: best effort, the next gap retries.
    const after = this.d.store.whitelistSeq();
    if (after !== undefined) await this.catchUp(base, after).catch(() => false);
    this.done(why, 'snapshot');
  }

  /** GET changes?since=local and apply them; true when that closed the gap. */
  private async catchUp(base: string, since: string): Promise<boolean> {
    const res = await fetchChanges(base, this.d.site, since, this.d.credential);
    if (res.kind === 'gone') {
      this.d.log.info({ event: 'changes_gone', since }, 'changes no longer available; downloading a snapshot');
      return false;
    }
    for (const raw of res.deltas) {
      const c = checkControlObject(raw, WhitelistDeltaSchema, this.d.trusted, this.d.today());
      if (!c.ok) {
        this.drop(c.reason, `changes: ${c.detail}`);
        return false;
      }
      if (c.msg.site !== this.d.site) {
        this.drop('wrong_site', `changes: delta is for site "${c.msg.site}"`);
        return false;
      }
      if (this.apply(c.msg) === 'gap') return false;
    }
    return true;
  }

  private apply(delta: WhitelistDelta): 'applied' | 'old' | 'gap' {
    const result = this.d.store.applyWhitelistDelta(delta);
    if (result === 'applied') {
      this.d.status.deltasApplied++;
      this.d.status.lastDeltaAt = new Date().toISOString();
      this.d.log.info({ event: 'delta_applied', seq: delta.seq, changes: delta.changes.length }, 'whitelist delta applied');
      this.changed();
    } else if (result === 'old') {
      this.d.status.deltasIgnored++;
      this.d.log.debug({ event: 'delta_ignored', seq: delta.seq }, 'whitelist delta already applied');
    }
    return result;
  }

  private done(why: string, how: 'changes' | 'snapshot'): void {
    const r = this.d.status.resync;
    r.state = 'idle';
    r.lastError = null;
    r.lastDoneAt = new Date().toISOString();
    r.count++;
    this.d.log.info({ event: 'resync_done', why, how, seq: this.d.store.whitelistSeq() ?? null }, 'whitelist resynced');
  }

  private changed(): void {
    this.d.status.whitelistSeq = this.d.store.whitelistSeq() ?? null;
    this.d.onChange?.();
  }

  /** A downloaded snapshot that was not imported: unsigned, forged, tampered or malformed. The old whitelist stays. */
  private refused(detail: string, details: unknown): void {
    const reason = typeof (details as { reason?: unknown } | undefined)?.reason === 'string' ? (details as { reason: string }).reason : 'invalid';
    bump(this.d.status.dropped, `snapshot_${reason}`);
    this.d.log.warn({ event: 'snapshot_refused', reason, detail }, 'whitelist snapshot refused; the gate keeps the whitelist it has');
  }

  private drop(reason: string, detail: string, raw?: Record<string, unknown>): void {
    bump(this.d.status.dropped, reason);
    this.d.log.warn({ event: 'control_dropped', kind: 'whitelist', reason, detail, seq: typeof raw?.seq === 'string' ? raw.seq : undefined }, 'whitelist message dropped');
  }
}
