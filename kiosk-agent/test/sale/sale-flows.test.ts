import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../src/sale/events.js';
import { cashPending, isPaid, moneyProblems } from '../../src/sale/money.js';
import { initialState } from '../../src/sale/model.js';
import { recover } from '../../src/sale/recover.js';
import { saleText } from '../../src/sale/text.js';
import { context, Driver, green, idNumber, KIOSK, SEEN_IDS, T0, toIdentifying, toPayment, toPrinting, toReview, TODAY, WINDOW } from './helpers.js';

const kinds = (entries: JournalEntry[]) => entries.map((e) => e.kind);

describe('a cash sale at the kiosk', () => {
  it('sells two adult tickets for ¥160 paid with ¥100 + ¥100, pays ¥40 change, records, prints, and goes back to the start', () => {
    const d = toReview(new Driver(), 2);
    expect(d.phase).toBe('review');
    expect(saleText('en', d.state.notice!.key, d.state.notice!.vars)).toBe('To pay: ¥160. Choose how to pay');
    d.send({ kind: 'choose_method', method: 'cash' });
    const order = d.lastOf('place_order')!;
    expect(order).toMatchObject({ typeId: 'adult', count: 2, persons: 2, unitFen: 8000, totalFen: 16000, slotId: 'am' });
    expect(order.visitors.map((v) => v.idNumber)).toEqual([idNumber(100), idNumber(101)]);
    d.send({ kind: 'order_placed', orderId: 'o1' });
    expect(d.phase).toBe('cash');
    expect(d.lastOf('validator')).toEqual({ kind: 'validator', enable: true, notesFen: [500, 1000, 2000, 5000, 10000] });
    // The order holds the places: only masked numbers are left.
    expect(d.state.sale!.visitors.map((v) => v.idNumber)).toEqual([undefined, undefined]);
    expect(d.state.sale!.visitors[0]!.idMasked).toBe(`**************${idNumber(100).slice(14)}`);

    d.send({ kind: 'note_held', valueFen: 10000 });
    expect(d.last.map((e) => e.kind)).toEqual(['journal', 'accept_note']);
    d.send({ kind: 'note_stacked', valueFen: 10000 });
    expect(saleText('zh-CN', d.state.notice!.key, d.state.notice!.vars)).toBe('请投入纸币：还需支付 ¥60');
    d.send({ kind: 'note_held', valueFen: 10000 }).send({ kind: 'note_stacked', valueFen: 10000 });
    expect(d.phase).toBe('change');
    expect(d.lastOf('pay_out')).toEqual({ kind: 'pay_out', amountFen: 4000, purpose: 'change' });
    d.send({ kind: 'payout_done', paidFen: 4000 });
    expect(d.phase).toBe('recording');
    expect(d.lastOf('record_sale')).toMatchObject({ orderId: 'o1', paidBy: 'cash', amountFen: 16000 });
    d.send({ kind: 'sale_recorded', codes: ['ST1:a', 'ST1:b'] });
    expect(d.phase).toBe('printing');
    expect(d.lastOf('print_ticket')!.ticket).toMatchObject({ codes: ['ST1:a', 'ST1:b'], persons: 2, totalFen: 16000, copy: 1, changeOwedFen: 0 });
    d.send({ kind: 'print_result', ok: true });
    expect(d.phase).toBe('done');
    d.tick(9_000);
    expect(d.phase).toBe('done');
    d.tick(1_000);
    expect(d.phase).toBe('idle');
    expect(d.state.sale).toBeUndefined();

    const m = d.journal.filter((e) => e.saleId === order.saleId);
    expect(kinds(m)).toEqual([
      'sale_started', 'order_placed', 'note_accept', 'note_stacked', 'note_accept', 'note_stacked', 'cash_paid', 'payout_started', 'payout_done',
      'sale_recorded', 'printed', 'sale_closed',
    ]);
    const journalText = JSON.stringify(d.journal) + JSON.stringify(d.effects.filter((e) => e.kind !== 'place_order'));
    for (const id of SEEN_IDS) expect(journalText).not.toContain(id);
  });

  it('returns a note from escrow when the hopper cannot pay the change, before taking it, and says so', () => {
    const d = toPayment(new Driver(KIOSK, initialState(T0, { coins: [{ valueFen: 100, count: 5 }] })), 'cash');
    d.send({ kind: 'note_held', valueFen: 10000 });
    expect(d.last.map((e) => e.kind)).toEqual(['return_note', 'show']);
    expect(saleText('en', d.state.notice!.key, d.state.notice!.vars)).toBe('Not enough coins for ¥20 change: note returned, please use a smaller note');
    d.send({ kind: 'note_returned', valueFen: 10000 });
    expect(d.state.sale!.money.cashInFen).toBe(0);
    // ¥50 + ¥20 + ¥10 is exact: taken.
    for (const v of [5000, 2000, 1000]) d.send({ kind: 'note_held', valueFen: v }).send({ kind: 'note_stacked', valueFen: v });
    expect(d.phase).toBe('recording');
    expect(d.journal.some((e) => e.kind === 'payout_started')).toBe(false);
  });

  it('refuses a note the kiosk does not take (¥1)', () => {
    const d = toPayment(new Driver(), 'cash');
    d.send({ kind: 'note_held', valueFen: 100 });
    expect(d.has('return_note')).toBe(true);
    expect(d.state.notice?.key).toBe('note_not_accepted');
    d.send({ kind: 'note_returned', valueFen: 100 });
    expect(d.state.sale!.held).toBeUndefined();
  });

  it('a new note in escrow while a stack is unanswered counts the earlier note in (its answer was lost), never short', () => {
    const d = toPayment(new Driver(), 'cash');
    d.send({ kind: 'note_held', valueFen: 5000 });
    d.send({ kind: 'note_held', valueFen: 5000 });
    expect(d.journal.at(-2)).toMatchObject({ kind: 'note_unconfirmed', valueFen: 5000 });
    expect(d.state.sale!.money).toMatchObject({ cashInFen: 5000, acceptingFen: 5000 });
    expect(d.has('accept_note')).toBe(true);
  });

  it('cancel after ¥50 went in pays it back from the hopper and ends the sale, releasing the order', () => {
    const d = toPayment(new Driver(), 'cash');
    d.send({ kind: 'note_held', valueFen: 5000 }).send({ kind: 'note_stacked', valueFen: 5000 });
    d.send({ kind: 'cancel' });
    expect(d.last.map((e) => e.kind)).toEqual(['validator', 'show', 'journal', 'pay_out', 'show']);
    expect(d.lastOf('pay_out')).toEqual({ kind: 'pay_out', amountFen: 5000, purpose: 'refund' });
    d.send({ kind: 'payout_done', paidFen: 5000 });
    expect(d.phase).toBe('idle');
    expect(d.has('cancel_order')).toBe(true);
    expect(d.state.notice?.key).toBe('cancelled');
  });

  it('an idle timeout with cash in gives it all back; nothing is silently kept', () => {
    const d = toPayment(new Driver(), 'cash');
    d.send({ kind: 'note_held', valueFen: 2000 }).send({ kind: 'note_stacked', valueFen: 2000 });
    d.tick(59_000);
    expect(d.phase).toBe('cash');
    d.tick(1_000);
    expect(d.phase).toBe('refunding');
    expect(d.state.sale!.ending).toBe('timeout');
    expect(d.lastOf('pay_out')).toEqual({ kind: 'pay_out', amountFen: 2000, purpose: 'refund' });
    d.send({ kind: 'payout_done', paidFen: 2000 });
    expect(d.phase).toBe('idle');
    expect(d.state.notice?.key).toBe('idle_timeout');
  });

  it('cancel with a note told to stack waits for the validator, then gives back that note too', () => {
    const d = toPayment(new Driver(), 'cash');
    d.send({ kind: 'note_held', valueFen: 2000 }).send({ kind: 'note_stacked', valueFen: 2000 });
    d.send({ kind: 'note_held', valueFen: 1000 });
    d.send({ kind: 'cancel' });
    expect(d.phase).toBe('cash');
    expect(d.has('pay_out')).toBe(false);
    d.send({ kind: 'note_stacked', valueFen: 1000 });
    expect(d.lastOf('pay_out')).toEqual({ kind: 'pay_out', amountFen: 3000, purpose: 'refund' });
    d.send({ kind: 'note_held', valueFen: 5000 });
    expect(d.last.map((e) => e.kind)).toEqual(['return_note', 'log']); // nothing more is taken after cancel
  });

  it('a hopper that cannot pay a refund leaves a recorded debt with a slip and a staff alert', () => {
    const d = toPayment(new Driver(KIOSK, initialState(T0, { coins: [{ valueFen: 100, count: 10 }] })), 'cash');
    d.send({ kind: 'note_held', valueFen: 5000 }).send({ kind: 'note_stacked', valueFen: 5000 });
    d.send({ kind: 'cancel' });
    expect(d.lastOf('pay_out')?.amountFen).toBe(1000);
    expect(d.lastOf('print_slip')).toMatchObject({ owedFen: 4000, purpose: 'refund' });
    d.send({ kind: 'payout_done', paidFen: 1000 });
    expect(d.phase).toBe('owed');
    expect(saleText('en', d.state.notice!.key, d.state.notice!.vars)).toContain('we owe you ¥40');
    d.send({ kind: 'staff_resolve', staffId: 'li' });
    expect(d.phase).toBe('idle');
    expect(d.journal.find((e) => e.kind === 'owed_settled')).toMatchObject({ amountFen: 4000, staff: 'li' });
  });

  it('a hopper that runs dry mid-change still sells the ticket, with the change owed on a slip and on the ticket', () => {
    const d = toPayment(new Driver(), 'cash');
    d.send({ kind: 'note_held', valueFen: 10000 }).send({ kind: 'note_stacked', valueFen: 10000 });
    d.send({ kind: 'payout_done', paidFen: 1500 });
    expect(d.phase).toBe('recording');
    expect(d.state.sale!.money.changeOwedFen).toBe(500);
    expect(d.has('print_slip')).toBe(true);
    d.send({ kind: 'sale_recorded', codes: ['ST1:x'] });
    expect(d.lastOf('print_ticket')!.ticket.changeOwedFen).toBe(500);
  });

  it('a bill jam with a note told to stack counts the note in and gives everything back', () => {
    const d = toPayment(new Driver(), 'cash');
    d.send({ kind: 'note_held', valueFen: 2000 }).send({ kind: 'note_stacked', valueFen: 2000 });
    d.send({ kind: 'note_held', valueFen: 5000 });
    d.send({ kind: 'bill_fault', fault: 'jam' });
    expect(d.has('alert_staff')).toBe(true);
    expect(d.lastOf('pay_out')?.amountFen).toBe(7000);
    expect(d.journal.some((e) => e.kind === 'note_unconfirmed')).toBe(true);
  });
});

