/**
 * kioskctl's commands. What the journal answers is read here (so `status` and `cash` work
 * with the daemon down); what needs the printer or the sale machine goes to the daemon over
 * its control socket. `refill` and `close-day` fall back to the journal when the daemon is
 * not running (no printout then).
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { pino } from 'pino';
import { StileError, StileErrorCode } from '@stile/config';
import { CliError, type Out } from '@stile/gate-agent';
import { loadKioskConfig, type KioskConfig } from '../config.js';
import { HttpKioskCloud } from '../daemon/cloud.js';
import { KioskJournal } from '../store/journal.js';
import { hashPin, pinProblem } from '../window/pin.js';
import { ControlRefusal, controlRequest, DaemonNotRunning, type ControlAnswer, type ControlRequest } from './control.js';
import { money, parseYuan } from './day-report.js';
import { cashReport, closeDay, refill as refillOp, salesReport, today, type CashReport, type CloseReport, type OpsDeps } from './operations.js';

export interface Ctx {
  configPath: string;
  out: Out;
  flags: Record<string, string | boolean | undefined>;
  args: string[];
}

/** Exit code of a close-day whose count does not match the journal (the report is still recorded). */
export const EXIT_NOT_BALANCED = 3;

const quiet = pino({ level: 'silent' });

function config(ctx: Ctx): KioskConfig {
  return loadKioskConfig(ctx.configPath);
}

/** The journal, only if the daemon has made one: kioskctl never creates an empty journal. */
function openJournal(cfg: KioskConfig): KioskJournal {
  const path = cfg.journal.path;
  if (!existsSync(path)) throw new StileError(StileErrorCode.StoreUnavailable, `kiosk journal ${path} does not exist (start stile-kiosk first)`);
  return new KioskJournal(path);
}

/** Run an operation on the journal itself (the daemon is not running); its refusals are one-line errors. */
function withJournal<T>(cfg: KioskConfig, fn: (d: OpsDeps) => T | Promise<T>): Promise<T> {
  const journal = openJournal(cfg);
  return Promise.resolve()
    .then(() => fn({ cfg, journal, log: quiet, now: Date.now }))
    .catch((err: unknown) => {
      if (err instanceof ControlRefusal) throw new CliError(err.message, err.code === 'bad_request' ? 2 : 1, err.code.toUpperCase());
      throw err;
    })
    .finally(() => journal.close());
}

/** Ask the daemon; undefined when it is not running. A refusal becomes a one-line CliError. */
async function ask(cfg: KioskConfig, req: ControlRequest): Promise<unknown> {
  let a: ControlAnswer;
  try {
    a = await controlRequest(cfg.control.socket, req);
  } catch (err) {
    if (err instanceof DaemonNotRunning) return undefined;
    throw err;
  }
  if (!a.ok) throw new CliError(a.message, a.code === 'bad_request' ? 2 : 1, a.code.toUpperCase());
  return a.data;
}

function staffFlag(ctx: Ctx): string | null {
  return typeof ctx.flags.staff === 'string' && ctx.flags.staff ? ctx.flags.staff : null;
}

