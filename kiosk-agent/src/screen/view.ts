/**
 * What the touchscreen shows, as a pure function of the sale machine's state, its context and
 * the time: `screenView(state, ctx, now)`. One screen per phase (SCREEN_OF is exhaustive), the
 * machine's last word with a tone, the step's guide, the choices the screen offers, money as
 * yuan strings, and the countdowns. Built field by field from the state, never by copying it:
 * no full ID number (only the masked form and a masked name), no order id, no payment attempt
 * id; the Native/precreate code URL only while it is on screen to be paid.
 */
import { addDays } from '@stile/config';
import type { Level, LocalText, PayMethod, Phase, SaleContext, SaleState } from '../sale/model.js';
import { yuan, type TextKey } from '../sale/text.js';
import type { ScreenTextKey } from './text.js';

export type ScreenId =
  | 'welcome'
  | 'choose'
  | 'identify'
  | 'wait'
  | 'review'
  | 'cash'
  | 'change'
  | 'code'
  | 'qr'
  | 'refund'
  | 'owed'
  | 'print_failed'
  | 'done'
  | 'staff';

/** Every phase has its screen: a new phase does not compile until it is given one. */
export const SCREEN_OF: Record<Phase, ScreenId> = {
  idle: 'welcome',
  choosing: 'choose',
  identifying: 'identify',
  quoting: 'wait',
  review: 'review',
  placing: 'wait',
  cash: 'cash',
  staff_cash: 'staff',
  code_wait: 'code',
  code_pending: 'code',
  qr: 'qr',
  closing: 'wait',
  change: 'change',
  refunding: 'refund',
  owed: 'owed',
  recording: 'wait',
  printing: 'wait',
  print_failed: 'print_failed',
  done: 'done',
  staff_refund: 'staff',
};

export const GUIDE_OF: Record<ScreenId, ScreenTextKey> = {
  welcome: 'guide_welcome',
  choose: 'guide_choose',
  identify: 'guide_identify',
  wait: 'guide_wait',
  review: 'guide_review',
  cash: 'guide_cash',
  change: 'guide_change',
  code: 'guide_code',
  qr: 'guide_qr',
  refund: 'guide_refund',
  owed: 'guide_owed',
  print_failed: 'guide_print_failed',
  done: 'guide_done',
  staff: 'guide_staff',
};

/** Where the sale is, for the step bar: choose → ID cards → pay → ticket. */
const STEP_OF: Record<ScreenId, 0 | 1 | 2 | 3 | 4> = {
  welcome: 0, choose: 1, identify: 2, wait: 0, review: 3, cash: 3, change: 3, code: 3, qr: 3, refund: 3, owed: 3, print_failed: 4, done: 4, staff: 0,
};

export type Tone = 'info' | 'ok' | 'warn' | 'error';

/**
 * How each of the machine's words looks: a refusal or fault is an error (red), a limit or a
 * caution a warning (orange), good news ok. Exhaustive over SALE_TEXT's keys.
 */
export const TONE_OF: Record<TextKey, Tone> = {
  welcome: 'info', choose: 'info', choose_type: 'warn', choose_slot: 'warn', unknown_choice: 'warn', date_invalid: 'warn', too_many_persons: 'warn',
  availability_pending: 'info', availability_failed: 'error', capacity_orange_kiosk: 'warn', capacity_red: 'error', capacity_changed: 'warn',
  not_enough_places: 'warn', slot_full: 'warn', tap_id_card: 'info', name_required: 'warn', invalid_id_format: 'error', invalid_id_check_digit: 'error',
  invalid_id_region: 'error', invalid_id_birth_date: 'error', duplicate_visitor: 'warn', id_limit_reached: 'error', card_removed: 'warn',
  visitors_complete: 'ok', quote_failed: 'error', choose_payment: 'info', method_unavailable: 'warn', offline_cash_only: 'warn', out_of_service: 'error',
  staff_required: 'warn', order_held: 'warn', order_refused: 'error', order_failed: 'error', insert_notes: 'info', note_not_accepted: 'warn',
  no_change: 'warn', exact_change_only: 'warn', note_rejected: 'warn', bill_jam: 'error', paying_change: 'ok', change_owed: 'error', refunding_cash: 'info',
  refund_owed: 'error', cash_unexpected: 'warn', scan_payment_code: 'info', payment_pending: 'info', payment_failed: 'error', payment_timeout: 'warn',
  payment_unresolved: 'warn', scan_qr: 'info', qr_failed: 'error', amount_mismatch: 'error', staff_cash_enter: 'info', not_enough_cash: 'warn',
  recording: 'info', record_failed: 'error', printing: 'info', paper_out: 'error', printer_jam: 'error', printer_offline: 'error', take_ticket: 'ok',
  cancelled: 'info', idle_timeout: 'info', cannot_cancel_paid: 'warn', refund_started: 'info', refund_done: 'ok', refund_failed: 'warn',
  unknown_refund_reason: 'warn', staff_called: 'warn',
  coupon_added: 'ok', coupon_removed: 'info', coupon_invalid: 'warn', coupon_refused: 'warn', coupon_unknown: 'warn', coupon_used: 'warn',
  coupon_expired: 'warn', coupon_not_applicable: 'warn', coupon_offline: 'warn',
};