describe('payment codes (micropay) and QR codes (Native/precreate)', () => {
  it('a scanned code that goes pending is queried every pollMs and sells once paid', () => {
    const d = toPayment(new Driver(), 'code');
    d.send({ kind: 'payment_code_scanned', authCode: '134567890123456789' });
    const pay = d.lastOf('pay_with_code')!;
    expect(pay).toMatchObject({ amountFen: 8000, authCode: '134567890123456789' });
    expect(d.journal.at(-1)).toMatchObject({ kind: 'provider_started', method: 'code', amountFen: 8000 });
    expect(JSON.stringify(d.journal)).not.toContain('134567890123456789');
    d.send({ kind: 'payment_update', attemptId: pay.attemptId, status: 'pending' });
    d.tick(2_000);
    expect(d.has('query_payment')).toBe(false);
    d.tick(1_000);
    expect(d.lastOf('query_payment')).toEqual({ kind: 'query_payment', attemptId: pay.attemptId });
    d.send({ kind: 'payment_update', attemptId: pay.attemptId, status: 'paid', amountFen: 8000 });
    expect(d.phase).toBe('recording');
    expect(d.lastOf('record_sale')?.paidBy).toBe('code');
  });

  it('a code left pending for 30 s is reversed, then the visitor may pay again', () => {
    const d = toPayment(new Driver(), 'code');
    d.send({ kind: 'payment_code_scanned', authCode: '28123' });
    const id = d.attemptId;
    d.tick(30_000);
    expect(d.phase).toBe('closing');
    expect(d.lastOf('close_payment')).toEqual({ kind: 'close_payment', attemptId: id, method: 'code' });
    d.send({ kind: 'payment_closed', attemptId: id, outcome: 'closed' });
    expect(d.phase).toBe('review');
    expect(d.state.notice?.key).toBe('payment_timeout');
    d.send({ kind: 'choose_method', method: 'code' });
    expect(d.phase).toBe('code_wait'); // the order is still held: no second place_order
    expect(d.has('place_order')).toBe(false);
  });

  it('a failed code is still reversed, and a late paid answer of another attempt is ignored', () => {
    const d = toPayment(new Driver(), 'code');
    d.send({ kind: 'payment_code_scanned', authCode: '28123' });
    d.send({ kind: 'payment_update', attemptId: 'other', status: 'paid', amountFen: 8000 });
    expect(d.phase).toBe('code_pending');
    d.send({ kind: 'payment_update', attemptId: d.attemptId, status: 'failed' });
    expect(d.has('close_payment')).toBe(true);
  });

  it('a paid amount that differs from the price is reversed, never sold', () => {
    const d = toPayment(new Driver(), 'code');
    d.send({ kind: 'payment_code_scanned', authCode: '28123' });
    const id = d.attemptId;
    d.send({ kind: 'payment_update', attemptId: id, status: 'paid', amountFen: 1 });
    expect(d.phase).toBe('closing');
    d.send({ kind: 'payment_closed', attemptId: id, outcome: 'refunded', amountFen: 1 });
    expect(d.phase).toBe('review');
    expect(d.state.sale!.money.providerPaidFen).toBe(1);
    expect(d.state.sale!.money.providerRefundedFen).toBe(1);
  });

  it('a QR code cancelled on screen is closed; if the close finds it paid, the money is refunded', () => {
    const d = toPayment(new Driver(), 'qr');
    const id = d.lastOf('create_qr')!.attemptId;
    d.send({ kind: 'qr_ready', attemptId: id, codeUrl: 'weixin://wxpay/bizpayurl?pr=abc' });
    expect(d.state.sale!.attempt!.codeUrl).toBe('weixin://wxpay/bizpayurl?pr=abc');
    d.send({ kind: 'cancel' });
    d.send({ kind: 'payment_closed', attemptId: id, outcome: 'paid', amountFen: 8000 });
    expect(d.phase).toBe('refunding');
    expect(d.lastOf('refund_payment')).toMatchObject({ attemptId: id, amountFen: 8000 });
    d.send({ kind: 'refund_result', ok: true });
    expect(d.phase).toBe('idle');
    expect(d.state.notice?.key).toBe('refund_done');
  });

  it('a QR code that times out but turns out paid sells the ticket', () => {
    const d = toPayment(new Driver(), 'qr');
    const id = d.lastOf('create_qr')!.attemptId;
    d.tick(120_000);
    expect(d.lastOf('close_payment')?.method).toBe('qr');
    d.send({ kind: 'payment_closed', attemptId: id, outcome: 'paid', amountFen: 8000 });
    expect(d.phase).toBe('recording');
  });

  it('closes that keep failing are retried, then left to the cloud sweep and recorded', () => {
    const d = toPayment(new Driver(KIOSK), 'qr');
    const id = d.lastOf('create_qr')!.attemptId;
    d.send({ kind: 'cancel' });
    for (let i = 1; i < 5; i++) {
      d.send({ kind: 'payment_close_failed', attemptId: id });
      d.tick(3_000);
      expect(d.has('close_payment')).toBe(true);
    }
    d.send({ kind: 'payment_close_failed', attemptId: id });
    expect(d.phase).toBe('idle');
    expect(d.journal.some((e) => e.kind === 'provider_unresolved')).toBe(true);
    expect(d.state.notice?.key).toBe('payment_unresolved');
  });

  it('offline, only cash is offered', () => {
    const d = toReview(new Driver());
    d.send({ kind: 'network_status', online: false });
    d.send({ kind: 'choose_method', method: 'qr' });
    expect(d.phase).toBe('review');
    expect(d.state.notice?.key).toBe('offline_cash_only');
  });
});

