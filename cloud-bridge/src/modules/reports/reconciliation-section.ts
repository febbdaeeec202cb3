/**
 * The daily report's reconciliation section: per payment provider the bill's transactions and
 * amount, how many matched our records and how many did not (from the payments module's
 * reconciliation, through the ReconciliationView port), every mismatch, and the money that
 * never passes a provider — partner channels (Meituan-style, collected by the partner) and
 * cash (kiosks that take money themselves) — as lines of their own. Pure: the report service
 * supplies the reconciliation and the channels; rendering is CSV rows and an HTML fragment.
 */
import { escapeHtml as esc } from '../../core/html.js';
import type { LocalText } from '../../core/i18n.js';
import { MISMATCH_LABELS, PROVIDER_LABELS, type Mismatch, type ReconcileProvider, type ReconciliationResult } from '../../core/reconciliation.js';

export interface ReconciliationInput {
  /** The kept reconciliation of the day, if it ran. */
  result?: ReconciliationResult;
  /** The catalogue's channels: how each takes its money. */
  channels: readonly { id: string; kind: 'online' | 'kiosk'; payment: 'partner' | 'provider'; name?: LocalText }[];
}

export interface ProviderLine {
  provider: ReconcileProvider;
  state: 'matched' | 'unavailable';
  reason?: string;
  /** Payments in the bill. */
  transactions: number;
  amountFen: number;
  refunds: number;
  refundedFen: number;
  matched: number;
  matchedFen: number;
  mismatches: number;
}

/** Money of the day outside the providers: one line per partner channel and per cash kiosk. */
export interface ChannelMoneyLine {
  channel: string;
  /** The catalogue's name of the channel, both languages. */
  names?: LocalText;
  kind: 'partner' | 'cash';
  orders: number;
  amountFen: number;
  refundedFen: number;
}

export interface ReconciliationSection {
  /** `not_run`: not reconciled yet (the providers publish a day's bill the next morning); `none`: the site sells through no provider. */
  state: 'done' | 'retrying' | 'failed' | 'not_run' | 'none';
  ranAt?: string;
  nextAt?: string;
  providers: ProviderLine[];
  mismatches: Mismatch[];
  channels: ChannelMoneyLine[];
}

export function buildReconciliationSection(input: ReconciliationInput, sales: readonly { orderId: string; channel: string; amountFen: number }[], refunds: readonly { channel: string; amountFen: number }[]): ReconciliationSection {
  const r = input.result;
  const usesProviders = input.channels.some((c) => c.payment === 'provider');
  const lines = new Map<string, { kind: 'partner' | 'cash'; names?: LocalText; orders: Set<string>; amountFen: number; refundedFen: number }>();
  for (const c of input.channels) if (c.payment === 'partner') lines.set(c.id, { kind: c.kind === 'kiosk' ? 'cash' : 'partner', ...(c.name ? { names: c.name } : {}), orders: new Set(), amountFen: 0, refundedFen: 0 });
  for (const s of sales) {
    const l = lines.get(s.channel);
    if (!l) continue;
    l.orders.add(s.orderId);
    l.amountFen += s.amountFen;
  }
  for (const x of refunds) {
    const l = lines.get(x.channel);
    if (l) l.refundedFen += x.amountFen;
  }
  return {
    state: r ? r.state : usesProviders ? 'not_run' : 'none',
    ...(r ? { ranAt: r.ranAt } : {}),
    ...(r?.nextAt ? { nextAt: r.nextAt } : {}),
    providers: (r?.providers ?? []).map((p) => ({
      provider: p.provider,
      state: p.state,
      ...(p.reason ? { reason: p.reason } : {}),
      transactions: p.bill.payments.count,
      amountFen: p.bill.payments.amountFen,
      refunds: p.bill.refunds.count,
      refundedFen: p.bill.refunds.amountFen,
      matched: p.matched.payments.count + p.matched.refunds.count,
      matchedFen: p.matched.payments.amountFen - p.matched.refunds.amountFen,
      mismatches: p.mismatches.length,
    })),
    mismatches: (r?.providers ?? []).flatMap((p) => p.mismatches),
    channels: [...lines].map(([channel, l]) => ({ channel, ...(l.names ? { names: l.names } : {}), kind: l.kind, orders: l.orders.size, amountFen: l.amountFen, refundedFen: l.refundedFen })).sort((a, b) => (a.kind === b.kind ? (a.channel < b.channel ? -1 : 1) : a.kind === 'cash' ? 1 : -1)),
  };
}

// ---- rendering ------------------------------------------------------------------------------

