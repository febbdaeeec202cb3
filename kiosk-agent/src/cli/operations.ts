/**
 * What kioskctl does, against the journal and (inside the daemon) the sale machine and the
 * printer. The daemon serves these on its control socket; with the daemon down kioskctl runs
 * the journal-only ones itself (status, cash, refill, close-day without the printout).
 */
import type { Logger } from 'pino';
import { localDate } from '@stile/config';
import type { KioskConfig } from '../config.js';
import type { EscPosPrinter } from '../devices/printer.js';
import type { KioskRuntime } from '../daemon/runtime.js';
import { ticketDocuments, printedAt, type PrintSetting } from '../daemon/printouts.js';
import { encodeDocument, type PrintDoc } from '../protocol/escpos.js';
import { formatFen } from '../protocol/escpos-layouts.js';
import type { KioskJournal } from '../store/journal.js';
import { ControlRefusal } from './control.js';
import { cashSummary, dayWindow, money, onDay, salesSummary, type CashSummary, type SalesSummary } from './day-report.js';
import { reprintVerdict } from './reprint.js';

export interface OpsDeps {
  cfg: KioskConfig;
  journal: KioskJournal;
  /** Present inside the daemon. */
  runtime?: KioskRuntime;
  printer?: EscPosPrinter;
  log: Logger;
  now: () => number;
}

export interface CashReport extends CashSummary {
  hopper: { coins: number | null; coinFen: number; fen: number | null };
}

export interface CloseReport {
  date: string;
  closedAt: string;
  staff: string | null;
  expectedFen: number;
  countedFen: number;
  /** counted − expected: negative is a shortfall. */
  differenceFen: number;
  balanced: boolean;
  cash: CashReport;
  sales: SalesSummary;
  printed: 'printed' | 'not_printed' | 'no_printer';
  /** True when the day was closed before: this is that close, unchanged. */
  already?: boolean;
}

export function printSettingOf(cfg: KioskConfig): PrintSetting {
  const site = cfg.site.name ?? { 'zh-CN': cfg.site.id, en: cfg.site.id };
  const p = cfg.devices.printer;
  return { site: { zh: site['zh-CN'], en: site.en }, kioskId: cfg.kiosk.id, timeZone: cfg.site.timezone, widthChars: p.widthChars, receipt: p.receipt };
}

function coinFen(cfg: KioskConfig): number {
  return cfg.devices.cash?.hopper?.coinFen ?? 100;
}

export function today(d: OpsDeps): string {
  return localDate(d.now(), d.cfg.site.timezone);
}

function dayRows(d: OpsDeps, date: string) {
  const w = dayWindow(date);
  const tz = d.cfg.site.timezone;
  return {
    entries: onDay(d.journal.entriesBetween(w.from, w.to), (e) => e.at, date, tz),
    cash: onDay(d.journal.cashBetween(w.from, w.to), (r) => r.at, date, tz),
    audit: onDay(d.journal.auditBetween(w.from, w.to), (a) => a.at, date, tz),
  };
}

export function cashReport(d: OpsDeps, date = today(d)): CashReport {
  const rows = dayRows(d, date);
  const coins = d.journal.hopperCoins() ?? null;
  const fen = coinFen(d.cfg);
  return { ...cashSummary(date, rows.cash, rows.entries), hopper: { coins, coinFen: fen, fen: coins === null ? null : coins * fen } };
}

export function salesReport(d: OpsDeps, date = today(d)): SalesSummary {
  const rows = dayRows(d, date);
  return salesSummary(rows.entries, rows.audit);
}

/** The sale machine as the daemon holds it now. */
export function machineStatus(rt: KioskRuntime): Record<string, unknown> {
  const s = rt.state();
  return {
    phase: s.phase,
    since: new Date(s.since).toISOString(),
    staff: s.staff ?? null,
    sale: s.sale ? { id: s.sale.id, orderId: s.sale.orderId ?? null, method: s.sale.method ?? null, totalFen: s.sale.money.totalFen } : null,
    notice: s.notice?.key ?? null,
    devices: { printerReady: s.dev.printerReady, printerFault: s.dev.printerFault ?? null, validatorReady: s.dev.validatorReady, coins: s.dev.coins, online: s.dev.online },
    catalogueTypes: rt.catalogue().types.length,
  };
}

/** Wait until the machine leaves `phase` (or `ms` pass). */
function leaves(rt: KioskRuntime, phases: readonly string[], ms: number): Promise<string> {
  return new Promise((resolve) => {
    const done = (p: string) => {
      clearTimeout(timer);
      off();
      resolve(p);
    };
    const off = rt.subscribe((s) => {
      if (!phases.includes(s.phase)) done(s.phase);
    });
    const timer = setTimeout(() => done(rt.state().phase), ms);
    if (!phases.includes(rt.state().phase)) done(rt.state().phase);
  });
}