describe('capacity', () => {
  it('at orange the kiosk sells into its reserve and says how many are left; at red it sells nothing and says so', () => {
    const d = new Driver().send({ kind: 'start', saleId: 's', today: TODAY });
    d.send({ kind: 'availability', availability: { date: TODAY, level: 'orange', remaining: 12, reserve: 12, slots: [{ slotId: 'am', remaining: 12 }] } });
    expect(saleText('en', d.state.notice!.key, d.state.notice!.vars)).toContain('sells the on-site reserve, 12 visitors left');
    d.send({ kind: 'choose_type', typeId: 'adult' }).send({ kind: 'choose_slot', slotId: 'am' }).send({ kind: 'confirm' });
    expect(d.phase).toBe('identifying');
    d.send({ kind: 'availability', availability: { date: TODAY, level: 'red', remaining: 0, reserve: 0, slots: [{ slotId: 'am', remaining: 0 }] } });
    expect(d.phase).toBe('choosing');
    expect(d.state.notice?.key).toBe('capacity_red');
    d.send({ kind: 'confirm' });
    expect(d.phase).toBe('choosing');
    expect(saleText('zh-CN', d.state.notice!.key)).toBe('今日游客已满，已停止售票');
  });

  it('refuses more persons than remain for the day or the slot, and a family package counts 3 persons', () => {
    const d = new Driver().send({ kind: 'start', saleId: 's', today: TODAY });
    d.send({ kind: 'availability', availability: { date: TODAY, level: 'yellow', remaining: 4, reserve: 4, slots: [{ slotId: 'am', remaining: 2 }, { slotId: 'pm', remaining: 4 }] } });
    d.send({ kind: 'choose_type', typeId: 'family' }).send({ kind: 'choose_slot', slotId: 'am' }).send({ kind: 'confirm' });
    expect(d.state.notice).toEqual({ key: 'slot_full', vars: { remaining: 2 } });
    d.send({ kind: 'choose_slot', slotId: 'pm' }).send({ kind: 'set_count', count: 2 }).send({ kind: 'confirm' });
    expect(d.state.notice).toEqual({ key: 'not_enough_places', vars: { remaining: 4 } });
    d.send({ kind: 'set_count', count: 1 }).send({ kind: 'confirm' });
    expect(d.phase).toBe('identifying');
    expect(d.state.notice).toEqual({ key: 'tap_id_card', vars: { index: 1, total: 3 } });
  });

  it('availability for another date is ignored; a new date asks again; dates past the horizon are refused', () => {
    const d = new Driver().send({ kind: 'start', saleId: 's', today: TODAY });
    expect(d.lastOf('request_availability')).toEqual({ kind: 'request_availability', date: TODAY });
    d.send({ kind: 'choose_date', date: '2026-05-03' });
    expect(d.lastOf('request_availability')?.date).toBe('2026-05-03');
    d.send({ kind: 'availability', availability: green(TODAY) });
    expect(d.state.sale!.availability).toBeUndefined();
    d.send({ kind: 'choose_date', date: '2026-05-09' });
    expect(d.state.notice).toEqual({ key: 'date_invalid', vars: { last: '2026-05-08' } });
    d.send({ kind: 'choose_date', date: '2026-04-30' });
    expect(d.state.sale!.date).toBe('2026-05-03');
  });

  it('an order refused for capacity goes back to choosing and asks for availability again', () => {
    const d = toReview(new Driver()).send({ kind: 'choose_method', method: 'cash' });
    d.send({ kind: 'order_refused', reason: 'capacity' });
    expect(d.phase).toBe('choosing');
    expect(d.has('request_availability')).toBe(true);
  });
});

