import { readFileSync } from 'node:fs';
import { loadGateConfig, loadTrustedKeys, localClock } from '@stile/config';
import { StoreLock } from '@stile/service';
import { openDatabase } from '../store/open.js';
import { eventOf } from '../store/rebuild.js';
import type { EntryRowRaw } from '../store/salvage.js';
import { fetchMarks } from '../sync/marks-http.js';
import { cloudCredential } from '../sync/resync-http.js';
import { CliError, type Out } from './output.js';

/**
 * gatectl resend: after the cloud was restored from a backup (docs/backup.md), queue again
 * every journal entry above the highest seq the cloud now holds for this gate. The outbox
 * had let them go when the cloud's receipts named them; the restored cloud lost them. The
 * cloud stores each (gate, seq) once, so anything it still has is not counted twice. With
 * stile-gate stopped (its lock): the daemon reads its outbox in seq order from where it is.
 * A signed code's text is not kept in the journal, so a resent ST2 admission reaches the
 * cloud without it (stored there as an anomaly that counts nowhere).
 */
export interface ResendCtx {
  configPath: string;
  out: Out;
  flags: Record<string, string | boolean | undefined>;
}

export async function resend(ctx: ResendCtx): Promise<void> {
  const cfg = loadGateConfig(ctx.configPath);
  const base = cfg.mqtt?.snapshotUrl?.replace(/\/+$/, '');
  if (!cfg.mqtt || !base) throw new CliError(`${ctx.configPath}: mqtt.snapshotUrl is not set, so there is no cloud to ask what it holds`);
  if (cfg.keys.control.length === 0) throw new CliError(`${ctx.configPath}: keys.control is empty, so nothing from the cloud can be verified`);
  const path = cfg.store.path;
  const lock = StoreLock.exclusive(path);
  if (!lock) throw new CliError(`stile-gate is running on ${path} (it holds ${StoreLock.pathFor(path)}): stop it first (systemctl stop stile-gate), then run gatectl resend again`);
  try {
    const credential = cloudCredential(cfg.mqtt, cfg.site.id, cfg.gate.id, cfg.mqtt.passwordFile !== undefined ? readFileSync(cfg.mqtt.passwordFile, 'utf8') : undefined);
    const marks = await fetchMarks(base, cfg.site.id, cfg.gate.id, credential, loadTrustedKeys(cfg.keys.control), localClock(cfg.site.timezone, Date.now()).date);
    const db = openDatabase(path, { mustExist: true });
    try {
      const rows = db
        .prepare<[string], EntryRowRaw>(
          `SELECT seq, event_id, epoch, kind, ticket_id, type_id, credential, persons, at, input, ref_seq FROM entries
           WHERE seq > CAST(? AS INTEGER) AND seq NOT IN (SELECT seq FROM outbox) ORDER BY seq`,
        )
        .all(marks.highSeq.toString());
      const put = db.prepare('INSERT OR IGNORE INTO outbox (seq, payload) VALUES (?, ?)');
      const queued = db.transaction(() => rows.reduce((n, r) => n + put.run(r.seq, JSON.stringify(eventOf(r))).changes, 0)).immediate();
      const depth = (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
      ctx.out.result({ cloudHighSeq: marks.highSeq.toString(), queued, outboxDepth: depth }, () =>
        queued === 0
          ? `the cloud holds every entry of this gate (up to seq ${marks.highSeq}); nothing to send again`
          : `${queued} entr${queued === 1 ? 'y' : 'ies'} after seq ${marks.highSeq} queued again (outbox ${depth}); start stile-gate to send them`,
      );
    } finally {
      db.close();
    }
  } finally {
    lock.release();
  }
}