export interface ScreenNotice {
  key: TextKey;
  vars?: Record<string, string | number>;
  tone: Tone;
}

export type ScreenMethod = Exclude<PayMethod, 'staff_cash'>;

export interface ScreenView {
  screen: ScreenId;
  phase: Phase;
  /** 1 choose, 2 ID cards, 3 pay, 4 ticket; 0 outside the steps. */
  step: number;
  guide: ScreenTextKey;
  /** A sale is on (the page goes back to zh-CN when it ends). */
  inSale: boolean;
  notice?: ScreenNotice;
  /** Warnings that hold while they are true (no coins for change, the network down, the day's level). */
  banners: ScreenNotice[];
  online: boolean;
  /** The printer cannot print: the kiosk does not start a sale. */
  outOfService: boolean;
  canCancel: boolean;
  canBack: boolean;
  countdown?: { kind: 'idle' | 'pay' | 'done'; seconds: number };
  choose?: {
    types: { id: string; name: LocalText; price: string; persons: number }[];
    typeId?: string;
    dates: string[];
    date: string;
    slots: { id: string; name: LocalText | string; remaining?: number }[];
    slotId?: string;
    count: number;
    maxCount: number;
    persons: number;
    level?: Level;
    remaining?: number;
    canConfirm: boolean;
  };
  identify?: { index: number; total: number; visitors: { name: string; id: string }[] };
  order?: { type?: LocalText; date: string; slot?: LocalText | string; count: number; persons: number; total: string };
  methods?: { method: ScreenMethod; enabled: boolean; why?: TextKey }[];
  cash?: { total: string; paidIn: string; due: string; change?: string };
  qr?: { url: string };
  owed?: { amount: string };
  reprint?: boolean;
}

/**
 * A view as the server sends it: `seq` grows with every change, so the page drops an answer
 * overtaken by a newer push; `boot` names the server's run (a restarted daemon counts afresh).
 */
export interface SentView extends ScreenView {
  seq: number;
  boot: string;
}

export interface ScreenContext {
  sale: SaleContext;
}

/** The idle countdown shows for the last WARN_MS of idleMs (at most half of it). */
const WARN_MS = 20_000;
/** How long the welcome screen keeps the word the last sale ended with (cancelled, timed out). */
const ENDED_NOTICE_MS = 8_000;
const MAX_DATES = 7;