describe('real-name', () => {
  it('takes a card or a typed number, refuses bad and duplicate numbers with the reason', () => {
    const d = toIdentifying(new Driver(), 3);
    d.send({ kind: 'id_typed', name: '李四', idNumber: '110101199001011230' });
    expect(d.state.notice?.key).toBe('invalid_id_check_digit');
    d.send({ kind: 'id_typed', name: '李四', idNumber: '12345' });
    expect(d.state.notice?.key).toBe('invalid_id_format');
    d.send({ kind: 'id_typed', name: ' ', idNumber: idNumber(7) });
    expect(d.state.notice?.key).toBe('name_required');
    d.send({ kind: 'id_card_read', name: '张三', idNumber: idNumber(7) });
    d.send({ kind: 'id_typed', name: '张三', idNumber: idNumber(7).toLowerCase() });
    expect(d.state.notice?.key).toBe('duplicate_visitor');
    d.send({ kind: 'id_card_removed' });
    expect(d.state.notice?.key).toBe('card_removed');
    expect(d.state.sale!.visitors.map((v) => v.source)).toEqual(['card']);
  });

  it('an ID that already holds a ticket for the day (the edge says so when the order is placed) is taken off the sale', () => {
    const d = toReview(new Driver(), 2).send({ kind: 'choose_method', method: 'cash' });
    d.send({ kind: 'order_refused', reason: 'id_limit', visitor: 1 });
    expect(d.phase).toBe('identifying');
    expect(d.state.notice).toEqual({ key: 'id_limit_reached', vars: { limit: 1 } });
    expect(d.state.sale!.visitors).toHaveLength(1);
    d.send({ kind: 'id_card_read', name: '王五', idNumber: idNumber(9) });
    expect(d.phase).toBe('quoting');
  });

  it('an idle timeout before payment drops the sale, full ID numbers with it', () => {
    const d = toIdentifying(new Driver(), 2).send({ kind: 'id_card_read', name: '张三', idNumber: idNumber(3) });
    d.tick(59_000);
    expect(d.phase).toBe('identifying');
    d.tick(1_000);
    expect(d.phase).toBe('idle');
    expect(JSON.stringify(d.state)).not.toContain(idNumber(3));
  });
});

