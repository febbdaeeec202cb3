import { localDate } from '@stile/config';
import type { OrdersTable, SplitLedgerTable } from '../../core/db/schema.js';
import type { PaymentBillRow, RefundBillRow } from './repository.js';
import { PARK, type Period } from './split.js';

/*
 * Partner statements and the staff reconciliation (pure: rows in, documents out). Money is
 * integer fen throughout; CSV is UTF-8 with a BOM for spreadsheets.
 */

export interface StatementLine {
  orderId: string;
  date: string;
  at: string;
  kind: 'sale' | 'reversal';
  part: string;
  partName: string;
  units: number;
  amountFen: number;
  visitDate: string | null;
  persons: number | null;
  /** The lead visitor's name, masked (first character of each word): enough for the desk to find the booking. */
  guest: string | null;
  redeemedAt: string | null;
}

export interface Sums {
  saleUnits: number;
  saleFen: number;
  reversalUnits: number;
  reversalFen: number;
  netFen: number;
}

export interface Statement extends Sums {
  site: string;
  partner: { id: string; name: string };
  period: string;
  from: string;
  to: string;
  currency: 'CNY';
  days: ({ date: string } & Sums)[];
  lines: StatementLine[];
}

const zero = (): Sums => ({ saleUnits: 0, saleFen: 0, reversalUnits: 0, reversalFen: 0, netFen: 0 });

function add(s: Sums, l: Pick<StatementLine, 'kind' | 'units' | 'amountFen'>): void {
  if (l.kind === 'sale') {
    s.saleUnits += l.units;
    s.saleFen += l.amountFen;
  } else {
    s.reversalUnits += l.units;
    s.reversalFen += l.amountFen;
  }
  s.netFen += l.amountFen;
}

/** A partner's statement for a period: its lines, per-day sums and totals (reversals are negative). */
export function buildStatement(site: string, partner: { id: string; name: string }, p: Period, lines: StatementLine[]): Statement {
  const total = zero();
  const days = new Map<string, Sums>();
  for (const l of lines) {
    add(total, l);
    const d = days.get(l.date) ?? zero();
    add(d, l);
    days.set(l.date, d);
  }
  return {
    site,
    partner,
    period: p.period,
    from: p.from,
    to: p.to,
    currency: 'CNY',
    ...total,
    days: [...days].sort(([a], [b]) => a.localeCompare(b)).map(([date, s]) => ({ date, ...s })),
    lines,
  };
}

const yuan = (fen: number): string => `${fen < 0 ? '-' : ''}${Math.floor(Math.abs(fen) / 100)}.${String(Math.abs(fen) % 100).padStart(2, '0')}`;

