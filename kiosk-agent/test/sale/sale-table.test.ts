import { describe, expect, it } from 'vitest';
import type { SaleEffect, SaleEvent } from '../../src/sale/events.js';
import { step } from '../../src/sale/machine.js';
import { moneyProblems } from '../../src/sale/money.js';
import { PHASES, type Phase } from '../../src/sale/model.js';
import { SALE_TEXT } from '../../src/sale/text.js';
import { green, idNumber, KIOSK, reach, TODAY, WINDOW } from './helpers.js';

type Body = SaleEvent extends infer E ? (E extends SaleEvent ? Omit<E, 'at'> : never) : never;
/** [from, event, ms after the previous event, next phase, effect kinds that must be among the effects] */
type Row = [Phase, Body | ((attemptId: string) => Body), number, Phase, SaleEffect['kind'][]];

const ID = idNumber(55);
const QUOTE = { typeId: 'adult', date: TODAY, slotId: 'am', count: 1, unitFen: 8000, baseFen: 8000, discounts: [] };

const TABLE: Row[] = [
  ['idle', { kind: 'start', saleId: 'n', today: TODAY }, 100, 'choosing', ['journal', 'request_availability']],
  ['idle', { kind: 'tick' }, 600_000, 'idle', []],
  ['idle', { kind: 'cancel' }, 100, 'idle', ['log']],
  ['idle', { kind: 'note_held', valueFen: 5000 }, 100, 'idle', ['return_note', 'log']],
  ['idle', { kind: 'note_stacked', valueFen: 5000 }, 100, 'idle', ['journal', 'alert_staff']],
  ['idle', { kind: 'staff_refund', orderId: 'o', reasonCode: 'weather' }, 100, 'idle', ['show']],
  ['idle', { kind: 'payment_update', attemptId: 'x', status: 'paid' }, 100, 'idle', ['log']],
  ['choosing', { kind: 'confirm' }, 100, 'choosing', ['show']],
  ['choosing', { kind: 'choose_type', typeId: 'nope' }, 100, 'choosing', ['show']],
  ['choosing', { kind: 'availability', availability: { ...green(), level: 'red', remaining: 0 } }, 100, 'choosing', ['show']],
  ['choosing', { kind: 'cancel' }, 100, 'idle', ['journal']],
  ['choosing', { kind: 'back' }, 100, 'idle', ['journal']],
  ['choosing', { kind: 'tick' }, 60_000, 'idle', ['journal', 'show']],
  ['choosing', { kind: 'tick' }, 59_999, 'choosing', []],
  ['choosing', { kind: 'id_card_read', name: '张三', idNumber: ID }, 100, 'choosing', ['log']],
  ['identifying', { kind: 'id_card_read', name: '张三', idNumber: ID }, 100, 'quoting', ['request_quote']],
  ['identifying', { kind: 'id_typed', name: '张三', idNumber: '110101199001011230' }, 100, 'identifying', ['show']],
  ['identifying', { kind: 'back' }, 100, 'choosing', ['show']],
  ['identifying', { kind: 'cancel' }, 100, 'idle', ['journal']],
  ['identifying', { kind: 'tick' }, 60_000, 'idle', ['journal']],
  ['identifying', { kind: 'note_held', valueFen: 1000 }, 100, 'identifying', ['return_note']],
  ['quoting', { kind: 'quote', quote: QUOTE }, 100, 'review', ['show']],
  ['quoting', { kind: 'quote', quote: { ...QUOTE, count: 2 } }, 100, 'quoting', ['log']],
  ['quoting', { kind: 'quote_failed' }, 100, 'identifying', ['show']],
  ['quoting', { kind: 'tick' }, 10_000, 'identifying', ['show']],
  ['quoting', { kind: 'cancel' }, 100, 'idle', ['journal']],
  ['review', { kind: 'choose_method', method: 'cash' }, 100, 'placing', ['place_order']],
  ['review', { kind: 'choose_method', method: 'staff_cash' }, 100, 'review', ['show']],
  ['review', { kind: 'back' }, 100, 'identifying', ['show']],
  ['review', { kind: 'cancel' }, 100, 'idle', ['journal']],
  ['review', { kind: 'tick' }, 60_000, 'idle', ['journal']],
  ['placing', { kind: 'order_placed', orderId: 'o1' }, 100, 'cash', ['journal', 'validator']],
  ['placing', { kind: 'order_refused', reason: 'other' }, 100, 'review', ['show']],
  ['placing', { kind: 'cancel' }, 100, 'placing', ['show']],
  ['placing', { kind: 'tick' }, 10_000, 'review', ['show']],
  ['cash', { kind: 'note_held', valueFen: 5000 }, 100, 'cash', ['journal', 'accept_note']],
  ['cash', { kind: 'note_held', valueFen: 300 }, 100, 'cash', ['return_note']],
  ['cash', { kind: 'note_stacked', valueFen: 10000 }, 100, 'change', ['journal', 'validator', 'pay_out']],
  ['cash', { kind: 'note_rejected' }, 100, 'cash', ['show']],
  ['cash', { kind: 'cancel' }, 100, 'idle', ['validator', 'cancel_order', 'journal']],
  ['cash', { kind: 'tick' }, 60_000, 'idle', ['validator', 'cancel_order']],
  ['cash', { kind: 'bill_fault', fault: 'jam' }, 100, 'idle', ['validator', 'alert_staff']],
  ['cash', { kind: 'payment_code_scanned', authCode: '1' }, 100, 'cash', ['log']],
  ['staff_cash', { kind: 'cash_tendered', amountFen: 10000 }, 100, 'recording', ['journal', 'record_sale']],
  ['staff_cash', { kind: 'cancel' }, 100, 'idle', ['cancel_order']],
  ['staff_cash', { kind: 'tick' }, 3_600_000, 'staff_cash', []],
  ['code_wait', { kind: 'payment_code_scanned', authCode: '134567890123456789' }, 100, 'code_pending', ['journal', 'pay_with_code']],
  ['code_wait', { kind: 'payment_code_scanned', authCode: '' }, 100, 'code_wait', ['log']],
  ['code_wait', { kind: 'back' }, 100, 'review', ['show']],
  ['code_wait', { kind: 'cancel' }, 100, 'idle', ['cancel_order']],
  ['code_wait', { kind: 'tick' }, 60_000, 'idle', ['cancel_order']],
  ['code_pending', (id) => ({ kind: 'payment_update', attemptId: id, status: 'paid', amountFen: 8000 }), 100, 'recording', ['journal', 'record_sale']],
  ['code_pending', (id) => ({ kind: 'payment_update', attemptId: id, status: 'pending' }), 100, 'code_pending', ['show']],
  ['code_pending', (id) => ({ kind: 'payment_update', attemptId: id, status: 'failed' }), 100, 'closing', ['journal', 'close_payment']],
  ['code_pending', { kind: 'payment_update', attemptId: 'other', status: 'paid', amountFen: 8000 }, 100, 'code_pending', ['log']],
  ['code_pending', { kind: 'tick' }, 3_000, 'code_pending', ['query_payment']],
  ['code_pending', { kind: 'tick' }, 30_000, 'closing', ['journal', 'close_payment']],
  ['code_pending', { kind: 'cancel' }, 100, 'closing', ['journal', 'close_payment']],
  ['code_pending', { kind: 'note_held', valueFen: 5000 }, 100, 'code_pending', ['return_note']],
  ['qr', (id) => ({ kind: 'qr_ready', attemptId: id, codeUrl: 'https://qr.alipay.com/x' }), 100, 'qr', ['show']],
  ['qr', (id) => ({ kind: 'qr_failed', attemptId: id }), 100, 'closing', ['close_payment']],
  ['qr', (id) => ({ kind: 'payment_update', attemptId: id, status: 'paid', amountFen: 8000 }), 100, 'recording', ['record_sale']],
  ['qr', { kind: 'tick' }, 120_000, 'closing', ['close_payment']],
  ['qr', { kind: 'cancel' }, 100, 'closing', ['close_payment']],
  ['closing', (id) => ({ kind: 'payment_closed', attemptId: id, outcome: 'closed' }), 100, 'idle', ['journal', 'cancel_order']],
  ['closing', (id) => ({ kind: 'payment_closed', attemptId: id, outcome: 'paid', amountFen: 8000 }), 100, 'refunding', ['journal', 'refund_payment']],
  ['closing', (id) => ({ kind: 'payment_close_failed', attemptId: id }), 100, 'closing', []],
  ['closing', { kind: 'tick' }, 10_000, 'closing', ['close_payment']],
  ['closing', (id) => ({ kind: 'payment_update', attemptId: id, status: 'paid', amountFen: 8000 }), 100, 'closing', ['log']],
  ['change', { kind: 'payout_done', paidFen: 2000 }, 100, 'recording', ['journal', 'record_sale']],
  ['change', { kind: 'payout_done', paidFen: 0 }, 100, 'recording', ['print_slip', 'alert_staff', 'record_sale']],
  ['change', { kind: 'cancel' }, 100, 'change', ['show']],
  ['change', { kind: 'tick' }, 10_000, 'recording', ['print_slip', 'record_sale']],
  ['refunding', { kind: 'payout_done', paidFen: 5000 }, 100, 'idle', ['journal', 'cancel_order']],
  ['refunding', { kind: 'payout_done', paidFen: 3000 }, 100, 'owed', ['print_slip', 'alert_staff']],
  ['refunding', { kind: 'cancel' }, 100, 'refunding', ['show']],
  ['owed', { kind: 'staff_resolve', staffId: 'li' }, 100, 'idle', ['journal']],
  ['owed', { kind: 'tick' }, 300_000, 'idle', ['journal']],
  ['owed', { kind: 'start', saleId: 'n', today: TODAY }, 100, 'owed', ['log']],
  ['recording', { kind: 'sale_recorded', codes: ['ST1:q'] }, 100, 'printing', ['journal', 'print_ticket']],
  ['recording', { kind: 'sale_recorded', codes: [] }, 100, 'recording', ['log']],
  ['recording', { kind: 'sale_record_failed' }, 100, 'recording', []],
  ['recording', { kind: 'tick' }, 10_000, 'recording', ['record_sale']],
  ['recording', { kind: 'cancel' }, 100, 'recording', ['show']],
  ['printing', { kind: 'print_result', ok: true }, 100, 'done', ['journal', 'show']],
  ['printing', { kind: 'print_result', ok: false, fault: 'jam' }, 100, 'print_failed', ['journal', 'alert_staff']],
  ['printing', { kind: 'tick' }, 10_000, 'print_failed', ['alert_staff']],
  ['printing', { kind: 'cancel' }, 100, 'printing', ['show']],
  ['print_failed', { kind: 'printer_status', ready: true }, 100, 'printing', ['print_ticket']],
  ['print_failed', { kind: 'reprint' }, 100, 'print_failed', ['show']],
  ['print_failed', { kind: 'staff_resolve', staffId: 'li' }, 100, 'idle', ['journal']],
  ['print_failed', { kind: 'tick' }, 3_600_000, 'print_failed', []],
  ['print_failed', { kind: 'start', saleId: 'n', today: TODAY }, 100, 'print_failed', ['log']],
  ['done', { kind: 'tick' }, 10_000, 'idle', ['show']],
  ['done', { kind: 'tick' }, 9_999, 'done', []],
  ['done', { kind: 'start', saleId: 'n', today: TODAY }, 100, 'choosing', ['request_availability']],
  ['staff_refund', { kind: 'refund_result', ok: true }, 100, 'idle', ['journal', 'show']],
  ['staff_refund', { kind: 'tick' }, 600_000, 'staff_refund', []],
];