function dateFlag(ctx: Ctx): string | undefined {
  const d = ctx.flags.date;
  if (d === undefined) return undefined;
  if (typeof d !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new CliError(`--date must be YYYY-MM-DD, got "${String(d)}"`, 2);
  return d;
}

/** Is the channel API there? One availability read with a short timeout. */
async function cloudReachable(cfg: KioskConfig, date: string): Promise<{ reachable: boolean; ms: number; error?: string }> {
  const cloud = new HttpKioskCloud({ url: cfg.cloud.url, apiKey: cfg.cloud.apiKey, payment: cfg.cloud.payment, contactPhone: cfg.cloud.contactPhone, kioskId: cfg.kiosk.id, timeoutMs: 2000 });
  const t0 = performance.now();
  try {
    await cloud.availability(date);
    return { reachable: true, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { reachable: false, ms: Math.round(performance.now() - t0), error: (err as { code?: string }).code ?? (err as Error).message };
  }
}

interface MachineStatus {
  phase: string;
  since: string;
  staff: string | null;
  sale: { id: string; orderId: string | null; method: string | null; totalFen: number } | null;
  devices: { printerReady: boolean; printerFault: string | null; validatorReady: boolean; coins: { valueFen: number; count: number }[]; online: boolean };
}

export async function status(ctx: Ctx): Promise<void> {
  const cfg = config(ctx);
  const daemon = (await ask(cfg, { cmd: 'status' })) as { pid: number; machine: MachineStatus; sync?: { outboxDepth: number } } | undefined;
  const { date, cash, sales, open } = await withJournal(cfg, (d) => {
    const date = today(d);
    return { date, cash: cashReport(d, date), sales: salesReport(d, date), open: d.journal.openSaleIds() };
  });
  const cloud = await cloudReachable(cfg, date);
  const m = daemon?.machine;
  const data = {
    site: cfg.site.id,
    kiosk: cfg.kiosk.id,
    mode: cfg.kiosk.mode,
    journal: cfg.journal.path,
    daemon: daemon ? { running: true, pid: daemon.pid } : { running: false },
    machine: m ?? null,
    openSales: open,
    cloud,
    outboxDepth: daemon?.sync?.outboxDepth ?? null,
    today: { date, sales, expectedCashFen: cash.expectedFen, hopperCoins: cash.hopper.coins },
  };
  ctx.out.result(data, () => {
    const dev = m?.devices;
    const sale = m?.sale;
    const closed = Object.entries(sales.closed).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    return [
      `kiosk ${cfg.site.id}/${cfg.kiosk.id} (${cfg.kiosk.mode}), journal ${cfg.journal.path}`,
      `daemon     ${daemon ? `running, pid ${daemon.pid}` : 'NOT RUNNING'}`,
      ...(m ? [`sale       ${sale ? `${sale.id} ${m.phase} since ${m.since}${sale.orderId ? `, order ${sale.orderId}` : ''}${sale.totalFen ? `, ${money(sale.totalFen)}` : ''}` : `none (${m.phase})`}${m.staff ? `; staff ${m.staff}` : ''}`] : []),
      ...(!m && open.length ? [`sale       ${open.join(', ')} open in the journal (resumed when stile-kiosk starts)`] : []),
      ...(dev
        ? [
            `printer    ${dev.printerReady ? 'ready' : `NOT READY (${dev.printerFault ?? 'offline'})`}`,
            `cash       ${cfg.devices.cash ? `validator ${dev.validatorReady ? 'ready' : 'NOT READY'}, hopper ${dev.coins.map((c) => `${c.count} × ${money(c.valueFen)}`).join(', ') || 'none'}` : 'no cash devices'}`,
          ]
        : []),
      `cloud      ${cloud.reachable ? `reachable (${cloud.ms} ms)` : `UNREACHABLE (${cloud.error ?? '?'})`} ${cfg.cloud.url}`,
      `outbox     ${data.outboxDepth === null ? 'no offline sync running' : `${data.outboxDepth} waiting`}`,
      `today      ${date}: ${sales.started} started, ${sales.recorded} sold (${sales.tickets} tickets), closed ${closed}; ${sales.refunds.ok} refund(s), ${sales.reprints} reprint(s)`,
      `cash       expected ${money(cash.expectedFen)}, hopper ${cash.hopper.coins ?? '-'} coins`,
    ];
  });
}

function cashLines(c: CashReport): string[] {
  return [
    `cash journal ${c.date}`,
    ...c.notesIn.map((n) => `  notes      ${money(n.valueFen).padStart(9)} × ${String(n.count).padStart(3)} = ${money(n.valueFen * n.count)}`),
    `  notes in   ${money(c.notesInFen)}${c.notesReturnedFen ? ` (${money(c.notesReturnedFen)} handed back from escrow, not in the box)` : ''}`,
    ...(c.windowTenderedFen ? [`  window     ${money(c.windowTenderedFen)} taken by hand, ${money(c.windowChangeFen)} change given`] : []),
    `  coins out  ${money(c.coinsOutFen)} from the hopper`,
    `  change     -${money(c.changePaidFen)}`,
    `  refunds    -${money(c.refundsPaidFen)} paid in cash`,
    ...(c.owedSettledFen ? [`  owed paid  -${money(c.owedSettledFen)} settled by staff`] : []),
    `  owed       ${money(c.owedOpenFen)} still owed to visitors (${money(c.owedFen)} owed today)`,
    ...(c.unexpectedFen ? [`  unexpected ${money(c.unexpectedFen)} stacked with no sale (counted in notes)`] : []),
    `  refill     ${c.refill.coins} coins (${money(c.refill.fen)}) loaded`,
    `  hopper     ${c.hopper.coins ?? '-'} coins${c.hopper.fen !== null ? ` (${money(c.hopper.fen)})` : ''}`,
    `  expected   ${money(c.expectedFen)} in the box`,
  ];
}

export function cash(ctx: Ctx): Promise<void> {
  const cfg = config(ctx);
  const date = dateFlag(ctx);
  return withJournal(cfg, (d) => {
    const c = cashReport(d, date ?? today(d));
    ctx.out.result(c, () => cashLines(c));
  });
}

export async function reprint(ctx: Ctx): Promise<void> {
  const saleId = ctx.args[0];
  if (!saleId || ctx.args.length > 1) throw new CliError('usage: kioskctl reprint <sale id>', 2);
  const cfg = config(ctx);
  const r = (await ask(cfg, { cmd: 'reprint', args: { saleId, staff: staffFlag(ctx) } })) as { saleId: string; copy: number; codes: number } | undefined;
  if (!r) throw new CliError(`stile-kiosk is not running: the printer is its (start it; an open sale's ticket then prints by itself)`, 1, 'DAEMON_NOT_RUNNING');
  ctx.out.result(r, () => `sale ${r.saleId}: ${r.codes} ticket(s) printed again (copy ${r.copy}), recorded`);
}

export async function refill(ctx: Ctx): Promise<void> {
  const n = Number(ctx.flags.coins);
  if (ctx.flags.coins === undefined || !Number.isInteger(n) || n <= 0) throw new CliError('usage: kioskctl refill --coins N (N coins loaded, a whole number above 0)', 2);
  const cfg = config(ctx);
  const args = { coins: n, staff: staffFlag(ctx) };
  const r = ((await ask(cfg, { cmd: 'refill', args })) ?? (await withJournal(cfg, (d) => refillOp(d, n, args.staff)))) as ReturnType<typeof refillOp>;
  ctx.out.result(r, () => `hopper refilled: ${r.coins} × ${money(r.coinFen)} loaded, ${r.hopperCoins} coins now`);
}

async function promptCounted(): Promise<string> {
  if (!process.stdin.isTTY) throw new CliError('usage: kioskctl close-day --counted ¥X (the cash counted in the box)', 2);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question('cash counted in the box (¥): ');
  } finally {
    rl.close();
  }
}

export async function closeDayCmd(ctx: Ctx): Promise<void> {
  const cfg = config(ctx);
  const date = dateFlag(ctx);
  const text = typeof ctx.flags.counted === 'string' ? ctx.flags.counted : await promptCounted();
  const countedFen = parseYuan(text);
  if (countedFen === undefined) throw new CliError(`--counted must be an amount in yuan with at most two decimals (e.g. ¥1234.50), got "${text}"`, 2);
  const args = { countedFen, staff: staffFlag(ctx), ...(date ? { date } : {}) };
  const r = (await ask(cfg, { cmd: 'close_day', args })) as CloseReport | undefined;
  const rep = r ?? (await withJournal(cfg, (d) => closeDay(d, args)));
  ctx.out.result(rep, () => [
    `close of day ${rep.date}${rep.already ? ` (closed before, at ${rep.closedAt})` : ''}`,
    ...cashLines(rep.cash).slice(1),
    `  counted    ${money(rep.countedFen)}`,
    `  ${rep.differenceFen < 0 ? 'SHORT     ' : rep.differenceFen > 0 ? 'OVER      ' : 'difference'} ${money(Math.abs(rep.differenceFen))}${rep.balanced ? ' (balanced)' : ''}`,
    `  sales      ${rep.sales.recorded} (${rep.sales.tickets} tickets), ${rep.sales.refunds.ok} refund(s)`,
    `  report     ${rep.printed === 'printed' ? 'printed' : rep.printed === 'not_printed' ? 'NOT PRINTED (printer fault)' : 'not printed (stile-kiosk not running)'}`,
  ]);
  if (!rep.balanced) process.exitCode = EXIT_NOT_BALANCED;
}

/** A PIN's scrypt hash for kiosk.yaml `window.staff[].pinHash`: from --pin, stdin, or a prompt. */
export async function hashPinCmd(ctx: Ctx): Promise<void> {
  let pin = typeof ctx.flags.pin === 'string' ? ctx.flags.pin : undefined;
  if (pin === undefined) {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
    try {
      pin = (await rl.question(process.stdin.isTTY ? 'PIN: ' : '')).trim();
    } finally {
      rl.close();
    }
  }
  const problem = pinProblem(pin);
  if (problem) throw new CliError(problem, 2);
  const hash = hashPin(pin);
  ctx.out.result({ pinHash: hash }, () => hash);
}