/** "12.34" from fen by integer arithmetic (as the report's formatFen). */
function yuan(fen: number): string {
  const abs = Math.abs(fen);
  return `${fen < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** A CSV cell the report writes as it is (numbers) or guards (text): the report's own Cell shape. */
type Cell = string | { raw: string };
const raw = (s: string): Cell => ({ raw: s });

/** The section as CSV tables (each with its header), after the report's own. */
export function reconciliationCsv(s: ReconciliationSection, lang: 'zh-CN' | 'en' = 'zh-CN'): Cell[][][] {
  return [
    [
      ['reconciliation_state', 'reconciliation_ran_at'],
      [s.state, raw(s.ranAt ?? '')],
    ],
    [
      ['provider', 'bill_state', 'transactions', 'amount_yuan', 'refunds', 'refunded_yuan', 'matched', 'matched_net_yuan', 'mismatches'],
      ...s.providers.map((p) => [p.provider, p.state, raw(String(p.transactions)), raw(yuan(p.amountFen)), raw(String(p.refunds)), raw(yuan(p.refundedFen)), raw(String(p.matched)), raw(yuan(p.matchedFen)), raw(String(p.mismatches))]),
    ],
    [
      ['mismatch', 'provider', 'out_trade_no', 'out_refund_no', 'order_id', 'bill_yuan', 'our_yuan', 'bill_line', 'detail'],
      ...s.mismatches.map((m) => [m.kind, m.provider, m.outTradeNo ?? '', m.outRefundNo ?? '', m.orderId ?? '', raw(m.billFen === undefined ? '' : yuan(m.billFen)), raw(m.ourFen === undefined ? '' : yuan(m.ourFen)), raw(m.lineNo === undefined ? '' : String(m.lineNo)), m.detail]),
    ],
    [['channel', 'channel_name', 'money', 'orders', 'amount_yuan', 'refunded_yuan'], ...s.channels.map((c) => [c.channel, c.names?.[lang] ?? c.channel, c.kind, raw(String(c.orders)), raw(yuan(c.amountFen)), raw(yuan(c.refundedFen))])],
  ];
}

const LABELS = {
  'zh-CN': {
    title: '支付对账',
    state: { done: '已对账', retrying: '账单未到，稍后重试', failed: '账单无法下载', not_run: '尚未对账（支付渠道次日上午出账单）', none: '本景区未接入支付渠道' },
    provider: '支付渠道',
    transactions: '账单交易笔数',
    amount: '账单金额',
    refunds: '账单退款',
    matched: '已匹配',
    mismatches: '不符',
    unavailable: '未取得账单',
    kind: '类型',
    order: '订单',
    trade: '商户订单号',
    bill: '账单金额',
    ours: '本系统金额',
    line: '行号',
    detail: '说明',
    noMismatch: '无不符项',
    channels: '现金与合作渠道',
    channel: '渠道',
    money: '收款方式',
    partner: '合作渠道收款',
    cash: '现金（自助机/窗口）',
    orders: '订单数',
    refunded: '退款金额',
    noChannels: '无合作渠道或现金收款',
    ranAt: '对账时间',
    nextAt: '下次尝试',
  },
  en: {
    title: 'Payment reconciliation',
    state: { done: 'Reconciled', retrying: 'Bill not there yet; trying again', failed: 'Bill could not be downloaded', not_run: 'Not reconciled yet (the providers publish the bill the next morning)', none: 'No payment provider at this site' },
    provider: 'Provider',
    transactions: 'Bill transactions',
    amount: 'Bill amount',
    refunds: 'Bill refunds',
    matched: 'Matched',
    mismatches: 'Mismatches',
    unavailable: 'no bill',
    kind: 'Kind',
    order: 'Order',
    trade: 'Trade no.',
    bill: 'Bill',
    ours: 'Ours',
    line: 'Line',
    detail: 'Detail',
    noMismatch: 'No mismatches',
    channels: 'Cash and partner channels',
    channel: 'Channel',
    money: 'Money taken by',
    partner: 'partner channel',
    cash: 'cash (kiosk / counter)',
    orders: 'Orders',
    refunded: 'Refunded',
    noChannels: 'No partner or cash sales',
    ranAt: 'Reconciled at',
    nextAt: 'Next try',
  },
} as const;

function table(headers: readonly string[], rows: readonly (readonly string[])[], numericFrom: number, empty: string): string {
  const head = `<tr>${headers.map((h, i) => `<th${i >= numericFrom ? ' class="num"' : ''}>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.length ? rows.map((r) => `<tr>${r.map((c, i) => `<td${i >= numericFrom ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n') : `<tr><td colspan="${headers.length}" class="empty">${esc(empty)}</td></tr>`;
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const money = (fen: number): string => `¥${yuan(fen)}`;

/** The section as an HTML fragment in the report page's style (its CSS, no scripts). */
export function reconciliationHtml(s: ReconciliationSection, lang: 'zh-CN' | 'en'): string {
  const L = LABELS[lang];
  const status = [L.state[s.state], s.ranAt ? `${L.ranAt} ${s.ranAt}` : '', s.nextAt ? `${L.nextAt} ${s.nextAt}` : ''].filter((x) => x !== '').join(' · ');
  const providers = table(
    [L.provider, L.transactions, L.amount, L.refunds, L.matched, L.mismatches],
    s.providers.map((p) => [PROVIDER_LABELS[p.provider][lang], p.state === 'matched' ? String(p.transactions) : L.unavailable, money(p.amountFen), `${p.refunds} · ${money(p.refundedFen)}`, String(p.matched), String(p.mismatches)]),
    1,
    L.state[s.state],
  );
  const mismatches = table(
    [L.kind, L.provider, L.trade, L.order, L.bill, L.ours, L.line, L.detail],
    s.mismatches.map((m) => [MISMATCH_LABELS[m.kind][lang], PROVIDER_LABELS[m.provider][lang], m.outRefundNo ? `${m.outTradeNo ?? ''} / ${m.outRefundNo}` : (m.outTradeNo ?? ''), m.orderId ?? '', m.billFen === undefined ? '' : money(m.billFen), m.ourFen === undefined ? '' : money(m.ourFen), m.lineNo === undefined ? '' : String(m.lineNo), m.detail]),
    4,
    L.noMismatch,
  );
  const channels = table(
    [L.channel, L.money, L.orders, L.amount, L.refunded],
    s.channels.map((c) => [c.names?.[lang] ?? c.channel, c.kind === 'cash' ? L.cash : L.partner, String(c.orders), money(c.amountFen), money(c.refundedFen)]),
    2,
    L.noChannels,
  );
  return `<section class="reconciliation" data-state="${esc(s.state)}">
<h2>${esc(L.title)}</h2>
<p class="meta">${esc(status)}</p>
${providers}
${s.mismatches.length > 0 || s.state === 'done' ? mismatches : ''}
<h2>${esc(L.channels)}</h2>
${channels}
</section>`;
}
