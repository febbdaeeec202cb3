import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { CliError, type Out } from '@stile/gate-agent';
import { StoreLock } from '@stile/service';
import { loadKioskConfig } from '../config.js';
import { JOURNAL_SCHEMA } from '../store/journal.js';
import { buildFile, fileState, installFile, salvageFile, type FileState } from '../store/rebuild.js';
import { OUTBOX_SCHEMA } from '../sync/outbox.js';

/**
 * kioskctl restore [--yes]: after a card failure (docs/backup.md), rebuild the kiosk's
 * SQLite files that are damaged or missing, with stile-kiosk stopped (its lock). A kiosk
 * has little the cloud could give back (the offline pack is fetched again by itself), so
 * what counts is that nothing readable is lost and nothing already sent is numbered again:
 *
 * - kiosk.db (the sale and cash journal): every row that still reads is carried over;
 * - the outbox: un-sent records, the offline counters and the offline pack are carried
 *   over, and its record counter goes on above the old one — or, when that cannot be read
 *   (a new card), from the current time in milliseconds: the cloud stores each (kiosk, seq)
 *   once, so a counter starting again at 1 would have every new record taken for a repeat.
 *
 * The old files are moved aside to `<file>.damaged-<time>`, never deleted.
 */
export interface RestoreCtx {
  configPath: string;
  out: Out;
  flags: Record<string, string | boolean | undefined>;
  confirm?: (question: string) => Promise<boolean>;
  now?: () => Date;
}

const JOURNAL_TABLES = ['journal', 'open_sales', 'cash', 'attempts', 'meta', 'audit', 'day_close'];
const OUTBOX_TABLES = ['outbox', 'offline_sold', 'kiosk_meta'];

interface FilePlan {
  role: 'journal' | 'outbox';
  path: string;
  state: FileState;
}

export async function restore(ctx: RestoreCtx): Promise<void> {
  const cfg = loadKioskConfig(ctx.configPath);
  const plans: FilePlan[] = [{ role: 'journal', path: cfg.journal.path, state: fileState(cfg.journal.path) }];
  if (cfg.sync) plans.push({ role: 'outbox', path: cfg.sync.outbox, state: fileState(cfg.sync.outbox) });
  const lock = StoreLock.exclusive(cfg.journal.path);
  if (!lock) throw new CliError(`stile-kiosk is running on ${cfg.journal.path} (it holds ${StoreLock.pathFor(cfg.journal.path)}): stop it first (systemctl stop stile-kiosk), then run kioskctl restore again`);
  try {
    const todo = plans.filter((p) => p.state.state !== 'ok');
    if (todo.length === 0) {
      ctx.out.result({ rebuilt: [], files: plans.map((p) => ({ file: p.path, state: 'ok' })) }, () => `nothing to restore: ${plans.map((p) => p.path).join(' and ')} pass integrity_check`);
      return;
    }
    const what = todo.map((p) => `${p.path} (${p.state.state === 'damaged' ? `damaged: ${p.state.problem}` : 'missing'})`).join(', ');
    if (!(await agreed(ctx, `Rebuild ${what}? The old files are moved aside and kept. [yes/no] `))) throw new CliError('restore not confirmed: nothing changed (add --yes to skip the question)');
    const now = (ctx.now ?? (() => new Date()))();
    const results = todo.map((p) => rebuildOne(p, now));
    ctx.out.result({ rebuilt: results }, () =>
      results.map((r) =>
        [
          `${r.file}: rebuilt, ${r.rows} row(s) carried over${r.keptAs ? `; the old file is kept as ${r.keptAs}` : ''}`,
          ...(r.nextSeq !== undefined ? [`  the next outbox record is seq ${r.nextSeq}${r.counterFrom === 'clock' ? ' (the old counter was unreadable: numbered from the clock, above anything sent before)' : ''}`] : []),
          ...(r.unreadable.length ? [`  unreadable: ${r.unreadable.join('; ')}`] : []),
        ].join('\n'),
      ),
    );
  } finally {
    lock.release();
  }
}

interface Rebuilt {
  file: string;
  keptAs: string | undefined;
  rows: number;
  unreadable: string[];
  nextSeq?: number;
  counterFrom?: 'old' | 'clock';
}

function rebuildOne(p: FilePlan, now: Date): Rebuilt {
  const outbox = p.role === 'outbox';
  const s = salvageFile(p.path, outbox ? OUTBOX_TABLES : JOURNAL_TABLES);
  let floors: Record<string, number> = {};
  let counterFrom: 'old' | 'clock' | undefined;
  if (outbox) {
    const rows = (s.rows.get('outbox') ?? []) as { seq?: number }[];
    const old = s.counters.get('outbox');
    counterFrom = old !== undefined ? 'old' : 'clock';
    floors = { outbox: Math.max(old ?? now.getTime(), ...rows.map((r) => Number(r.seq ?? 0))) };
  }
  let built: { path: string; rows: number };
  try {
    built = buildFile(p.path, outbox ? OUTBOX_SCHEMA : JOURNAL_SCHEMA, s, floors);
  } catch (err) {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${p.path}.restoring${suffix}`, { force: true });
    throw new CliError(`${p.path}: rebuild failed (${(err as Error).message}); nothing changed`);
  }
  const keptAs = installFile(p.path, built.path, now);
  return { file: p.path, keptAs, rows: built.rows, unreadable: s.problems, ...(outbox ? { nextSeq: floors.outbox! + 1, counterFrom } : {}) };
}

async function agreed(ctx: RestoreCtx, question: string): Promise<boolean> {
  if (ctx.flags.yes === true) return true;
  if (ctx.confirm) return ctx.confirm(question);
  if (!process.stdin.isTTY) throw new CliError('kioskctl restore replaces the kiosk files: confirm with --yes (no terminal to ask on)', 2);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
