/*
 * The sale as a pure reducer: step(state, event, ctx) → { state, effects }. No I/O, no
 * timers, no clock: time comes in events (`at`, and `tick` for timeouts). The caller carries
 * out the effects in order, persisting each `journal` entry before the effects after it.
 * An event a phase does not take is ignored with a logged reason; none throws.
 */
import { INPUT_EVENTS, type SaleEffect, type SaleEvent } from './events.js';
import { onAvailability, onChoosing, onIdentifying, onPlacing, onQuoting, onReview, startSale } from './flow-choose.js';
import { onCash, onOwed, onPayout, onStaffCash } from './flow-cash.js';
import { onDone, onPrintFailed, onPrinting, onRecording, onStaffRefund, startStaffRefund } from './flow-finish.js';
import { onAttempt, onClosing, onCodeWait, onProviderRefund } from './flow-provider.js';
import type { CoinStock, Phase, SaleContext, SaleState } from './model.js';
import { endSale, Tx } from './tx.js';

export interface StepResult {
  state: SaleState;
  effects: SaleEffect[];
}

type Handler = (tx: Tx, ev: SaleEvent) => boolean;

/** Kiosk mode: no touch for idleMs in a phase before money ends the sale. */
function idleTimeout(tx: Tx, ev: SaleEvent): boolean {
  if (ev.kind !== 'tick') return false;
  if (tx.cfg.mode === 'kiosk' && tx.at - tx.s.lastInputAt >= tx.cfg.idleMs) endSale(tx, 'timeout', 'idle_timeout');
  return true;
}

const cancels: Handler = (tx, ev) => (ev.kind === 'cancel' ? (endSale(tx, 'cancelled', 'cancelled'), true) : false);

/** Waiting for the edge: no answer within deviceTimeoutMs is a fault of its own kind. */
function edgeTimeout(onLate: (tx: Tx) => void): Handler {
  return (tx, ev) => {
    if (ev.kind !== 'tick') return false;
    if (tx.at - tx.s.since >= tx.cfg.deviceTimeoutMs) onLate(tx);
    return true;
  };
}

const first =
  (...hs: Handler[]): Handler =>
  (tx, ev) =>
    hs.some((h) => h(tx, ev));

const HANDLERS: Record<Phase, Handler> = {
  idle: (tx, ev) => {
    if (ev.kind === 'start') return startSale(tx, ev), true;
    if (ev.kind === 'staff_refund') return startStaffRefund(tx, ev), true;
    return ev.kind === 'tick';
  },
  choosing: first(onChoosing, cancels, idleTimeout),
  identifying: first(onIdentifying, cancels, idleTimeout),
  quoting: first(
    onQuoting,
    cancels,
    edgeTimeout((tx) => {
      tx.go('identifying');
      tx.say('quote_failed');
    }),
  ),
  review: first(onReview, cancels, idleTimeout),
  placing: first(onPlacing, (tx, ev) => {
    if (ev.kind === 'cancel') return (tx.sale.ending = 'cancelled'), tx.say('cancelled'), true;
    if (ev.kind !== 'tick') return false;
    if (tx.at - tx.s.since < tx.cfg.deviceTimeoutMs) return true;
    // No answer: an order made anyway expires unpaid in the cloud.
    if (tx.sale.ending) return endSale(tx, tx.sale.ending, 'cancelled'), true;
    tx.go('review');
    tx.say('order_failed');
    return true;
  }),
  cash: onCash,
  staff_cash: onStaffCash,
  code_wait: first(onCodeWait, idleTimeout),
  code_pending: onAttempt,
  qr: onAttempt,
  closing: onClosing,
  change: onPayout,
  refunding: first(onPayout, onProviderRefund),
  owed: onOwed,
  recording: onRecording,
  printing: onPrinting,
  print_failed: onPrintFailed,
  done: (tx, ev) => {
    if (ev.kind === 'start') {
      delete tx.s.sale;
      startSale(tx, ev);
      return true;
    }
    return onDone(tx, ev);
  },
  staff_refund: onStaffRefund,
};

function sanitizeCoins(coins: unknown): CoinStock[] {
  if (!Array.isArray(coins)) return [];
  return coins
    .filter((c): c is CoinStock => typeof c === 'object' && c !== null && Number.isInteger(c.valueFen) && c.valueFen > 0 && Number.isInteger(c.count) && c.count >= 0)
    .map((c) => ({ valueFen: c.valueFen, count: c.count }));
}