describe('printing', () => {
  it('paper out holds the paid ticket on screen, alerts staff, and prints copy 2 when the printer is back', () => {
    const d = toPrinting(new Driver()).send({ kind: 'print_result', ok: false, fault: 'paper_out' });
    expect(d.phase).toBe('print_failed');
    expect(d.lastOf('alert_staff')?.reason).toBe('paper_out');
    d.tick(600_000);
    expect(d.phase).toBe('print_failed'); // a paid ticket never times out to the start screen
    d.send({ kind: 'start', saleId: 'new', today: TODAY });
    expect(d.phase).toBe('print_failed');
    d.send({ kind: 'printer_status', ready: true });
    expect(d.lastOf('print_ticket')?.ticket.copy).toBe(2);
    d.send({ kind: 'print_result', ok: true });
    expect(d.phase).toBe('done');
  });

  it('staff can close a jammed sale; the codes stay in the journal for kioskctl reprint', () => {
    const d = toPrinting(new Driver()).send({ kind: 'print_result', ok: false, fault: 'jam' });
    d.send({ kind: 'reprint' });
    expect(d.state.notice?.key).toBe('staff_called');
    d.send({ kind: 'staff_resolve', staffId: 'li' });
    expect(d.phase).toBe('idle');
    expect(d.journal.find((e) => e.kind === 'sale_recorded')).toMatchObject({ codes: ['ST1:abc'] });
    expect(d.journal.find((e) => e.kind === 'print_abandoned')?.staff).toBe('li');
  });

  it('a sale that cannot be recorded is never printed and its cash goes back', () => {
    const d = toPayment(new Driver(), 'cash').send({ kind: 'note_held', valueFen: 5000 }).send({ kind: 'note_stacked', valueFen: 5000 });
    d.send({ kind: 'note_held', valueFen: 2000 }).send({ kind: 'note_stacked', valueFen: 2000 });
    d.send({ kind: 'note_held', valueFen: 1000 }).send({ kind: 'note_stacked', valueFen: 1000 });
    for (let i = 0; i < 3; i++) d.send({ kind: 'sale_record_failed' }).tick(3_000);
    expect(d.phase).toBe('refunding');
    expect(d.lastOf('pay_out') ?? d.effects.filter((e) => e.kind === 'pay_out').at(-1)).toMatchObject({ amountFen: 8000, purpose: 'refund' });
    expect(d.effects.some((e) => e.kind === 'print_ticket')).toBe(false);
  });
});

