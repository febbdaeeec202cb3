import { basename, join } from 'node:path';
import type { Alerts } from '../../core/alerts.js';
import { backupFileName, backupOpenStore, listBackups, pruneBackups } from '../../core/db/backup.js';
import type { CloudModule, ModuleContext } from '../../core/module.js';

/** cloud.yaml `backup: { dir, everyHours, keep }`. */
export interface BackupSchedule {
  dir: string;
  everyHours: number;
  keep: number;
  /** The first backup after start when none is due earlier (default 60 s: after the start's own work). */
  firstDelayMs?: number;
}

export interface BackupModule extends CloudModule {
  /** One backup now (the schedule's own step): the file written. Throws what failed, after logging and alerting it. */
  runNow(): Promise<string>;
}

/** A failed backup is tried again this soon (or at the next regular time, if sooner). */
const RETRY_MS = 15 * 60_000;

/**
 * Scheduled online backups of the SQLite store (docs/backup.md): every `everyHours` a
 * `cloud-<UTC time>.db` in `dir` through the store's own connection (consistent while
 * ingest writes), the newest `keep` kept. The first is due `everyHours` after the newest
 * file already there (a restart does not add one), or shortly after start when there is
 * none. A failure is logged, counted (stile_cloud_backup_failures_total) and, the first time
 * in a row, raised as a staff alert for every site; it is tried again within 15 minutes.
 */
export function createBackupModule(ctx: ModuleContext, deps: { schedule: BackupSchedule; alerts: Pick<Alerts, 'raise'> }): BackupModule {
  const { dir, everyHours, keep } = deps.schedule;
  const everyMs = everyHours * 3_600_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<string> | undefined;
  let stopped = false;
  let failing = false;

  const schedule = (inMs: number): void => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void runNow().then(() => schedule(everyMs), () => schedule(Math.min(everyMs, RETRY_MS))), Math.max(0, inMs));
    timer.unref();
  };

  const backup = async (): Promise<string> => {
    const started = Date.now();
    const file = join(dir, backupFileName(ctx.clock()));
    try {
      const { pages } = await backupOpenStore(ctx.store, file);
      const pruned = pruneBackups(dir, keep);
      ctx.metrics.backups.done++;
      ctx.metrics.backups.lastAt = Date.now();
      ctx.log.info({ event: 'backup_done', file, pages, ms: Date.now() - started, pruned: pruned.map((f) => basename(f)) }, 'store backed up');
      if (failing) ctx.log.info({ event: 'backup_recovered', file }, 'backups work again');
      failing = false;
      return file;
    } catch (err) {
      ctx.metrics.backups.failed++;
      const reason = (err as Error).message;
      ctx.log.error({ event: 'backup_failed', file, err: reason }, 'store backup failed');
      if (!failing) {
        const at = ctx.clock().toISOString();
        for (const site of ctx.sites.ids) {
          await deps.alerts.raise({
            site,
            kind: 'backup_failed',
            at,
            message: { zh: `云端数据库备份失败：${reason}（备份目录 ${dir}）`, en: `The cloud database backup failed: ${reason} (backup folder ${dir})` },
            details: { dir, file },
          });
        }
      }
      failing = true;
      throw err;
    }
  };

  // One at a time: a backup asked for while one runs gets that one's file.
  const runNow = (): Promise<string> => (running ??= backup().finally(() => (running = undefined)));

  return {
    name: 'backup',
    runNow,
    start() {
      // An unreadable folder does not stop the cloud: the first backup fails, and says so.
      let newest: string | undefined;
      try {
        newest = listBackups(dir).at(-1);
      } catch (err) {
        ctx.log.warn({ event: 'backup_dir_unreadable', dir, err: (err as Error).message }, 'backup folder not readable');
      }
      const newestAt = newest ? Date.parse(basename(newest).replace(/^cloud-(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z\.db$/, '$1-$2-$3T$4:$5:$6Z')) : NaN;
      if (Number.isFinite(newestAt)) ctx.metrics.backups.lastAt = newestAt;
      const first = deps.schedule.firstDelayMs ?? 60_000;
      schedule(Number.isFinite(newestAt) ? Math.max(first, newestAt + everyMs - ctx.clock().getTime()) : first);
      ctx.log.info({ event: 'backup_scheduled', dir, everyHours, keep, newest: newest ? basename(newest) : null }, 'scheduled backups on');
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      // A backup under way finishes (its steps need the connection the bridge closes next).
      await running?.catch(() => undefined);
    },
  };
}
