/**
 * Daily report for one site and one local date: pure computation plus JSON/CSV/HTML rendering.
 * No I/O here: the store supplies the rows, the scheduler decides when to run, and the caller
 * decides where the rendered text goes. Money stays in integer fen end to end; it only becomes
 * a decimal string at the very last step, so totals never drift.
 */
import { isKnownTimeZone, localDateHour } from '@stile/config';
import { escapeHtml } from '../../core/html.js';
import { CloudError } from '../../core/errors.js';
import type { LocalText } from '../../core/i18n.js';
import type { InsightDaySection } from '../../core/ports.js';
import { insightCsv, insightHtml } from './insight-section.js';
import { buildReconciliationSection, reconciliationCsv, reconciliationHtml, type ReconciliationInput, type ReconciliationSection } from './reconciliation-section.js';

export type ReportLang = 'zh-CN' | 'en';

export interface SaleRecord {
  orderId: string;
  channel: string;
  typeId: string;
  typeName: string;
  /** The catalogue's name in both languages (the report is read in either). */
  typeNames?: LocalText;
  persons: number;
  /** Integer fen (1 CNY = 100 fen). */
  amountFen: number;
  /** ISO timestamp with offset or Z. */
  paidAt: string;
}

export interface RefundRecord {
  orderId: string;
  channel: string;
  amountFen: number;
  /** Stable reason code; grouping key. */
  reason: string;
  /** Human label from configuration; falls back to the code. */
  reasonLabel?: string;
  reasonLabels?: LocalText;
  at: string;
}

export interface EntryRecord {
  at: string;
  gate: string;
  persons: number;
  kind: 'admit';
}

export interface ReportInput {
  site: string;
  siteName?: string;
  siteNames?: LocalText;
  /** Channel id → its catalogue name; a channel without one shows its id. */
  channelNames?: Readonly<Record<string, LocalText>>;
  /** Local calendar date in the site's time zone, YYYY-MM-DD. */
  date: string;
  /** IANA zone, e.g. 'Asia/Shanghai'. */
  timeZone: string;
  /** Daily capacity (max visitors per day); enables capacityUsed. */
  capacity?: number;
  currency: 'CNY';
  sales: readonly SaleRecord[];
  refunds: readonly RefundRecord[];
  entries: readonly EntryRecord[];
  /** The payments' reconciliation of the day and the channels' payment modes (reconciliation-section.ts). */
  reconciliation?: ReconciliationInput;
  /** The insight module's part of the day (suggestions, secondary spend, repeat rate, coupons). */
  insight?: InsightDaySection;
}

export interface ReportTotals {
  /** Distinct order ids: one order may have several lines (ticket types). */
  orders: number;
  ticketsSold: number;
  /** Paid, before refunds. */
  revenueFen: number;
  refundedFen: number;
  /** May be negative when refunds of earlier days' orders exceed today's sales. */
  netRevenueFen: number;
  refunds: number;
}

export interface ChannelRow {
  channel: string;
  /** The channel's name in the report's language ({@link localizeReport}), and in both. */
  name?: string;
  names?: LocalText;
  orders: number;
  persons: number;
  revenueFen: number;
  refundedFen: number;
  /** Share of revenue, 0–1. */
  share: number;
  /** Share of tickets sold (persons), 0–1. */
  personsShare: number;
}

export interface HourBucket {
  hour: number;
  persons: number;
}

export interface RefundReasonRow {
  reason: string;
  label: string;
  labels?: LocalText;
  count: number;
  amountFen: number;
}

export interface TypeMixRow {
  typeId: string;
  typeName: string;
  typeNames?: LocalText;
  persons: number;
  /** Share of persons, 0–1. */
  share: number;
}