describe('the staffed window', () => {
  it('needs a staff member, never times out, takes cash by hand and names the staff member in every journal entry', () => {
    const d = new Driver(WINDOW).send({ kind: 'start', saleId: 's', today: TODAY });
    expect(d.state.notice?.key).toBe('staff_required');
    toPayment(d, 'staff_cash');
    d.tick(3_600_000);
    expect(d.phase).toBe('staff_cash');
    d.send({ kind: 'cash_tendered', amountFen: 5000 });
    expect(d.state.notice?.key).toBe('not_enough_cash');
    d.send({ kind: 'cash_tendered', amountFen: 10000 });
    expect(d.phase).toBe('recording');
    expect(d.state.sale!.money).toMatchObject({ cashInFen: 10000, keptFen: 8000, changePaidFen: 2000, paidBy: 'staff_cash' });
    expect(d.journal.every((e) => e.staff === 'wang')).toBe(true);
  });

  it('refunds an order with a reason from the catalogue; an unknown reason is refused', () => {
    const d = new Driver(WINDOW).send({ kind: 'staff_login', staffId: 'wang' });
    d.send({ kind: 'staff_refund', orderId: 'o9', reasonCode: 'nope' });
    expect(d.state.notice?.key).toBe('unknown_refund_reason');
    d.send({ kind: 'staff_refund', orderId: 'o9', reasonCode: 'weather' });
    expect(d.lastOf('refund_order')).toEqual({ kind: 'refund_order', orderId: 'o9', reasonCode: 'weather', staff: 'wang' });
    d.send({ kind: 'refund_result', ok: true });
    expect(d.phase).toBe('idle');
    expect(d.journal.map((e) => [e.kind, e.staff])).toEqual([['staff_refund', 'wang'], ['staff_refund_result', 'wang']]);
  });

  it('a kiosk refuses staff refunds', () => {
    const d = new Driver().send({ kind: 'staff_refund', orderId: 'o9', reasonCode: 'weather' });
    expect(d.phase).toBe('idle');
    expect(d.has('refund_order')).toBe(false);
  });
});