/** Events about devices, the network and staff: taken in every phase. */
function onAnyPhase(tx: Tx, ev: SaleEvent): boolean {
  const dev = tx.s.dev;
  switch (ev.kind) {
    case 'hopper_status':
      dev.coins = sanitizeCoins(ev.coins);
      return true;
    case 'validator_status':
      dev.validatorReady = ev.ready === true;
      return true;
    case 'network_status':
      dev.online = ev.online === true;
      return true;
    case 'printer_status': {
      dev.printerReady = ev.ready === true;
      if (dev.printerReady) delete dev.printerFault;
      else if (ev.fault) dev.printerFault = ev.fault;
      // The printer is back: the paid ticket that did not print goes out now.
      if (dev.printerReady && tx.s.phase === 'print_failed') return HANDLERS.print_failed(tx, { kind: 'reprint', at: ev.at });
      return true;
    }
    case 'staff_login':
      if (tx.cfg.mode !== 'window' || tx.s.phase !== 'idle' || typeof ev.staffId !== 'string' || !ev.staffId) return tx.ignore('staff_login_refused');
      tx.s.staff = ev.staffId;
      return true;
    case 'staff_logout':
      if (tx.s.phase !== 'idle') return tx.ignore('sale_in_progress');
      delete tx.s.staff;
      return true;
    case 'availability':
    case 'availability_failed':
      if (!onAvailability(tx, ev)) tx.log('availability_not_needed');
      return true;
    case 'note_held':
      if (tx.s.phase === 'cash') return false;
      // No sale is collecting: never take a note.
      tx.emit({ kind: 'return_note' });
      return tx.ignore('note_outside_cash');
    case 'note_stacked':
      if (tx.s.phase === 'cash') return false;
      if (!Number.isInteger(ev.valueFen) || ev.valueFen <= 0) return tx.ignore('bad_note_value');
      // The validator took a note nobody asked for: recorded as a credit for staff to settle.
      tx.journal({ kind: 'cash_unexpected', valueFen: ev.valueFen }, { saleId: tx.s.sale?.id ?? 'none' });
      tx.emit({ kind: 'alert_staff', reason: 'cash_unexpected', ...(tx.s.sale ? { saleId: tx.s.sale.id } : {}) });
      tx.say('cash_unexpected');
      return true;
    default:
      return false;
  }
}

function isEvent(ev: unknown): ev is SaleEvent {
  if (typeof ev !== 'object' || ev === null) return false;
  const e = ev as { kind?: unknown; at?: unknown };
  return typeof e.kind === 'string' && typeof e.at === 'number' && Number.isFinite(e.at);
}

export function step(state: SaleState, event: SaleEvent, ctx: SaleContext): StepResult {
  if (!isEvent(event)) {
    return { state: structuredClone(state), effects: [{ kind: 'log', level: 'warn', reason: 'malformed_event', phase: state.phase }] };
  }
  const tx = new Tx(state, event, ctx);
  if (INPUT_EVENTS.has(event.kind)) tx.s.lastInputAt = event.at;
  if (tx.s.phase !== 'idle' && tx.s.phase !== 'staff_refund' && !tx.s.sale) {
    // A state without its sale cannot come out of step(); a hand-made one goes back to the start.
    tx.go('idle');
    tx.ignore('phase_without_sale');
    return { state: tx.s, effects: tx.fx };
  }
  const handler = HANDLERS[tx.s.phase];
  if (!onAnyPhase(tx, event) && !handler?.(tx, event)) {
    if (event.kind === 'cancel' && tx.s.sale?.money.paidBy) tx.say('cannot_cancel_paid');
    tx.ignore(INPUT_EVENTS.has(event.kind) || isKnownKind(event.kind) ? 'not_in_this_phase' : 'unknown_event');
  }
  return { state: tx.s, effects: tx.fx };
}

const KNOWN = new Set<string>([
  ...INPUT_EVENTS,
  'availability', 'availability_failed', 'id_card_removed', 'quote', 'quote_failed', 'order_placed', 'order_refused', 'note_stacked', 'note_returned',
  'note_rejected', 'bill_fault', 'payout_done', 'hopper_status', 'printer_status', 'validator_status', 'network_status', 'qr_ready', 'qr_failed',
  'payment_update', 'payment_closed', 'payment_close_failed', 'refund_result', 'sale_recorded', 'sale_record_failed', 'print_result', 'tick',
  'staff_login', 'staff_logout', 'staff_resolve',
]);
function isKnownKind(kind: string): boolean {
  return KNOWN.has(kind);
}

/** Run a list of events from a state; the effects of every step, in order. */
export function run(state: SaleState, events: readonly SaleEvent[], ctx: SaleContext): StepResult {
  const effects: SaleEffect[] = [];
  let s = state;
  for (const ev of events) {
    const r = step(s, ev, ctx);
    s = r.state;
    effects.push(...r.effects);
  }
  return { state: s, effects };
}