export interface DailyReport {
  v: 1;
  site: string;
  siteName?: string;
  siteNames?: LocalText;
  date: string;
  timeZone: string;
  currency: 'CNY';
  generatedAt: string;
  totals: ReportTotals;
  byChannel: ChannelRow[];
  entriesByHour: HourBucket[];
  peakHour: HourBucket | null;
  totalEntries: number;
  refundsByReason: RefundReasonRow[];
  typeMix: TypeMixRow[];
  capacity?: number;
  /** totalEntries / capacity; not clamped, so overcrowding (> 1) stays visible. */
  capacityUsed?: number;
  /** Provider bills against our records, and the cash and partner channels' money. */
  reconciliation?: ReconciliationSection;
  /** Product insight of the day (#19). */
  insight?: InsightDaySection;
}

// ---------------------------------------------------------------------------------------------
// Dates

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function assertDate(date: string): void {
  const m = DATE_RE.exec(date);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  // Round-trip rejects 2024-02-30 and friends, which would otherwise silently yield an empty day.
  if (!d || d.toISOString().slice(0, 10) !== date) throw new CloudError('invalid_date', `daily report: bad date ${JSON.stringify(date)}, want YYYY-MM-DD`);
}

// ---------------------------------------------------------------------------------------------
// Computation

const ratio = (part: number, whole: number): number => (whole > 0 ? part / whole : 0);

/**
 * Aggregate one local day. Sales count on the local day they were paid, refunds on the local day
 * they were made (cash view: a refund today of yesterday's order lowers today's net), entries on
 * the local day they passed the gate. Rows with unparseable timestamps are ignored.
 */
export function buildDailyReport(input: ReportInput, now: Date = new Date()): DailyReport {
  assertDate(input.date);
  // Fail fast on a bad zone even for an empty day.
  if (!isKnownTimeZone(input.timeZone)) throw new CloudError('config_invalid', `daily report: unknown time zone ${JSON.stringify(input.timeZone)}`);
  const onDay = (iso: string): number | null => {
    const l = localDateHour(iso, input.timeZone);
    return l && l.date === input.date ? l.hour : null;
  };

  const sales = input.sales.filter((s) => onDay(s.paidAt) !== null);
  const refunds = input.refunds.filter((r) => onDay(r.at) !== null);

  const orderIds = new Set<string>();
  let ticketsSold = 0;
  let revenueFen = 0;
  const channels = new Map<string, { orders: Set<string>; persons: number; revenueFen: number; refundedFen: number }>();
  const channel = (name: string) => {
    let c = channels.get(name);
    if (!c) channels.set(name, (c = { orders: new Set(), persons: 0, revenueFen: 0, refundedFen: 0 }));
    return c;
  };
  const types = new Map<string, { typeName: string; typeNames?: LocalText; persons: number }>();
  for (const s of sales) {
    orderIds.add(s.orderId);
    ticketsSold += s.persons;
    revenueFen += s.amountFen;
    const c = channel(s.channel);
    c.orders.add(s.orderId);
    c.persons += s.persons;
    c.revenueFen += s.amountFen;
    const t = types.get(s.typeId);
    if (t) t.persons += s.persons;
    else types.set(s.typeId, { typeName: s.typeName, ...(s.typeNames ? { typeNames: s.typeNames } : {}), persons: s.persons });
  }

  let refundedFen = 0;
  const reasons = new Map<string, RefundReasonRow>();
  for (const r of refunds) {
    refundedFen += r.amountFen;
    // A channel that only refunded today still shows up, so channel refunds reconcile with the total.
    channel(r.channel).refundedFen += r.amountFen;
    const row = reasons.get(r.reason);
    if (row) {
      row.count++;
      row.amountFen += r.amountFen;
      if (row.label === row.reason && r.reasonLabel) row.label = r.reasonLabel;
      if (!row.labels && r.reasonLabels) row.labels = r.reasonLabels;
    } else {
      reasons.set(r.reason, { reason: r.reason, label: r.reasonLabel || r.reason, ...(r.reasonLabels ? { labels: r.reasonLabels } : {}), count: 1, amountFen: r.amountFen });
    }
  }

  const entriesByHour: HourBucket[] = Array.from({ length: 24 }, (_, hour) => ({ hour, persons: 0 }));
  let totalEntries = 0;
  for (const e of input.entries) {
    if (e.kind !== 'admit') continue; // defensive: the store may later pass exits or denials too
    const hour = onDay(e.at);
    if (hour === null) continue;
    entriesByHour[hour]!.persons += e.persons;
    totalEntries += e.persons;
  }
  // Earliest hour wins a tie: the first time the park got that busy is what staffing cares about.
  let peakHour: HourBucket | null = null;
  for (const b of entriesByHour) if (b.persons > 0 && (!peakHour || b.persons > peakHour.persons)) peakHour = { ...b };

  // Ties are broken by name so the same input always renders byte-identically.
  const byChannel: ChannelRow[] = [...channels]
    .map(([name, c]) => ({
      channel: name,
      ...(input.channelNames?.[name] ? { name: input.channelNames[name]['zh-CN'], names: input.channelNames[name] } : {}),
      orders: c.orders.size,
      persons: c.persons,
      revenueFen: c.revenueFen,
      refundedFen: c.refundedFen,
      share: ratio(c.revenueFen, revenueFen),
      personsShare: ratio(c.persons, ticketsSold),
    }))
    .sort((a, b) => b.revenueFen - a.revenueFen || b.persons - a.persons || cmp(a.channel, b.channel));

  const typeMix: TypeMixRow[] = [...types]
    .map(([typeId, t]) => ({ typeId, typeName: t.typeName, ...(t.typeNames ? { typeNames: t.typeNames } : {}), persons: t.persons, share: ratio(t.persons, ticketsSold) }))
    .sort((a, b) => b.persons - a.persons || cmp(a.typeId, b.typeId));

  const refundsByReason = [...reasons.values()].sort((a, b) => b.amountFen - a.amountFen || b.count - a.count || cmp(a.reason, b.reason));

  const report: DailyReport = {
    v: 1,
    site: input.site,
    ...(input.siteName !== undefined ? { siteName: input.siteName } : {}),
    ...(input.siteNames !== undefined ? { siteNames: input.siteNames } : {}),
    date: input.date,
    timeZone: input.timeZone,
    currency: input.currency,
    generatedAt: now.toISOString(),
    totals: { orders: orderIds.size, ticketsSold, revenueFen, refundedFen, netRevenueFen: revenueFen - refundedFen, refunds: refunds.length },
    byChannel,
    entriesByHour,
    peakHour,
    totalEntries,
    refundsByReason,
    typeMix,
  };
  if (input.capacity !== undefined && input.capacity > 0) {
    report.capacity = input.capacity;
    report.capacityUsed = totalEntries / input.capacity;
  }
  if (input.reconciliation) report.reconciliation = buildReconciliationSection(input.reconciliation, sales, refunds);
  if (input.insight) report.insight = input.insight;
  return report;
}

