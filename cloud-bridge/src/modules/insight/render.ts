import { escapeHtml as esc } from '../../core/html.js';
import type { Lang } from '../../core/i18n.js';
import type { InsightReport, Suggestion } from './model.js';
import { pct } from './suggestions.js';

/*
 * The insight report as CSV (one section per metric) and as one self-contained HTML page with
 * server-rendered SVG charts: bars for the type mix, lines for refund reasons per week, the
 * hour histogram of this period against the previous one. No script, no external resource.
 */

const yuan = (fen: number): string => `${fen < 0 ? '-' : ''}${Math.floor(Math.abs(fen) / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;
const frac = (v: number | null): string => (v === null ? '' : v.toFixed(4));
const n1 = (x: number): string => x.toFixed(1);
const COLORS = ['#4c8bf5', '#e8590c', '#2f9e44', '#ae3ec9', '#f59f00', '#1098ad', '#868e96'];

const L = {
  'zh-CN': { title: '产品洞察', typeMix: '票种构成', refunds: '退款原因（按周）', repeat: '重游率', coupons: '优惠券核销', spend: '二次消费占比', hours: '分时入园：本期与上期', suggestions: '建议', none: '无数据', now: '本期', before: '上期', suppressed: '少于 k 人，不显示', ofRevenue: '收入', type: '票种', orders: '订单', persons: '人数', revenue: '收入', share: '占比', reason: '原因', count: '笔数', rule: '规则', issued: '发放', redeemed: '核销', uptake: '核销率', perCoupon: '每张带来收入', window: '时段', shift: '变化', ticket: '门票收入', pos: '二次消费', visitors: '游客', repeaters: '重游游客', band: '年龄段' },
  en: { title: 'Product insight', typeMix: 'Ticket type mix', refunds: 'Refund reasons per week', repeat: 'Repeat visitors', coupons: 'Coupon uptake', spend: 'Secondary-spend share', hours: 'Admissions by hour: this period and the previous', suggestions: 'Suggestions', none: 'No data', now: 'this period', before: 'previous', suppressed: 'fewer than k visitors: not shown', ofRevenue: 'of revenue', type: 'Ticket type', orders: 'Orders', persons: 'Persons', revenue: 'Revenue', share: 'Share', reason: 'Reason', count: 'Count', rule: 'Rule', issued: 'Issued', redeemed: 'Redeemed', uptake: 'Uptake', perCoupon: 'Revenue per coupon', window: 'Window', shift: 'Shift', ticket: 'Ticket revenue', pos: 'Secondary spending', visitors: 'Visitors', repeaters: 'Repeaters', band: 'Age band' },
} as const;
type Labels = (typeof L)[Lang];

type Cell = string | number;
const FORMULA_START = /^[=+\-@\t\r]/;
function csvCell(c: Cell): string {
  let s = typeof c === 'number' ? String(c) : FORMULA_START.test(c) ? `'${c}` : c;
  if (/[",\r\n]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}
const csvRows = (rows: Cell[][]): string => rows.map((r) => r.map(csvCell).join(',') + '\r\n').join('');

/** CSV: one section per metric, each with its header row, separated by an empty line (CRLF). */
export function insightToCsv(r: InsightReport, opts: { lang?: Lang; bom?: boolean } = {}): string {
  const lang = opts.lang ?? 'zh-CN';
  const sections: Cell[][][] = [
    [
      ['metric', 'value'],
      ['site', r.site],
      ['period', r.period.label],
      ['from', r.period.from],
      ['to', r.period.to],
      ['time_zone', r.timeZone],
      ['min_group', r.minGroup],
      ['refunds', r.refundsTotal],
      ['repeat_visitors', r.repeat.visitors ?? ''],
      ['repeaters', r.repeat.repeaters ?? ''],
      ['repeat_rate', frac(r.repeat.rate)],
      ['ticket_yuan', yuan(r.secondarySpend.ticketFen)],
      ['pos_yuan', yuan(r.secondarySpend.posFen)],
      ['secondary_spend_share', frac(r.secondarySpend.share)],
      ['generated_at', r.generatedAt],
    ],
    [['type_id', 'type_name', 'orders', 'persons', 'revenue_yuan', 'order_share', 'person_share', 'revenue_share'], ...r.typeMix.map((t) => [t.typeId, t.name[lang], t.orders, t.persons, yuan(t.revenueFen), frac(t.orderShare), frac(t.personShare), frac(t.revenueShare)])],
    [['reason', 'label', 'count', 'share', ...r.refundWeeks], ...r.refundReasons.map((x) => [x.reason, x.label[lang], x.count, frac(x.share), ...x.byWeek])],
    [['age_band', 'visitors', 'repeaters', 'repeat_rate'], ...r.repeat.byAgeBand.map((b) => [b.band, b.visitors, b.repeaters ?? '', frac(b.rate)]), ...(r.repeat.otherBands ? [['other', r.repeat.otherBands.visitors ?? '', '', '']] : [])],
    [['coupon_rule', 'issued', 'redeemed', 'uptake', 'discount_yuan', 'orders', 'order_revenue_yuan', 'pos_lines', 'pos_revenue_yuan', 'revenue_per_coupon_yuan'], ...r.coupons.map((c) => [c.ruleId, c.issued, c.redeemed, frac(c.uptake), yuan(c.discountFen), c.orders, yuan(c.orderRevenueFen), c.posLines, yuan(c.posRevenueFen), c.revenuePerCouponFen === null ? '' : yuan(c.revenuePerCouponFen)])],
    [['hour', 'persons', 'previous_persons'], ...r.peakHours.current.map((n, h) => [h, n, r.peakHours.previous[h]!])],
    [['window', 'rule', 'share', 'previous_share', 'shift'], ...r.peakHours.windows.map((w) => [w.kind, w.rule, frac(w.share), frac(w.previousShare), frac(w.shift)])],
    [['suggestion_metric', 'subject', 'value', 'threshold', 'text', 'note'], ...r.suggestions.map((s) => [s.metric, s.subject ?? '', frac(s.value), frac(s.threshold), s.text[lang], s.note?.[lang] ?? ''])],
  ];
  return (opts.bom ? '\uFEFF' : '') + sections.map(csvRows).join('\r\n');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function svgOpen(cls: string, w: number, h: number, aria: string): string {
  return `<svg class="chart ${cls}" viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label="${esc(aria)}" xmlns="http://www.w3.org/2000/svg"><title>${esc(aria)}</title>`;
}

/** Horizontal bars: each type's share of revenue. */
export function typeMixChart(r: InsightReport, lang: Lang): string {
  const T = L[lang];
  if (r.typeMix.length === 0) return `<p class="empty">${esc(T.none)}</p>`;
  const W = 760, labelW = 260, rowH = 28;
  const H = 8 + r.typeMix.length * rowH;
  const out = [svgOpen('typemix', W, H, `${T.typeMix}: ${r.typeMix.map((t) => `${t.name[lang]} ${pct(t.revenueShare)}`).join(', ')}`)];
  r.typeMix.forEach((t, i) => {
    const y = 4 + i * rowH;
    const w = t.revenueShare * (W - labelW - 160);
    out.push(`<text x="${labelW - 8}" y="${y + rowH / 2}" dy="0.32em" text-anchor="end">${esc(t.name[lang])}</text>`);
    out.push(`<rect class="hbar" data-type="${esc(t.typeId)}" x="${labelW}" y="${y + 5}" width="${n1(w)}" height="${rowH - 10}" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${n1(labelW + w + 6)}" y="${y + rowH / 2}" dy="0.32em">${esc(`${pct(t.revenueShare)} ${T.ofRevenue} · ${t.orders} ${T.orders}`)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

/** One line per refund reason across the period's weeks. */
export function refundChart(r: InsightReport, lang: Lang): string {
  const T = L[lang];
  if (r.refundReasons.length === 0) return `<p class="empty">${esc(T.none)}</p>`;
  const W = 760, H = 240, left = 40, right = 210, top = 14, bottom = 34;
  const pw = W - left - right, ph = H - top - bottom;
  const max = niceMax(Math.max(...r.refundReasons.flatMap((x) => x.byWeek)));
  const n = r.refundWeeks.length;
  const x = (i: number) => left + (n === 1 ? pw / 2 : (i * pw) / (n - 1));
  const y = (v: number) => top + ph - (v / max) * ph;
  const out = [svgOpen('refunds', W, H, `${T.refunds}: ${r.refundReasons.map((x) => `${x.label[lang]} ${x.count}`).join(', ')}`)];
  for (const v of [0, max]) out.push(`<line class="grid" x1="${left}" x2="${left + pw}" y1="${n1(y(v))}" y2="${n1(y(v))}"/><text x="${left - 6}" y="${n1(y(v))}" dy="0.32em" text-anchor="end">${v}</text>`);
  r.refundWeeks.forEach((w, i) => {
    if (n <= 12 || i % Math.ceil(n / 12) === 0) out.push(`<text x="${n1(x(i))}" y="${top + ph + 16}" text-anchor="middle">${esc(w.slice(5))}</text>`);
  });
  r.refundReasons.forEach((reason, k) => {
    const color = COLORS[k % COLORS.length];
    const pts = reason.byWeek.map((v, i) => `${n1(x(i))},${n1(y(v))}`).join(' ');
    out.push(`<polyline class="line" data-reason="${esc(reason.reason)}" fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    out.push(`<text x="${left + pw + 8}" y="${top + 12 + k * 16}" fill="${color}">${esc(`${reason.label[lang]} ${pct(reason.share)}`)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

/** Admissions by local hour: this period (bars) against the previous one (outline), as shares so unequal volumes compare. */
export function hoursChart(r: InsightReport, lang: Lang): string {
  const T = L[lang];
  const share = (h: number[]) => {
    const total = h.reduce((s, v) => s + v, 0);
    return h.map((v) => (total > 0 ? v / total : 0));
  };
  const now = share(r.peakHours.current);
  const before = share(r.peakHours.previous);
  const W = 760, H = 240, left = 40, right = 8, top = 14, bottom = 34;
  const pw = W - left - right, ph = H - top - bottom, slot = pw / 24;
  const max = Math.max(0.05, ...now, ...before);
  const y = (v: number) => top + ph - (v / max) * ph;
  const out = [svgOpen('hours', W, H, `${T.hours}: ${r.peakHours.windows.map((w) => `${w.rule} ${w.share === null ? '—' : pct(w.share)} (${T.before} ${w.previousShare === null ? '—' : pct(w.previousShare)})`).join('; ')}`)];
  for (let h = 0; h < 24; h++) {
    const x0 = left + h * slot;
    out.push(`<rect class="bar" data-hour="${h}" x="${n1(x0 + slot * 0.1)}" y="${n1(y(now[h]!))}" width="${n1(slot * 0.4)}" height="${n1(top + ph - y(now[h]!))}" fill="${COLORS[0]}"/>`);
    out.push(`<rect class="bar previous" data-hour="${h}" x="${n1(x0 + slot * 0.5)}" y="${n1(y(before[h]!))}" width="${n1(slot * 0.4)}" height="${n1(top + ph - y(before[h]!))}" fill="#adb5bd"/>`);
    out.push(`<text x="${n1(x0 + slot / 2)}" y="${top + ph + 14}" text-anchor="middle">${String(h).padStart(2, '0')}</text>`);
  }
  out.push(`<text x="${left}" y="${H - 4}" fill="${COLORS[0]}">■ ${esc(T.now)}</text><text x="${left + 120}" y="${H - 4}" fill="#868e96">■ ${esc(T.before)}</text>`);
  out.push('</svg>');
  return out.join('');
}

function table(headers: readonly string[], rows: readonly (readonly string[])[], T: Labels): string {
  const head = `<tr>${headers.map((h, i) => `<th${i > 0 ? ' class="num"' : ''}>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.length ? rows.map((r) => `<tr>${r.map((c, i) => `<td${i > 0 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('') : `<tr><td colspan="${headers.length}" class="empty">${esc(T.none)}</td></tr>`;
  return `<table><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

const pctOr = (v: number | null): string => (v === null ? '—' : pct(v));

export function suggestionsHtml(list: readonly Suggestion[], lang: Lang): string {
  if (list.length === 0) return `<p class="empty">${esc(L[lang].none)}</p>`;
  return `<ul class="suggestions">${list.map((s) => `<li data-metric="${esc(s.metric)}">${esc(s.text[lang])}${s.note ? ` <span class="note">(${esc(s.note[lang])})</span>` : ''}</li>`).join('')}</ul>`;
}

/** The sections every page shows (the weekly/monthly page and the daily report's insight part). */
export function insightSectionsHtml(r: InsightReport, lang: Lang, heading = 'h2'): string {
  const T = L[lang];
  const h = (t: string) => `<${heading}>${esc(t)}</${heading}>`;
  const repeatRows = r.repeat.byAgeBand.map((b) => [b.band, String(b.visitors), b.repeaters === null ? '—' : String(b.repeaters), pctOr(b.rate)]);
  if (r.repeat.otherBands) repeatRows.push(['…', r.repeat.otherBands.visitors === null ? '—' : String(r.repeat.otherBands.visitors), '—', '—']);
  return [
    `<section class="insight-suggestions">${h(T.suggestions)}${suggestionsHtml(r.suggestions, lang)}</section>`,
    `<section>${h(T.typeMix)}${typeMixChart(r, lang)}${table([T.type, T.orders, T.persons, T.revenue, T.share], r.typeMix.map((t) => [t.name[lang], String(t.orders), String(t.persons), `¥${yuan(t.revenueFen)}`, pct(t.revenueShare)]), T)}</section>`,
    `<section>${h(T.refunds)}${refundChart(r, lang)}</section>`,
    `<section>${h(`${T.repeat}: ${pctOr(r.repeat.rate)}`)}<p class="meta">k = ${r.minGroup}: ${esc(T.suppressed)}</p>${table([T.band, T.visitors, T.repeaters, T.share], repeatRows, T)}</section>`,
    `<section>${h(T.coupons)}${table([T.rule, T.issued, T.redeemed, T.uptake, T.perCoupon], r.coupons.map((c) => [c.ruleId, String(c.issued), String(c.redeemed), pctOr(c.uptake), c.revenuePerCouponFen === null ? '—' : `¥${yuan(c.revenuePerCouponFen)}`]), T)}</section>`,
    `<section>${h(`${T.spend}: ${pctOr(r.secondarySpend.share)}`)}${table([T.ticket, T.pos, T.share], [[`¥${yuan(r.secondarySpend.ticketFen)}`, `¥${yuan(r.secondarySpend.posFen)}`, pctOr(r.secondarySpend.share)]], T)}</section>`,
    `<section>${h(T.hours)}${hoursChart(r, lang)}${table([T.window, T.now, T.before, T.shift], r.peakHours.windows.map((w) => [w.rule, pctOr(w.share), pctOr(w.previousShare), w.shift === null ? '—' : `${w.shift >= 0 ? '+' : ''}${(w.shift * 100).toFixed(1)} pp`]), T)}</section>`,
  ].join('\n');
}

export const INSIGHT_STYLE = `
.chart text{font-size:11px;fill:#616e7c}.chart .grid{stroke:#d9e2ec}
.suggestions li{margin:4px 0}.suggestions .note{color:#616e7c}
`;

/** One self-contained page (inline CSS and SVG, a CSP that loads nothing). */
export function insightToHtml(r: InsightReport, lang: Lang): string {
  const T = L[lang];
  const title = `${r.site} · ${T.title} · ${r.period.label}`;
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>body{margin:0 auto;padding:24px;max-width:900px;color:#1f2933;font:14px/1.5 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif}h2{font-size:17px;margin:28px 0 8px}.meta,.empty{color:#616e7c}table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d9e2ec;padding:6px 8px;text-align:left}td.num,th.num{text-align:right}${INSIGHT_STYLE}</style>
</head>
<body>
<h1>${esc(T.title)} · ${esc(r.period.label)}</h1>
<p class="meta">${esc(r.period.from)} – ${esc(r.period.to)} · ${esc(r.timeZone)} · ${esc(r.generatedAt)}</p>
${insightSectionsHtml(r, lang)}
</body>
</html>
`;
}
