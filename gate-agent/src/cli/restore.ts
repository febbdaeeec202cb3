import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { loadGateConfig, loadTrustedKeys, localClock, StileError, StileErrorCode } from '@stile/config';
import { StoreLock } from '@stile/service';
import { buildGateDb, installRebuilt, type RebuildResult } from '../store/rebuild.js';
import { salvageGateDb, type Salvage } from '../store/salvage.js';
import { fetchMarks } from '../sync/marks-http.js';
import { cloudCredential, downloadSnapshot } from '../sync/resync-http.js';
import { CliError, type Out } from './output.js';

/**
 * gatectl restore [--from-cloud] [--yes]: rebuild the gate database from the cloud after a
 * card failure or a damaged file (docs/backup.md). With stile-gate stopped (its lock):
 * salvage what the old file still gives (un-synced events, local usage, the counters),
 * fetch this gate's marks and the site's signed snapshot, build a new database beside the
 * old one, then move the old one aside (kept) and the new one in. The daemon then catches
 * up the deltas since the snapshot's seq and sends the re-queued events on its first
 * connection. Nothing is moved until the new database is complete.
 */
export interface RestoreCtx {
  configPath: string;
  out: Out;
  flags: Record<string, string | boolean | undefined>;
  /** Asks the technician; resolves true for yes. Default: a prompt on a terminal, else refused (use --yes). */
  confirm?: (question: string) => Promise<boolean>;
  now?: () => Date;
}

export async function restore(ctx: RestoreCtx): Promise<void> {
  const cfg = loadGateConfig(ctx.configPath);
  const path = cfg.store.path;
  const base = cfg.mqtt?.snapshotUrl?.replace(/\/+$/, '');
  if (!cfg.mqtt || !base) throw new CliError(`${ctx.configPath}: mqtt.snapshotUrl is not set, so there is no cloud to rebuild from; import a snapshot file with "gatectl tickets import" instead`);
  if (cfg.keys.control.length === 0) throw new CliError(`${ctx.configPath}: keys.control is empty, so nothing from the cloud can be verified`);
  const lock = StoreLock.exclusive(path);
  if (!lock) throw new CliError(`stile-gate is running on ${path} (it holds ${StoreLock.pathFor(path)}): stop it first (systemctl stop stile-gate), then run gatectl restore again`);
  const downloaded = `${path}.restore-download`;
  const built = `${path}.restoring`;
  try {
    const salvage = salvageGateDb(path);
    if (!(await agreed(ctx, path, salvage))) throw new CliError('restore not confirmed: nothing changed (add --yes to skip the question)');
    const credential = cloudCredential(cfg.mqtt, cfg.site.id, cfg.gate.id, cfg.mqtt.passwordFile !== undefined ? readFileSync(cfg.mqtt.passwordFile, 'utf8') : undefined);
    const trusted = loadTrustedKeys(cfg.keys.control);
    const today = localClock(cfg.site.timezone, Date.now()).date;
    const cloud = await fetchMarks(base, cfg.site.id, cfg.gate.id, credential, trusted, today);
    await downloadSnapshot(base, cfg.site.id, downloaded, credential, { maxBytes: cfg.mqtt.snapshotMaxBytes, timeoutMs: cfg.mqtt.snapshotTimeoutSec * 1000 }, () => undefined).catch((err: unknown) => {
      throw new StileError(StileErrorCode.StoreUnavailable, `cannot download the snapshot from ${base}: ${(err as Error).message}; ${path} unchanged`);
    });
    const now = (ctx.now ?? (() => new Date()))();
    let result: RebuildResult;
    try {
      result = await buildGateDb({ path: built, snapshotFile: downloaded, site: cfg.site.id, signature: { required: true, trusted, today }, salvage, cloud, now });
    } catch (err) {
      for (const f of [built, `${built}-wal`, `${built}-shm`]) rmSync(f, { force: true });
      throw new StileError(StileErrorCode.StoreUnavailable, `rebuild failed: ${(err as Error).message}; ${path} unchanged`);
    }
    const aside = installRebuilt(path, built, now);
    report(ctx.out, path, aside, salvage, result);
  } finally {
    rmSync(downloaded, { force: true });
    lock.release();
  }
}

async function agreed(ctx: RestoreCtx, path: string, s: Salvage): Promise<boolean> {
  if (ctx.flags.yes === true) return true;
  const old = s.opened ? `the old file is moved aside (kept) and its ${s.outbox.length} un-synced event(s) are carried over` : 'the old file (unreadable or missing) is moved aside and kept';
  const question = `Rebuild ${path} from the cloud? ${old}. [yes/no] `;
  if (ctx.confirm) return ctx.confirm(question);
  if (!process.stdin.isTTY) throw new CliError('gatectl restore replaces the gate database: confirm with --yes (no terminal to ask on)', 2);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function report(out: Out, path: string, aside: string | undefined, s: Salvage, r: RebuildResult): void {
  const data = { database: path, oldDatabase: aside ?? null, oldReadable: s.opened, unreadable: s.problems, ...r };
  out.result(data, () => [
    `${path}: rebuilt from the cloud: ${r.tickets} tickets (whitelist seq ${r.asOfSeq ?? '-'}); start stile-gate to catch up the changes since`,
    `entries    ${r.requeued} un-synced event(s) queued for the cloud again, ${r.journal} journal row(s) kept; the next admission is seq ${r.nextSeq}`,
    `usage      ${r.usageKept} ticket(s) keep the entries used here`,
    aside ? `old file   kept as ${aside}${s.opened ? '' : ' (it could not be opened)'}` : 'old file   none (there was no database)',
    ...(s.problems.length ? [`unreadable ${s.problems.join('; ')}`] : []),
  ]);
}