/**
 * The report for a reader of `lang`: site, channel, ticket type and refund reason names in
 * that language where the catalogue gave both (a report kept before names had two languages
 * keeps the text it has). The objects with both languages stay, so JSON carries both.
 */
export function localizeReport(report: DailyReport, lang: ReportLang): DailyReport {
  return {
    ...report,
    ...(report.siteNames ? { siteName: report.siteNames[lang] } : {}),
    byChannel: report.byChannel.map((c) => (c.names ? { ...c, name: c.names[lang] } : c)),
    refundsByReason: report.refundsByReason.map((r) => (r.labels ? { ...r, label: r.labels[lang] } : r)),
    typeMix: report.typeMix.map((m) => (m.typeNames ? { ...m, typeName: m.typeNames[lang] } : m)),
  };
}

/** What a reader sees for a channel: its name, else its id. */
const channelLabel = (c: ChannelRow): string => c.name || c.channel;

// Plain code-unit order, not localeCompare: must not depend on the host's ICU data.
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// Formatting helpers

/** Integer fen → "80.00" by integer arithmetic (never fen / 100 as a float). */
export function formatFen(fen: number): string {
  const n = Math.round(fen);
  const abs = Math.abs(n);
  const cents = abs % 100;
  const yuan = (abs - cents) / 100; // exact: abs - cents is a multiple of 100
  return `${n < 0 ? '-' : ''}${yuan}.${String(cents).padStart(2, '0')}`;
}