/**
 * Print a paid, recorded sale's tickets again (marked as a copy) and record it. The sale the
 * machine is stuck on (print_failed) is reprinted by the machine; an ended one directly.
 */
export async function reprint(d: OpsDeps, saleId: string, staff: string | null): Promise<{ saleId: string; copy: number; codes: number; outcome: string }> {
  const rt = d.runtime;
  if (!rt || !d.printer) throw new ControlRefusal('daemon_required', 'reprint needs the running stile-kiosk (the printer is its)');
  const entries = d.journal.saleEntries(saleId);
  const orderId = entries.find((e) => e.kind === 'order_placed');
  const refunded = orderId?.kind === 'order_placed' && d.journal.saleEntries(`refund:${orderId.orderId}`).some((e) => e.kind === 'staff_refund_result' && e.ok);
  const verdict = reprintVerdict(saleId, entries, d.journal.auditOfSale(saleId), refunded);
  if (!verdict.ok) throw new ControlRefusal('refused', verdict.reason);
  const s = rt.state();
  const record = (copy: number, outcome: string) => {
    d.journal.audit({ at: d.now(), staff, action: 'reprint', saleId, detail: { copy, outcome, codes: verdict.ticket.codes.length } });
    d.log.info({ event: 'reprint', saleId, copy, outcome, staff }, `reprint ${outcome}`);
  };
  if (s.sale?.id === saleId) {
    if (s.phase !== 'print_failed') throw new ControlRefusal('refused', `sale ${saleId} is being served now (${s.phase}); the kiosk prints it itself`);
    if (!s.dev.printerReady) throw new ControlRefusal('printer_not_ready', `printer not ready (${s.dev.printerFault ?? 'offline'}): load paper or clear it; the kiosk then prints sale ${saleId} by itself`);
    const copy = s.sale.printCopies + 1;
    rt.dispatch({ kind: 'reprint' });
    const after = await leaves(rt, ['print_failed', 'printing'], 15_000);
    const outcome = after === 'done' || after === 'idle' ? 'printed' : 'failed';
    record(copy, outcome);
    if (outcome !== 'printed') throw new ControlRefusal('print_failed', `sale ${saleId}: the printer did not print (${rt.state().dev.printerFault ?? after}); nothing recorded as printed`);
    return { saleId, copy, codes: verdict.ticket.codes.length, outcome };
  }
  if (s.phase !== 'idle') throw new ControlRefusal('busy', `a sale is in progress (${s.phase}); reprint when the kiosk is idle`);
  const { docs } = ticketDocuments({ ticket: verdict.ticket, catalogue: rt.catalogue(), at: d.now() }, printSettingOf(d.cfg));
  const r = await d.printer.print(Buffer.concat(docs.map((doc) => encodeDocument(doc))));
  record(verdict.ticket.copy, r.outcome);
  if (r.outcome !== 'printed') throw new ControlRefusal('print_failed', `sale ${saleId}: the printer did not print (${r.outcome}${r.faults.length ? `: ${r.faults.join(', ')}` : ''}); nothing recorded as printed`);
  return { saleId, copy: verdict.ticket.copy, codes: verdict.ticket.codes.length, outcome: r.outcome };
}

/** Coins loaded into the hopper: recorded, and the machine told the new count. */
export function refill(d: OpsDeps, coins: number, staff: string | null): { coins: number; coinFen: number; hopperCoins: number } {
  if (!Number.isInteger(coins) || coins <= 0 || coins > 100_000) throw new ControlRefusal('bad_request', `--coins must be a whole number from 1 to 100000, got ${coins}`);
  const fen = coinFen(d.cfg);
  const after = d.journal.refill(d.now(), coins, fen, staff);
  d.runtime?.dispatch({ kind: 'hopper_status', coins: [{ valueFen: fen, count: after }] });
  d.log.info({ event: 'hopper_refill', coins, after, staff }, 'hopper refilled');
  return { coins, coinFen: fen, hopperCoins: after };
}

/**
 * Close a day: the cash journal against what the attendant counted, to the fen. Refused
 * while a sale is open; a day closes once (a second close with the same count answers the
 * first; another count is refused).
 */