describe('power cut: recovery from the journal', () => {
  const settledAfter = (d: Driver, recovered: ReturnType<typeof recover>) => {
    const sale = recovered.state.sale;
    return { phase: recovered.state.phase, money: sale?.money, effects: recovered.effects.map((e) => e.kind), d };
  };

  it('paid and recorded but not printed: prints again on restart', () => {
    const d = toPrinting(new Driver());
    const r = recover(d.journal, d.now + 5_000, KIOSK);
    expect(r.state.phase).toBe('printing');
    const print = r.effects.find((e) => e.kind === 'print_ticket');
    expect(print && print.kind === 'print_ticket' && print.ticket).toMatchObject({ codes: ['ST1:abc'], typeId: 'adult', totalFen: 8000, copy: 1 });
  });

  it('paid but not recorded: records again (idempotent per sale), then prints', () => {
    const d = toPayment(new Driver(), 'code').send({ kind: 'payment_code_scanned', authCode: '28' });
    d.send({ kind: 'payment_update', attemptId: d.attemptId, status: 'paid', amountFen: 8000 });
    const r = recover(d.journal, d.now + 5_000, KIOSK);
    expect(r.state.phase).toBe('recording');
    expect(r.effects.some((e) => e.kind === 'record_sale')).toBe(true);
    expect(isPaid(r.state.sale!.money)).toBe(true);
  });

  it('a payment code in flight is reversed; a QR found paid on close is sold', () => {
    const d = toPayment(new Driver(), 'qr');
    const r = recover(d.journal, d.now + 5_000, KIOSK);
    expect(r.state.phase).toBe('closing');
    const again = new Driver(KIOSK, r.state, d.now + 5_000).send({ kind: 'payment_closed', attemptId: r.state.sale!.attempt!.id, outcome: 'paid', amountFen: 8000 });
    expect(again.phase).toBe('recording');
  });

  it('cash in, not yet paid: a note mid-stack counts in, all of it owed back with a slip', () => {
    const d = toPayment(new Driver(), 'cash');
    d.send({ kind: 'note_held', valueFen: 5000 }).send({ kind: 'note_stacked', valueFen: 5000 });
    d.send({ kind: 'note_held', valueFen: 2000 });
    const r = recover(d.journal, d.now + 5_000, KIOSK);
    const s = settledAfter(d, r);
    expect(s.phase).toBe('owed');
    expect(s.money!.refundOwedFen).toBe(7000);
    expect(s.effects).toContain('print_slip');
    expect(cashPending(s.money!)).toBe(0);
  });

  it('change being paid at the cut: the unconfirmed change is owed, the ticket still sells', () => {
    const d = toPayment(new Driver(), 'cash').send({ kind: 'note_held', valueFen: 10000 }).send({ kind: 'note_stacked', valueFen: 10000 });
    const r = recover(d.journal, d.now + 5_000, KIOSK);
    expect(r.state.phase).toBe('recording');
    expect(r.state.sale!.money.changeOwedFen).toBe(2000);
    expect(moneyProblems(r.state.sale!.money, true)).toEqual([]);
  });

  it('a sale with no money yet is closed and its order released; a closed journal recovers to idle', () => {
    const d = toReview(new Driver()).send({ kind: 'choose_method', method: 'cash' }).send({ kind: 'order_placed', orderId: 'o7' });
    const r = recover(d.journal, d.now + 1, KIOSK);
    expect(r.state.phase).toBe('idle');
    expect(r.effects).toContainEqual({ kind: 'cancel_order', saleId: r.saleId, orderId: 'o7' });
    expect(recover(d.journal.concat(r.effects.flatMap((e) => (e.kind === 'journal' ? [e.entry] : []))), d.now + 2, KIOSK).state.phase).toBe('idle');
  });
});

describe('configuration', () => {
  it('a park with one ticket type and no slots needs no type or slot choice', () => {
    const ctx = context({}, { ...KIOSK.catalogue, types: [KIOSK.catalogue.types[0]!], slots: [] });
    const d = new Driver(ctx).send({ kind: 'start', saleId: 's', today: TODAY });
    d.send({ kind: 'availability', availability: { date: TODAY, level: 'green', remaining: 9, reserve: 1, slots: [] } }).send({ kind: 'confirm' });
    expect(d.phase).toBe('identifying');
  });

  it('a broken printer takes the kiosk out of service before a sale starts', () => {
    const d = new Driver().send({ kind: 'printer_status', ready: false, fault: 'paper_out' }).send({ kind: 'start', saleId: 's', today: TODAY });
    expect(d.phase).toBe('idle');
    expect(d.state.notice?.key).toBe('out_of_service');
  });
});