const groupThousands = (s: string): string => s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function moneyDisplay(fen: number): string {
  const plain = formatFen(fen);
  const neg = plain.startsWith('-');
  const [int, dec] = (neg ? plain.slice(1) : plain).split('.');
  return `${neg ? '-' : ''}¥${groupThousands(int!)}.${dec}`;
}

const pct = (share: number): string => `${(share * 100).toFixed(1)}%`;
const hh = (hour: number): string => `${String(hour).padStart(2, '0')}:00`;
const hourRange = (hour: number): string => `${hh(hour)}–${hour === 23 ? '24:00' : hh(hour + 1)}`;

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180)

/** Text from outside (config, input) is guarded; numbers we format ourselves are written raw. */
type Cell = string | { raw: string };
const raw = (s: string): Cell => ({ raw: s });
const int = (n: number): Cell => raw(String(n));
const money = (fen: number): Cell => raw(formatFen(fen));
const frac = (x: number): Cell => raw(x.toFixed(4));

// A spreadsheet would evaluate "=HYPERLINK(...)" from a channel name; a leading apostrophe
// makes it text. Tab and CR are on OWASP's list too. Only text cells get this: "-5.00" from
// formatFen is a number and must stay one.
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(c: Cell): string {
  let s = typeof c === 'string' ? (FORMULA_START.test(c) ? `'${c}` : c) : c.raw;
  if (/[",\r\n]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

export interface CsvOptions {
  /** Prepend a UTF-8 BOM so Excel on Windows shows Chinese labels correctly. Default false. */
  bom?: boolean;
  /** The language of the names (site, channels, types, refund reasons); default zh-CN. Ids stay in their own columns. */
  lang?: ReportLang;
}

/**
 * Sections (summary, channels, hours, refund reasons, type mix), each with its own header row,
 * separated by one empty line. CRLF everywhere, including after the last row.
 */
export function reportToCsv(input: DailyReport, options: CsvOptions = {}): string {
  const report = localizeReport(input, options.lang === 'en' ? 'en' : 'zh-CN');
  const t = report.totals;
  const summary: Cell[][] = [
    ['metric', 'value'],
    ['site', report.site],
    ...(report.siteName !== undefined ? [['site_name', report.siteName] as Cell[]] : []),
    ['date', raw(report.date)],
    ['time_zone', report.timeZone],
    ['currency', report.currency],
    ['orders', int(t.orders)],
    ['tickets_sold', int(t.ticketsSold)],
    ['revenue_yuan', money(t.revenueFen)],
    ['refunded_yuan', money(t.refundedFen)],
    ['net_revenue_yuan', money(t.netRevenueFen)],
    ['refunds', int(t.refunds)],
    ['total_entries', int(report.totalEntries)],
    ['peak_hour', raw(report.peakHour ? String(report.peakHour.hour) : '')],
    ['peak_hour_persons', raw(report.peakHour ? String(report.peakHour.persons) : '')],
    ...(report.capacity !== undefined ? [['capacity', int(report.capacity)] as Cell[]] : []),
    ...(report.capacityUsed !== undefined ? [['capacity_used', frac(report.capacityUsed)] as Cell[]] : []),
    ['generated_at', raw(report.generatedAt)],
  ];
  const channels: Cell[][] = [
    ['channel', 'channel_name', 'orders', 'persons', 'revenue_yuan', 'revenue_share', 'persons_share', 'refunded_yuan'],
    ...report.byChannel.map((c) => [c.channel, channelLabel(c), int(c.orders), int(c.persons), money(c.revenueFen), frac(c.share), frac(c.personsShare), money(c.refundedFen)]),
  ];
  const hours: Cell[][] = [['hour', 'persons'], ...report.entriesByHour.map((b) => [int(b.hour), int(b.persons)])];
  const reasons: Cell[][] = [
    ['reason', 'label', 'count', 'amount_yuan'],
    ...report.refundsByReason.map((r) => [r.reason, r.label, int(r.count), money(r.amountFen)]),
  ];
  const mix: Cell[][] = [
    ['type_id', 'type_name', 'persons', 'share'],
    ...report.typeMix.map((m) => [m.typeId, m.typeName, int(m.persons), frac(m.share)]),
  ];
  const body = [summary, channels, hours, reasons, mix, ...(report.reconciliation ? reconciliationCsv(report.reconciliation, options.lang === 'en' ? 'en' : 'zh-CN') : []), ...(report.insight ? insightCsv(report.insight, options.lang === 'en' ? 'en' : 'zh-CN') : [])]
    .map((rows) => rows.map((r) => r.map(csvCell).join(',') + '\r\n').join(''))
    .join('\r\n');
  return (options.bom ? '\uFEFF' : '') + body;
}

// ---------------------------------------------------------------------------------------------
// HTML

const LABELS = {
  'zh-CN': {
    title: '每日报表',
    orders: '订单数',
    ticketsSold: '售票数',
    revenue: '收入',
    refunded: '退款金额',
    netRevenue: '净收入',
    refunds: '退款笔数',
    entries: '入园人数',
    peakHour: '高峰时段',
    capacityUsed: '承载率',
    entriesByHour: '分时入园人数',
    channelShare: '渠道占比',
    byChannel: '渠道明细',
    refundsByReason: '退款原因',
    typeMix: '票种构成',
    channel: '渠道',
    persons: '人数',
    personsUnit: '人',
    share: '占比',
    reason: '原因',
    count: '笔数',
    amount: '金额',
    ticketType: '票种',
    noData: '无数据',
    noEntries: '当日无入园记录',
    peak: '高峰',
    generatedAt: '生成时间',
    timeZone: '时区',
    hourAxis: '时段（当地时间）',
    chartHours: '分时入园人数柱状图',
    chartChannels: '各渠道收入占比条形图',
  },
  en: {
    title: 'Daily report',
    orders: 'Orders',
    ticketsSold: 'Tickets sold',
    revenue: 'Revenue',
    refunded: 'Refunded',
    netRevenue: 'Net revenue',
    refunds: 'Refunds',
    entries: 'Entries',
    peakHour: 'Peak hour',
    capacityUsed: 'Capacity used',
    entriesByHour: 'Entries by hour',
    channelShare: 'Share by channel',
    byChannel: 'Channels',
    refundsByReason: 'Refunds by reason',
    typeMix: 'Ticket type mix',
    channel: 'Channel',
    persons: 'Persons',
    personsUnit: 'persons',
    share: 'Share',
    reason: 'Reason',
    count: 'Count',
    amount: 'Amount',
    ticketType: 'Ticket type',
    noData: 'No data',
    noEntries: 'No entries on this day',
    peak: 'peak',
    generatedAt: 'Generated',
    timeZone: 'Time zone',
    hourAxis: 'Hour (local time)',
    chartHours: 'Bar chart of entries by hour',
    chartChannels: 'Bar chart of revenue share by channel',
  },
} as const satisfies Record<ReportLang, Record<string, string>>;

type Labels = (typeof LABELS)[ReportLang];

const esc = escapeHtml;
const n1 = (x: number): string => x.toFixed(1);

/** Round the axis maximum up to 1/2/5 × 10^k so the gridline labels are readable numbers. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function hourChart(report: DailyReport, L: Labels): string {
  const W = 760, H = 260, left = 44, right = 8, top = 20, bottom = 40;
  const pw = W - left - right, ph = H - top - bottom;
  const slot = pw / 24, bw = slot * 0.72;
  const max = niceMax(report.peakHour?.persons ?? 0);
  const y = (v: number): number => top + ph - (v / max) * ph;
  const peak = report.peakHour;
  const aria = peak
    ? `${L.chartHours}: ${L.peakHour} ${hourRange(peak.hour)}, ${peak.persons} ${L.personsUnit}; ${L.entries} ${report.totalEntries}`
    : `${L.chartHours}: ${L.noEntries}`;
  const out: string[] = [];
  out.push(`<svg class="chart hours" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(aria)}" xmlns="http://www.w3.org/2000/svg">`);
  out.push(`<title>${esc(aria)}</title>`);
  for (const v of [0, max / 2, max]) {
    const yy = n1(y(v));
    out.push(`<line class="grid" x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}"/>`);
    out.push(`<text class="ylab" x="${left - 6}" y="${yy}" dy="0.32em" text-anchor="end">${Number.isInteger(v) ? v : v.toFixed(1)}</text>`);
  }
  for (const b of report.entriesByHour) {
    const isPeak = peak !== null && b.hour === peak.hour;
    const x = left + b.hour * slot + (slot - bw) / 2;
    const yb = y(b.persons);
    const tip = `${hourRange(b.hour)}: ${b.persons} ${L.personsUnit}${isPeak ? ` (${L.peak})` : ''}`;
    out.push(
      `<rect class="bar${isPeak ? ' peak' : ''}" data-hour="${b.hour}"${isPeak ? ' data-peak="true"' : ''} x="${n1(x)}" y="${n1(yb)}" width="${n1(bw)}" height="${n1(top + ph - yb)}"><title>${esc(tip)}</title></rect>`,
    );
    if (isPeak) out.push(`<text class="peaklab" x="${n1(x + bw / 2)}" y="${n1(yb - 5)}" text-anchor="middle">${b.persons}</text>`);
    out.push(`<text class="xlab" x="${n1(left + b.hour * slot + slot / 2)}" y="${top + ph + 14}" text-anchor="middle">${String(b.hour).padStart(2, '0')}</text>`);
  }
  out.push(`<line class="axis" x1="${left}" x2="${W - right}" y1="${top + ph}" y2="${top + ph}"/>`);
  out.push(`<text class="axistitle" x="${left + pw / 2}" y="${H - 4}" text-anchor="middle">${esc(L.hourAxis)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** Display-only truncation by code point (never splits a surrogate pair); the full name stays in the tooltip. */
function clip(s: string, max: number): string {
  const cps = Array.from(s);
  return cps.length > max ? cps.slice(0, max - 1).join('') + '…' : s;
}

function channelChart(report: DailyReport, L: Labels): string {
  const rows = report.byChannel;
  if (rows.length === 0) return `<p class="empty">${esc(L.noData)}</p>`;
  const W = 760, labelW = 170, valueW = 170, rowH = 30, top = 6;
  const barMax = W - labelW - valueW;
  const H = top * 2 + rows.length * rowH;
  const aria = `${L.chartChannels}: ${rows.map((c) => `${channelLabel(c)} ${pct(c.share)}`).join(', ')}`;
  const out: string[] = [];
  out.push(`<svg class="chart channels" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(aria)}" xmlns="http://www.w3.org/2000/svg">`);
  out.push(`<title>${esc(aria)}</title>`);
  rows.forEach((c, i) => {
    const yy = top + i * rowH;
    const w = Math.max(c.share * barMax, c.share > 0 ? 1 : 0);
    const tip = `${channelLabel(c)}: ${pct(c.share)} · ${moneyDisplay(c.revenueFen)} · ${c.persons} ${L.personsUnit}`;
    out.push(`<text class="clab" x="${labelW - 8}" y="${yy + rowH / 2}" dy="0.32em" text-anchor="end">${esc(clip(channelLabel(c), 18))}</text>`);
    out.push(`<rect class="hbar" x="${labelW}" y="${yy + 5}" width="${n1(w)}" height="${rowH - 10}"><title>${esc(tip)}</title></rect>`);
    out.push(`<text class="cval" x="${n1(labelW + w + 6)}" y="${yy + rowH / 2}" dy="0.32em">${esc(`${pct(c.share)} · ${moneyDisplay(c.revenueFen)}`)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function table(headers: readonly string[], rows: readonly (readonly string[])[], numericFrom: number, L: Labels): string {
  const head = `<tr>${headers.map((h, i) => `<th${i >= numericFrom ? ' class="num"' : ''}>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.length
    ? rows.map((r) => `<tr>${r.map((c, i) => `<td${i >= numericFrom ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n')
    : `<tr><td colspan="${headers.length}" class="empty">${esc(L.noData)}</td></tr>`;
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const STYLE = `
:root{--fg:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bar:#4c8bf5;--peak:#e8590c;--card:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;padding:24px;color:var(--fg);font:14px/1.5 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;max-width:900px;margin-inline:auto}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}
.meta{color:var(--muted);margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:var(--card);border-radius:8px;padding:10px 12px}
.card .k{color:var(--muted);font-size:12px}
.card .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
.chart text{font-size:11px;fill:var(--muted)}
.chart .axistitle{font-size:12px}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart .axis{stroke:var(--muted);stroke-width:1}
.chart .bar,.chart .hbar{fill:var(--bar)}
.chart .bar.peak{fill:var(--peak)}
.chart .peaklab{fill:var(--peak);font-weight:600}
.chart .clab{fill:var(--fg);font-size:13px}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left}
th{color:var(--muted);font-weight:600;font-size:12px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.empty{color:var(--muted)}
footer{margin-top:28px;color:var(--muted);font-size:12px}
@media print{body{padding:0}.card{border:1px solid var(--line)}}
`;

export interface HtmlOptions {
  lang: ReportLang;
}

/**
 * One self-contained page (inline CSS and SVG, no scripts or external resources) so the stored
 * copy renders the same offline, as an e-mail attachment, or years later. The CSP meta makes
 * that a guarantee rather than a habit: even injected markup could not load or run anything.
 */
export function reportToHtml(input: DailyReport, options: HtmlOptions = { lang: 'zh-CN' }): string {
  const lang: ReportLang = options.lang === 'en' ? 'en' : 'zh-CN';
  const report = localizeReport(input, lang);
  const L = LABELS[lang];
  const name = report.siteName || report.site;
  const t = report.totals;
  const title = `${name} · ${L.title} · ${report.date}`;
  const cards: [string, string][] = [
    [L.ticketsSold, String(t.ticketsSold)],
    [L.orders, String(t.orders)],
    [L.revenue, moneyDisplay(t.revenueFen)],
    [L.refunded, `${moneyDisplay(t.refundedFen)} (${t.refunds})`],
    [L.netRevenue, moneyDisplay(t.netRevenueFen)],
    [L.entries, String(report.totalEntries)],
    [L.peakHour, report.peakHour ? `${hourRange(report.peakHour.hour)} · ${report.peakHour.persons}` : '—'],
  ];
  if (report.capacityUsed !== undefined) cards.push([L.capacityUsed, pct(report.capacityUsed)]);

  const channelRows = report.byChannel.map((c) => [channelLabel(c), String(c.orders), String(c.persons), moneyDisplay(c.revenueFen), pct(c.share), moneyDisplay(c.refundedFen)]);
  const reasonRows = report.refundsByReason.map((r) => [r.label, String(r.count), moneyDisplay(r.amountFen)]);
  const mixRows = report.typeMix.map((m) => [m.typeName, String(m.persons), pct(m.share)]);

  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${esc(name)} · ${esc(L.title)}</h1>
<p class="meta">${esc(report.date)} · ${esc(L.timeZone)} ${esc(report.timeZone)}</p>
</header>
<section class="cards">
${cards.map(([k, v]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join('\n')}
</section>
<section>
<h2>${esc(L.entriesByHour)}</h2>
${hourChart(report, L)}
</section>
<section>
<h2>${esc(L.channelShare)}</h2>
${channelChart(report, L)}
${table([L.channel, L.orders, L.ticketsSold, L.revenue, L.share, L.refunded], channelRows, 1, L)}
</section>
<section>
<h2>${esc(L.refundsByReason)}</h2>
${table([L.reason, L.count, L.amount], reasonRows, 1, L)}
</section>
<section>
<h2>${esc(L.typeMix)}</h2>
${table([L.ticketType, L.persons, L.share], mixRows, 1, L)}
</section>
${report.reconciliation ? reconciliationHtml(report.reconciliation, lang) : ''}
${report.insight ? insightHtml(report.insight, lang) : ''}
<footer>${esc(L.generatedAt)} ${esc(report.generatedAt)} · ${esc(report.site)}</footer>
</body>
</html>
`;
}
