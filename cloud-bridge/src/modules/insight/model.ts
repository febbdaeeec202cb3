import type { LocalText } from '../../core/i18n.js';

/** What the repository's aggregate queries return for one period (a few hundred rows at most). */
export interface InsightRows {
  /** Orders paid in the period, by ticket type. */
  sales: { typeId: string; orders: number; persons: number; revenueFen: number }[];
  /** Refunds in the period by UTC hour ("YYYY-MM-DDTHH") and reason. */
  refunds: { hour: string; reason: string; count: number }[];
  /** Visitors with an admitted visit in the period; repeaters: ≥ 2 admitted visits up to its end. */
  repeat: { band: string; visitors: number; repeaters: number }[];
  /** Coupons issued in the period by coupon rule, and what redeeming them brought. */
  coupons: { ruleId: string; issued: number; redeemed: number; discountFen: number }[];
  couponOrders: { ruleId: string; orders: number; revenueFen: number }[];
  couponPos: { ruleId: string; lines: number; revenueFen: number }[];
  /** Ticket revenue (paid orders visiting in the period) and POS spending of those days. */
  spend: { ticketFen: number; posFen: number; posLines: number };
  /** Admitted persons by hour as the gates wrote it ("YYYY-MM-DDTHH" and its UTC offset). */
  entries: { hour: string; offset: string; persons: number }[];
}

export interface Period {
  /** "2027-03", "2027-W10", "2027-03-10", or "from..to". */
  label: string;
  kind: 'day' | 'week' | 'month' | 'range';
  from: string;
  to: string;
}

export interface TypeMixRow {
  typeId: string;
  name: LocalText;
  orders: number;
  persons: number;
  revenueFen: number;
  orderShare: number;
  personShare: number;
  revenueShare: number;
}

export interface RefundReasonRow {
  reason: string;
  label: LocalText;
  count: number;
  share: number;
  /** Refunds per week of `refundWeeks`. */
  byWeek: number[];
}

export interface RepeatCell {
  band: string;
  visitors: number;
  /** null: fewer than k repeaters (small-cell suppression). */
  repeaters: number | null;
  rate: number | null;
}

export interface CouponRow {
  ruleId: string;
  issued: number;
  redeemed: number;
  uptake: number | null;
  discountFen: number;
  orders: number;
  orderRevenueFen: number;
  posLines: number;
  posRevenueFen: number;
  /** Order and POS revenue per redeemed coupon; null when none was redeemed. */
  revenuePerCouponFen: number | null;
}

export interface HourWindow {
  kind: 'early' | 'night';
  /** The window of the catalogue's pricing rule: before HH:MM, or from HH:MM. */
  rule: string;
  share: number | null;
  previousShare: number | null;
  /** share − previousShare (percentage points as a fraction); null when either is missing. */
  shift: number | null;
}

export interface Suggestion {
  metric: string;
  /** The type, reason or coupon rule it is about. */
  subject?: string;
  value: number;
  threshold: number;
  direction: 'above' | 'below';
  text: LocalText;
  note?: LocalText;
}

export interface InsightReport {
  v: 1;
  site: string;
  period: Period;
  previous: { from: string; to: string };
  timeZone: string;
  generatedAt: string;
  /** Small-cell threshold k: no visitor group under k is shown. */
  minGroup: number;
  typeMix: TypeMixRow[];
  refundWeeks: string[];
  refundReasons: RefundReasonRow[];
  refundsTotal: number;
  repeat: { visitors: number | null; repeaters: number | null; rate: number | null; byAgeBand: RepeatCell[]; otherBands: { groups: number; visitors: number | null } | null };
  coupons: CouponRow[];
  secondarySpend: { ticketFen: number; posFen: number; posLines: number; share: number | null };
  peakHours: { current: number[]; previous: number[]; windows: HourWindow[] };
  suggestions: Suggestion[];
}