function csvCell(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  // A leading = + - @ would be a formula in a spreadsheet (a plain number such as -300.01 is not).
  const safe = typeof v === 'string' && /^[=+\-@]/.test(s) && !/^-\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The statement as CSV: one row per line, then the totals; amounts in fen and in yuan. */
export function statementToCsv(s: Statement, opts: { bom?: boolean } = {}): string {
  const rows: (string | number | null)[][] = [
    ['site', s.site, 'partner', s.partner.id, s.partner.name, 'period', s.period],
    ['date', 'order', 'kind', 'part', 'part name', 'units', 'amount_fen', 'amount_cny', 'visit date', 'persons', 'guest', 'redeemed at'],
    ...s.lines.map((l) => [l.date, l.orderId, l.kind, l.part, l.partName, l.units, l.amountFen, yuan(l.amountFen), l.visitDate, l.persons, l.guest, l.redeemedAt]),
    ['total sales', '', '', '', '', s.saleUnits, s.saleFen, yuan(s.saleFen)],
    ['total reversals', '', '', '', '', s.reversalUnits, s.reversalFen, yuan(s.reversalFen)],
    ['net', '', '', '', '', '', s.netFen, yuan(s.netFen)],
  ];
  return (opts.bom ? '\uFEFF' : '') + rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

const esc = (v: string | number | null): string => (v === null ? '' : String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`));

/** The statement as a printable HTML page. */
export function statementToHtml(s: Statement): string {
  const td = (v: string | number | null, num = false) => `<td${num ? ' class="n"' : ''}>${esc(v)}</td>`;
  const lines = s.lines.map((l) => `<tr>${td(l.date)}${td(l.orderId)}${td(l.kind)}${td(l.partName)}${td(l.units, true)}${td(yuan(l.amountFen), true)}${td(l.visitDate)}${td(l.persons, true)}${td(l.guest)}${td(l.redeemedAt)}</tr>`).join('\n');
  const days = s.days.map((d) => `<tr>${td(d.date)}${td(d.saleUnits, true)}${td(yuan(d.saleFen), true)}${td(d.reversalUnits, true)}${td(yuan(d.reversalFen), true)}${td(yuan(d.netFen), true)}</tr>`).join('\n');
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(s.partner.name)} ${esc(s.period)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.25em .5em}.n{text-align:right}</style></head>
<body>
<h1>${esc(s.partner.name)} · ${esc(s.site)} · ${esc(s.period)}</h1>
<p>${esc(s.from)} – ${esc(s.to)} · CNY · sales ${esc(yuan(s.saleFen))} (${s.saleUnits} units) · reversals ${esc(yuan(s.reversalFen))} (${s.reversalUnits} units) · <strong>net ${esc(yuan(s.netFen))}</strong></p>
<h2>Days</h2>
<table><tr><th>Date</th><th>Units sold</th><th>Sales</th><th>Units reversed</th><th>Reversals</th><th>Net</th></tr>
${days}
</table>
<h2>Lines</h2>
<table><tr><th>Date</th><th>Order</th><th>Kind</th><th>Part</th><th>Units</th><th>Amount</th><th>Visit date</th><th>Persons</th><th>Guest</th><th>Redeemed</th></tr>
${lines}
</table>
</body></html>
`;
}

/* ---------- reconciliation with the payments ---------- */

export interface Difference {
  orderId: string;
  kind: 'sale' | 'refund';
  /** What the order (and, provider mode, the payment bill) says, and what the split lines add up to. */
  orderFen: number;
  ledgerFen: number;
  billFen: number | null;
  problem: string;
}

export interface Reconciliation {
  site: string;
  period: string;
  from: string;
  to: string;
  orders: number;
  paidFen: number;
  billFen: number;
  saleLedgerFen: number;
  refundFen: number;
  refundBillFen: number;
  reversalLedgerFen: number;
  byPartner: { partner: string; saleFen: number; reversalFen: number; netFen: number }[];
  /** The payments module's reconciliation of each day's provider bills in the period: done, retrying or failed (absent: not run). */
  billDays: { date: string; state: string }[];
  reconciled: boolean;
  differences: Difference[];
}

/** A bill mismatch of the payments module's daily reconciliation, as much of it as this needs. */
export interface BillMismatch {
  kind: string;
  orderId?: string;
  billFen?: number;
  ourFen?: number;
  detail: string;
}

export interface ReconcileInput {
  site: string;
  period: Period;
  timeZone: string;
  /** Combo orders paid or refunded around the period, and the orders of the period's ledger lines. */
  orders: OrdersTable[];
  ledger: SplitLedgerTable[];
  bills: PaymentBillRow[];
  refundBills: RefundBillRow[];
  /** The period's daily bill reconciliations (modules/payments), with their mismatches. */
  billDays?: { date: string; state: string; mismatches: BillMismatch[] }[];
}

/**
 * Per order of the period: the amount paid (orders, and for provider-mode orders the payment
 * bill) equals the sum of its sale lines (partners + park); a refund equals minus its reversal
 * lines (and the provider's refund). Every mismatch is listed with its order id.
 */
export function reconcile(input: ReconcileInput): Reconciliation {
  const { period: p, timeZone } = input;
  const inPeriod = (iso: string | null | undefined): boolean => {
    if (!iso) return false;
    const d = localDate(new Date(iso), timeZone);
    return d >= p.from && d <= p.to;
  };
  const sum = (rows: { amount_fen: number | string }[]) => rows.reduce((a, r) => a + Number(r.amount_fen), 0);
  const orders = new Map(input.orders.map((o) => [o.order_id, o]));
  const ledgerBy = new Map<string, SplitLedgerTable[]>();
  for (const l of input.ledger) ledgerBy.set(l.order_id, [...(ledgerBy.get(l.order_id) ?? []), l]);
  const ids = new Set([...input.orders.filter((o) => inPeriod(o.paid_at) || inPeriod(o.refunded_at)).map((o) => o.order_id), ...ledgerBy.keys()]);
  const out: Reconciliation = { site: input.site, period: p.period, from: p.from, to: p.to, orders: ids.size, paidFen: 0, billFen: 0, saleLedgerFen: 0, refundFen: 0, refundBillFen: 0, reversalLedgerFen: 0, byPartner: [], billDays: [], reconciled: true, differences: [] };
  const partners = new Map<string, { saleFen: number; reversalFen: number }>();
  for (const l of input.ledger) {
    const t = partners.get(l.partner) ?? { saleFen: 0, reversalFen: 0 };
    if (l.kind === 'sale') t.saleFen += Number(l.amount_fen);
    else t.reversalFen += Number(l.amount_fen);
    partners.set(l.partner, t);
  }
  out.byPartner = [...partners]
    .sort(([a], [b]) => (a === PARK ? 1 : b === PARK ? -1 : a.localeCompare(b)))
    .map(([partner, t]) => ({ partner, ...t, netFen: t.saleFen + t.reversalFen }));
  for (const id of [...ids].sort()) {
    const o = orders.get(id);
    const lines = ledgerBy.get(id) ?? [];
    const sales = sum(lines.filter((l) => l.kind === 'sale'));
    const reversals = sum(lines.filter((l) => l.kind === 'reversal'));
    out.saleLedgerFen += sales;
    out.reversalLedgerFen += reversals;
    const diff = (d: Omit<Difference, 'orderId'>) => out.differences.push({ orderId: id, ...d });
    if (!o) {
      diff({ kind: 'sale', orderFen: 0, ledgerFen: sales + reversals, billFen: null, problem: 'split lines of an order that does not exist' });
      continue;
    }
    const amount = Number(o.amount_fen);
    const provider = o.payment_mode === 'provider';
    if (inPeriod(o.paid_at)) {
      out.paidFen += amount;
      const bill = provider ? sum(input.bills.filter((b) => b.order_id === id).map((b) => ({ amount_fen: b.paid_fen }))) : null;
      if (bill !== null) out.billFen += bill;
      if (sales !== amount) diff({ kind: 'sale', orderFen: amount, ledgerFen: sales, billFen: bill, problem: `paid ${amount} fen, the split lines add up to ${sales} fen` });
      else if (bill !== null && bill !== amount) diff({ kind: 'sale', orderFen: amount, ledgerFen: sales, billFen: bill, problem: `the payment bill says ${bill} fen, the order ${amount} fen` });
    } else if (sales !== 0) {
      diff({ kind: 'sale', orderFen: 0, ledgerFen: sales, billFen: null, problem: `sale lines in the period for an order paid ${o.paid_at ? `on ${localDate(new Date(o.paid_at), timeZone)}` : 'never'}` });
    }
    if (inPeriod(o.refunded_at)) {
      out.refundFen += amount;
      const refunds = provider ? input.refundBills.filter((r) => r.order_id === id && r.state !== 'failed') : [];
      const bill = provider ? sum(refunds) : null;
      if (bill !== null) out.refundBillFen += bill;
      if (-reversals !== amount) diff({ kind: 'refund', orderFen: amount, ledgerFen: reversals, billFen: bill, problem: `refunded ${amount} fen, the reversal lines add up to ${reversals} fen` });
      else if (bill !== null && bill !== amount) diff({ kind: 'refund', orderFen: amount, ledgerFen: reversals, billFen: bill, problem: `the provider refund says ${bill} fen, the order ${amount} fen` });
    } else if (reversals !== 0) {
      diff({ kind: 'refund', orderFen: 0, ledgerFen: reversals, billFen: null, problem: 'reversal lines in the period for an order not refunded in it' });
    }
  }
  // What the providers' own bills said about these orders (money without a ticket, amount differs…).
  for (const day of input.billDays ?? []) {
    out.billDays.push({ date: day.date, state: day.state });
    for (const m of day.mismatches) {
      if (!m.orderId || !ids.has(m.orderId)) continue;
      const o = orders.get(m.orderId);
      out.differences.push({ orderId: m.orderId, kind: m.kind.startsWith('refund') ? 'refund' : 'sale', orderFen: o ? Number(o.amount_fen) : 0, ledgerFen: sum((ledgerBy.get(m.orderId) ?? []).filter((l) => (m.kind.startsWith('refund') ? l.kind === 'reversal' : l.kind === 'sale'))), billFen: m.billFen ?? null, problem: `the ${day.date} payment bill: ${m.kind} (${m.detail})` });
    }
  }
  out.reconciled = out.differences.length === 0;
  return out;
}

/** The reconciliation as CSV: totals per partner, then every difference. */
export function reconciliationToCsv(r: Reconciliation): string {
  const rows: (string | number | null)[][] = [
    ['site', r.site, 'period', r.period, 'reconciled', r.reconciled ? 'yes' : 'no'],
    ['paid_fen', r.paidFen, 'sale_lines_fen', r.saleLedgerFen, 'refunded_fen', r.refundFen, 'reversal_lines_fen', r.reversalLedgerFen],
    ['partner', 'sale_fen', 'reversal_fen', 'net_fen'],
    ...r.byPartner.map((b) => [b.partner, b.saleFen, b.reversalFen, b.netFen]),
    ['order', 'kind', 'order_fen', 'lines_fen', 'bill_fen', 'problem'],
    ...r.differences.map((d) => [d.orderId, d.kind, d.orderFen, d.ledgerFen, d.billFen, d.problem]),
  ];
  return '\uFEFF' + rows.map((x) => x.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