/** 张三 → 张*, 欧阳娜娜 → 欧***: enough for a visitor to know their card is in, not for a passer-by. */
export function maskName(name: string): string {
  const chars = Array.from(name.trim());
  if (chars.length === 0) return '';
  if (chars.length === 1) return '*';
  return chars[0] + '*'.repeat(Math.min(chars.length - 1, 6));
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/** Whether a way to pay can be offered now, or the machine's word for why not (the reducer's own checks). */
export function methodProblem(s: SaleState, ctx: SaleContext, m: PayMethod): TextKey | undefined {
  if (!ctx.config.methods.includes(m)) return 'method_unavailable';
  if ((m === 'code' || m === 'qr') && !s.dev.online) return 'offline_cash_only';
  if (m === 'cash' && !s.dev.validatorReady) return 'method_unavailable';
  if (!s.dev.printerReady) return 'out_of_service';
  return undefined;
}

function coinsLeft(s: SaleState): number {
  return s.dev.coins.reduce((n, c) => n + c.valueFen * c.count, 0);
}

export function screenView(s: SaleState, ctx: ScreenContext, now: number): ScreenView {
  const { config, catalogue } = ctx.sale;
  const screen = SCREEN_OF[s.phase] ?? 'welcome';
  const sale = s.sale;
  const type = sale ? catalogue.types.find((t) => t.id === sale.typeId) : undefined;
  const persons = sale ? (type?.persons ?? 1) * sale.count : 0;
  const slotName = (id: string | undefined) => {
    const slot = catalogue.slots.find((x) => x.id === id);
    return slot ? (slot.name ?? `${slot.start}–${slot.end}`) : undefined;
  };
  const view: ScreenView = {
    screen,
    phase: s.phase,
    step: STEP_OF[screen],
    guide: GUIDE_OF[screen],
    inSale: sale !== undefined,
    banners: [],
    online: s.dev.online,
    outOfService: !s.dev.printerReady && s.phase === 'idle',
    canCancel: ['choosing', 'identifying', 'quoting', 'review', 'code_wait', 'cash', 'qr', 'code_pending'].includes(s.phase),
    canBack: ['identifying', 'review', 'code_wait'].includes(s.phase),
  };

  const n = s.notice;
  const stale = s.phase === 'idle' && now - s.since > ENDED_NOTICE_MS;
  if (n && !stale && n.key !== 'welcome') view.notice = { key: n.key, ...(n.vars ? { vars: { ...n.vars } } : {}), tone: TONE_OF[n.key] ?? 'info' };
  if (view.outOfService) view.notice = { key: 'out_of_service', tone: 'error' };
  if (!s.dev.online && config.methods.includes('cash')) view.banners.push({ key: 'offline_cash_only', tone: 'warn' });
  const cashOffered = config.methods.includes('cash') && (screen === 'review' || screen === 'cash');
  if (cashOffered && coinsLeft(s) === 0) view.banners.push({ key: 'exact_change_only', tone: 'warn' });

  // Countdowns: the idle timeout before money, the payment's own, and the way back from "done".
  if (config.mode === 'kiosk' && ['choosing', 'identifying', 'review', 'code_wait'].includes(s.phase)) {
    const left = config.idleMs - (now - s.lastInputAt);
    if (left <= Math.min(WARN_MS, config.idleMs / 2)) view.countdown = { kind: 'idle', seconds: seconds(left) };
  } else if ((s.phase === 'qr' || s.phase === 'code_pending') && sale?.attempt && !sale.attempt.closing) {
    const limit = s.phase === 'qr' ? config.qrTimeoutMs : config.codeTimeoutMs;
    view.countdown = { kind: 'pay', seconds: seconds(limit - (now - sale.attempt.startedAt)) };
  } else if (s.phase === 'done') {
    view.countdown = { kind: 'done', seconds: seconds(config.doneMs - (now - s.since)) };
  }
  if (!sale) return view;

  if (screen === 'choose') {
    const a = sale.availability && sale.availability.date === sale.date ? sale.availability : undefined;
    const last = addDays(sale.today, catalogue.realName.bookingHorizonDays);
    const dates: string[] = [];
    for (let d = sale.today; d <= last && dates.length < MAX_DATES; d = addDays(d, 1)) dates.push(d);
    const problem = !sale.typeId || (catalogue.slots.length > 0 && !sale.slotId) || !a || a.level === 'red' || persons > a.remaining || persons > config.maxPersons;
    view.choose = {
      types: catalogue.types.map((t) => ({ id: t.id, name: { ...t.name }, price: yuan(t.priceFen), persons: t.persons })),
      ...(sale.typeId ? { typeId: sale.typeId } : {}),
      dates,
      date: sale.date,
      slots: catalogue.slots.map((x) => {
        const left = a?.slots.find((r) => r.slotId === x.id)?.remaining;
        return { id: x.id, name: x.name ? { ...x.name } : `${x.start}–${x.end}`, ...(left !== undefined ? { remaining: Math.max(0, left) } : {}) };
      }),
      ...(sale.slotId ? { slotId: sale.slotId } : {}),
      count: sale.count,
      maxCount: Math.max(1, Math.floor(config.maxPersons / (type?.persons ?? 1))),
      persons,
      ...(a ? { level: a.level, remaining: Math.max(0, a.remaining) } : {}),
      canConfirm: !problem,
    };
    if (a?.level === 'orange') view.banners.push({ key: 'capacity_orange_kiosk', vars: { remaining: Math.max(0, a.remaining) }, tone: 'warn' });
    if (a?.level === 'red') view.banners.push({ key: 'capacity_red', tone: 'error' });
  }

  if (screen === 'identify') {
    view.identify = {
      index: Math.min(sale.visitors.length + 1, persons),
      total: persons,
      visitors: sale.visitors.map((v) => ({ name: maskName(v.name), id: v.idMasked })),
    };
  }

  const total = sale.money.totalFen > 0 ? sale.money.totalFen : sale.quote ? sale.quote.unitFen * sale.count : 0;
  if (['review', 'cash', 'code', 'qr', 'change', 'refund', 'owed', 'print_failed', 'done', 'wait'].includes(screen) && sale.quote) {
    const slot = slotName(sale.slotId);
    view.order = { ...(type ? { type: { ...type.name } } : {}), date: sale.date, ...(slot ? { slot } : {}), count: sale.count, persons, total: yuan(total) };
  }
  if (screen === 'review') {
    view.methods = config.methods
      .filter((m): m is ScreenMethod => m !== 'staff_cash')
      .map((m) => {
        const why = methodProblem(s, ctx.sale, m);
        return { method: m, enabled: why === undefined, ...(why ? { why } : {}) };
      });
  }
  if (screen === 'cash' || screen === 'change' || screen === 'refund' || screen === 'owed') {
    const m = sale.money;
    const over = m.cashInFen - m.totalFen;
    view.cash = {
      total: yuan(m.totalFen),
      paidIn: yuan(m.cashInFen),
      due: yuan(Math.max(0, m.totalFen - m.cashInFen - m.acceptingFen)),
      ...(over > 0 && m.paidBy === 'cash' ? { change: yuan(over) } : {}),
    };
  }
  if (screen === 'qr' && sale.attempt?.codeUrl && !sale.attempt.closing) view.qr = { url: sale.attempt.codeUrl };
  if (screen === 'owed') view.owed = { amount: yuan(sale.money.changeOwedFen + sale.money.refundOwedFen) };
  if (screen === 'print_failed') view.reprint = true;
  return view;
}