describe('(state × event) → next state', () => {
  it('the table names every phase', () => {
    expect(new Set(TABLE.map((r) => r[0]))).toEqual(new Set(PHASES));
  });

  it.each(TABLE.map((r, i) => [i, ...r] as const))('#%i %s + %o (+%i ms) → %s', (_i, from, body, advance, to, kinds) => {
    const d = reach(from);
    expect(d.phase).toBe(from);
    const ev = typeof body === 'function' ? body(d.state.sale?.attempt?.id ?? '') : body;
    d.send(ev, advance);
    expect(d.phase).toBe(to);
    const got = d.last.map((e) => e.kind);
    for (const k of kinds) expect(got).toContain(k);
    if (d.state.sale) expect(moneyProblems(d.state.sale.money, false)).toEqual([]);
  });
});

/** One event of every kind, with valid-looking fields, for the all-pairs sweep. */
function everyEvent(attemptId: string): Body[] {
  return [
    { kind: 'start', saleId: 'n', today: TODAY },
    { kind: 'choose_type', typeId: 'adult' },
    { kind: 'choose_date', date: TODAY },
    { kind: 'choose_slot', slotId: 'pm' },
    { kind: 'set_count', count: 2 },
    { kind: 'confirm' },
    { kind: 'back' },
    { kind: 'cancel' },
    { kind: 'availability', availability: green() },
    { kind: 'availability_failed' },
    { kind: 'id_card_read', name: '张三', idNumber: ID },
    { kind: 'id_typed', name: '张三', idNumber: ID },
    { kind: 'id_card_removed' },
    { kind: 'remove_visitor', index: 0 },
    { kind: 'quote', quote: QUOTE },
    { kind: 'quote_failed' },
    { kind: 'choose_method', method: 'qr' },
    { kind: 'order_placed', orderId: 'o2' },
    { kind: 'order_refused', reason: 'id_limit', visitor: 0 },
    { kind: 'note_held', valueFen: 5000 },
    { kind: 'note_stacked', valueFen: 5000 },
    { kind: 'note_returned', valueFen: 5000 },
    { kind: 'note_rejected' },
    { kind: 'bill_fault', fault: 'jam' },
    { kind: 'payout_done', paidFen: 100 },
    { kind: 'hopper_status', coins: [{ valueFen: 100, count: 3 }] },
    { kind: 'printer_status', ready: false, fault: 'paper_out' },
    { kind: 'validator_status', ready: false },
    { kind: 'network_status', online: false },
    { kind: 'payment_code_scanned', authCode: '134567890123456789' },
    { kind: 'qr_ready', attemptId, codeUrl: 'u' },
    { kind: 'qr_failed', attemptId },
    { kind: 'payment_update', attemptId, status: 'paid', amountFen: 8000 },
    { kind: 'payment_closed', attemptId, outcome: 'refunded' },
    { kind: 'payment_close_failed', attemptId },
    { kind: 'refund_result', ok: false },
    { kind: 'sale_recorded', codes: ['ST1:z'] },
    { kind: 'sale_record_failed' },
    { kind: 'print_result', ok: true },
    { kind: 'print_result', ok: false, fault: 'offline' },
    { kind: 'reprint' },
    { kind: 'tick' },
    { kind: 'staff_login', staffId: 'zhao' },
    { kind: 'staff_logout' },
    { kind: 'staff_resolve', staffId: 'zhao' },
    { kind: 'staff_refund', orderId: 'o3', reasonCode: 'weather' },
    { kind: 'cash_tendered', amountFen: 10000 },
    { kind: 'no_such_event' } as unknown as Body,
  ];
}