export async function closeDay(d: OpsDeps, o: { date?: string; countedFen: number; staff: string | null }): Promise<CloseReport> {
  const date = o.date ?? today(d);
  const before = d.journal.dayClose(date);
  if (before) {
    if (before.countedFen !== o.countedFen) throw new ControlRefusal('already_closed', `${date} was closed at ${new Date(before.at).toISOString()} with ${money(before.countedFen)} counted; a close is final`);
    return { ...(before.report as unknown as CloseReport), already: true };
  }
  const phase = d.runtime?.state().phase;
  if (phase !== undefined && phase !== 'idle') throw new ControlRefusal('sale_open', `a sale is open (${phase}${d.runtime?.state().sale ? ` ${d.runtime.state().sale!.id}` : ''}); close the day when it has ended`);
  const open = d.journal.openSaleIds();
  if (open.length > 0) throw new ControlRefusal('sale_open', `sale ${open[0]} is open in the journal${open.length > 1 ? ` (and ${open.length - 1} more)` : ''}; start stile-kiosk to finish it, then close the day`);
  const cash = cashReport(d, date);
  const at = d.now();
  const report: CloseReport = {
    date,
    closedAt: new Date(at).toISOString(),
    staff: o.staff,
    expectedFen: cash.expectedFen,
    countedFen: o.countedFen,
    differenceFen: o.countedFen - cash.expectedFen,
    balanced: o.countedFen === cash.expectedFen,
    cash,
    sales: salesReport(d, date),
    printed: 'no_printer',
  };
  if (d.printer) {
    const r = await d.printer.print(encodeDocument(closeDocument(report, printSettingOf(d.cfg)))).catch(() => undefined);
    report.printed = r?.outcome === 'printed' ? 'printed' : 'not_printed';
  }
  if (!d.journal.closeDay({ date, at, staff: o.staff, expectedFen: report.expectedFen, countedFen: report.countedFen, report: report as unknown as Record<string, unknown> })) {
    // Another close won the race: its record stands.
    return closeDay(d, o);
  }
  d.journal.audit({ at, staff: o.staff, action: 'close_day', saleId: null, detail: { date, expectedFen: report.expectedFen, countedFen: report.countedFen, differenceFen: report.differenceFen } });
  d.log.info({ event: 'day_closed', date, expectedFen: report.expectedFen, countedFen: report.countedFen, differenceFen: report.differenceFen, staff: o.staff }, 'day closed');
  return report;
}

/** The close-of-day report as the printer prints it. */
export function closeDocument(r: CloseReport, s: PrintSetting): PrintDoc {
  // The printer's code page has the full-width ￥ (formatFen), not ¥.
  const row = (label: string, fen: number, bold = false) => ({ kind: 'row' as const, label, value: formatFen(fen), ...(bold ? { bold } : {}) });
  const c = r.cash;
  return {
    widthChars: s.widthChars,
    blocks: [
      { kind: 'text', text: s.site.zh, align: 'center', bold: true },
      { kind: 'bilingual', zh: '日结报告', en: 'Close of day', align: 'center' },
      { kind: 'row', label: '日期 Date', value: r.date },
      { kind: 'row', label: '售票机 Kiosk', value: s.kioskId },
      { kind: 'rule' },
      ...c.notesIn.map((n) => ({ kind: 'row' as const, label: `纸币 Notes ${formatFen(n.valueFen)} ×${n.count}`, value: formatFen(n.valueFen * n.count) })),
      row('收入 Notes in', c.notesInFen),
      ...(c.windowTenderedFen ? [row('窗口收款 Window cash', c.windowTenderedFen)] : []),
      row('找零 Change paid', -c.changePaidFen),
      row('现金退款 Refunds', -c.refundsPaidFen),
      ...(c.owedSettledFen ? [row('补付欠款 Owed paid', -c.owedSettledFen)] : []),
      { kind: 'rule' },
      row('应有 Expected', r.expectedFen, true),
      row('实点 Counted', r.countedFen, true),
      row(r.differenceFen < 0 ? '短款 Short' : r.differenceFen > 0 ? '长款 Over' : '差额 Difference', r.differenceFen, true),
      ...(c.owedOpenFen ? [row('未付欠款 Still owed', c.owedOpenFen)] : []),
      { kind: 'rule' },
      { kind: 'row', label: '售出 Sales', value: String(r.sales.recorded) },
      { kind: 'row', label: '票数 Tickets', value: String(r.sales.tickets) },
      { kind: 'row', label: '时间 Time', value: printedAt(Date.parse(r.closedAt), s.timeZone) },
      ...(r.staff ? [{ kind: 'row' as const, label: '员工 Staff', value: r.staff }] : []),
      { kind: 'cut' },
    ],
  };
}