describe('every phase × every event kind', () => {
  it.each(PHASES.map((p) => [p]))('%s: no event throws, the result is a state the machine knows, money stays consistent', (phase) => {
    const base = reach(phase);
    for (const body of everyEvent(base.state.sale?.attempt?.id ?? 'a')) {
      for (const advance of [1, 3_600_000]) {
        const frozen = structuredClone(base.state);
        const r = step(base.state, { ...body, at: base.now + advance } as SaleEvent, base.ctx);
        expect(base.state).toEqual(frozen); // pure: the input is not changed
        expect(PHASES).toContain(r.state.phase);
        expect(r.state.phase === 'idle' || r.state.phase === 'staff_refund' || r.state.sale !== undefined).toBe(true);
        if (r.state.sale) expect(moneyProblems(r.state.sale.money, false), `${phase} + ${body.kind}`).toEqual([]);
        for (const e of r.effects) {
          if (e.kind === 'show') expect(SALE_TEXT.en[e.notice.key]).toBeTruthy();
          if (e.kind === 'print_ticket') expect(r.state.sale?.money.recorded).toBe(true);
        }
      }
    }
  });

  it('an event a phase does not take is ignored with a logged reason, and an unknown one is named so', () => {
    const d = reach('printing');
    d.send({ kind: 'choose_type', typeId: 'adult' });
    expect(d.last).toEqual([{ kind: 'log', level: 'warn', reason: 'not_in_this_phase', event: 'choose_type', phase: 'printing' }]);
    d.send({ kind: 'bogus' } as unknown as Body);
    expect(d.last[0]).toMatchObject({ kind: 'log', reason: 'unknown_event' });
    const r = step(d.state, null as unknown as SaleEvent, KIOSK);
    expect(r.effects[0]).toMatchObject({ reason: 'malformed_event' });
    expect(r.state.phase).toBe('printing');
  });

  it('window mode has no idle timeout in any phase before payment', () => {
    for (const phase of ['choosing', 'identifying', 'review', 'code_wait'] as const) {
      const d = reach(phase, WINDOW);
      expect(d.phase).toBe(phase);
      d.tick(3_600_000);
      expect(d.phase).toBe(phase);
    }
  });
});
