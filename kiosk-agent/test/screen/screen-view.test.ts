/**
 * The touchscreen's view model (src/screen/view.ts) and its touches (src/screen/input.ts), as
 * pure functions of the sale machine's state: every phase has a screen and a guide, the
 * refusals show the machine's words with the right tone, the countdowns count, and no full
 * ID number ever reaches the screen, over random event sequences from every phase.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SaleEvent } from '../../src/sale/events.js';
import { step } from '../../src/sale/machine.js';
import { initialState, PHASES, type Phase, type SaleContext, type SaleState } from '../../src/sale/model.js';
import { SALE_TEXT } from '../../src/sale/text.js';
import { inputAction, ScreenInputSchema } from '../../src/screen/input.js';
import { SCREEN_TEXT } from '../../src/screen/text.js';
import { maskName, SCREEN_OF, screenView, TONE_OF, type ScreenView } from '../../src/screen/view.js';
import { context, Driver, green, idNumber, KIOSK, reach, T0, toReview, TODAY } from '../sale/helpers.js';

const view = (d: Driver, ctx: SaleContext = d.ctx, now = d.now): ScreenView => screenView(d.state, { sale: ctx }, now);
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('every phase has its screen', () => {
  it.each(PHASES)('%s: a screen, a guide in both languages, no throw', (phase: Phase) => {
    const d = reach(phase);
    expect(d.phase).toBe(phase);
    const v = view(d);
    expect(v.screen).toBe(SCREEN_OF[phase]);
    expect(v.phase).toBe(phase);
    expect(SCREEN_TEXT['zh-CN'][v.guide]).toBeTruthy();
    expect(SCREEN_TEXT.en[v.guide]).toBeTruthy();
    if (v.notice) expect(SALE_TEXT.en[v.notice.key]).toBeTruthy();
  });

  it('the choices, the order, the money and the QR code are on the screens that use them', () => {
    expect(view(reach('choosing')).choose?.types.map((t) => [t.id, t.price, t.persons])).toEqual([
      ['adult', '¥80', 1],
      ['family', '¥180', 3],
    ]);
    const ident = view(reach('identifying'));
    expect(ident.identify).toEqual({ index: 1, total: 1, visitors: [] });
    const review = view(reach('review'));
    expect(review.order).toMatchObject({ date: TODAY, count: 1, persons: 1, total: '¥80', type: { en: 'Adult' } });
    expect(review.methods).toEqual([
      { method: 'cash', enabled: true },
      { method: 'code', enabled: true },
      { method: 'qr', enabled: true },
    ]);
    const cash = reach('cash').send({ kind: 'note_held', valueFen: 5000 }).send({ kind: 'note_stacked', valueFen: 5000 });
    expect(view(cash).cash).toEqual({ total: '¥80', paidIn: '¥50', due: '¥30' });
    const change = view(reach('change'));
    expect(change.cash).toMatchObject({ paidIn: '¥100', change: '¥20' });
    const qr = reach('qr');
    qr.send({ kind: 'qr_ready', attemptId: qr.attemptId, codeUrl: 'weixin://wxpay/bizpayurl?pr=abc' });
    expect(view(qr).qr).toEqual({ url: 'weixin://wxpay/bizpayurl?pr=abc' });
    expect(view(reach('print_failed'))).toMatchObject({ reprint: true, notice: { key: 'paper_out', tone: 'error' } });
    expect(view(reach('done')).notice).toEqual({ key: 'take_ticket', tone: 'ok' });
  });
});

describe('refusals and faults in the machine\'s words', () => {
  it('orange: the reserve and what is left, in orange; red: sales stopped, in red, no going on', () => {
    const d = reach('choosing').send({ kind: 'availability', availability: { ...green(), level: 'orange', remaining: 12 } });
    const orange = view(d);
    expect(orange.banners).toContainEqual({ key: 'capacity_orange_kiosk', vars: { remaining: 12 }, tone: 'warn' });
    expect(orange.choose).toMatchObject({ level: 'orange', remaining: 12, canConfirm: false });
    d.send({ kind: 'choose_type', typeId: 'adult' }).send({ kind: 'choose_slot', slotId: 'am' });
    expect(view(d).choose?.canConfirm).toBe(true);
    d.send({ kind: 'availability', availability: { ...green(), level: 'red', remaining: 0 } });
    const red = view(d);
    expect(red.banners).toContainEqual({ key: 'capacity_red', tone: 'error' });
    expect(red.choose?.canConfirm).toBe(false);
  });

  it('the network down: cash only, payment codes and the QR code off with the reason', () => {
    const d = reach('review').send({ kind: 'network_status', online: false });
    const v = view(d);
    expect(v.banners).toContainEqual({ key: 'offline_cash_only', tone: 'warn' });
    expect(v.methods).toEqual([
      { method: 'cash', enabled: true },
      { method: 'code', enabled: false, why: 'offline_cash_only' },
      { method: 'qr', enabled: false, why: 'offline_cash_only' },
    ]);
  });

  it('no coins in the hopper: exact change only, on the review and cash screens', () => {
    const d = new Driver(KIOSK, initialState(T0, { coins: [] }));
    toReview(d);
    expect(view(d).banners).toContainEqual({ key: 'exact_change_only', tone: 'warn' });
    d.send({ kind: 'choose_method', method: 'cash' }).send({ kind: 'order_placed', orderId: 'o1' });
    d.send({ kind: 'note_held', valueFen: 10000 });
    const v = view(d);
    expect(v.banners.map((b) => b.key)).toContain('exact_change_only');
    expect(v.notice).toEqual({ key: 'no_change', vars: { change: '¥20' }, tone: 'warn' });
  });

  it('a rejected note, a bill jam, a payment timeout: each its own word and tone', () => {
    expect(view(reach('cash').send({ kind: 'note_rejected' })).notice).toEqual({ key: 'note_rejected', tone: 'warn' });
    // A jam with nothing paid in: the sale ends, staff are called, and the screen says so.
    expect(view(reach('cash').send({ kind: 'bill_fault', fault: 'jam' }))).toMatchObject({ screen: 'welcome', notice: { key: 'staff_called', tone: 'warn' } });
    const code = reach('code_pending');
    code.tick(KIOSK.config.codeTimeoutMs);
    code.send({ kind: 'payment_closed', attemptId: code.state.sale!.attempt!.id, outcome: 'closed' });
    expect(view(code)).toMatchObject({ screen: 'review', notice: { key: 'payment_timeout', tone: 'warn' } });
  });

  it('the printer out of paper before a sale: out of service on the welcome screen', () => {
    const d = new Driver(KIOSK).send({ kind: 'printer_status', ready: false, fault: 'paper_out' });
    expect(view(d)).toMatchObject({ screen: 'welcome', outOfService: true, notice: { key: 'out_of_service', tone: 'error' } });
  });

  it('the word a sale ended with stays on the welcome screen for a few seconds, then goes', () => {
    const d = reach('choosing').send({ kind: 'cancel' });
    expect(view(d).notice?.key).toBe('cancelled');
    expect(view(d, d.ctx, d.now + 9000).notice).toBeUndefined();
  });

  it('every word of the machine has a tone, both tables have the same keys and placeholders', () => {
    expect(Object.keys(TONE_OF).sort()).toEqual(Object.keys(SALE_TEXT.en).sort());
    for (const k of Object.keys(SCREEN_TEXT['zh-CN']) as (keyof (typeof SCREEN_TEXT)['en'])[]) {
      expect(placeholders(SCREEN_TEXT.en[k]), k).toEqual(placeholders(SCREEN_TEXT['zh-CN'][k]));
    }
    expect(placeholders(SALE_TEXT.en.exact_change_only)).toEqual(placeholders(SALE_TEXT['zh-CN'].exact_change_only));
  });
});

describe('countdowns', () => {
  it('the idle countdown shows in the last 20 s before the timeout and counts down; a touch takes it away', () => {
    const d = reach('identifying');
    const idle = KIOSK.config.idleMs;
    expect(view(d).countdown).toBeUndefined();
    expect(view(d, d.ctx, d.state.lastInputAt + idle - 20_000).countdown).toEqual({ kind: 'idle', seconds: 20 });
    expect(view(d, d.ctx, d.state.lastInputAt + idle - 4_500).countdown).toEqual({ kind: 'idle', seconds: 5 });
    // "I'm still here": the touch the screen sends in this phase renews the timer.
    d.now = d.state.lastInputAt + idle - 3000;
    const a = inputAction({ kind: 'stay' }, d.state);
    expect(a.kind).toBe('event');
    d.send((a as { event: Parameters<Driver['send']>[0] }).event, 0);
    expect(d.phase).toBe('identifying');
    expect(view(d).countdown).toBeUndefined();
  });

  it.each(['choosing', 'identifying', 'review', 'code_wait'] as const)('"still here" in %s keeps the sale where it is', (phase) => {
    const d = reach(phase);
    const before = d.state.sale;
    d.now += KIOSK.config.idleMs - 1000;
    const a = inputAction({ kind: 'stay' }, d.state);
    if (a.kind === 'event') d.send(a.event as Parameters<Driver['send']>[0], 0);
    expect(d.phase).toBe(phase);
    expect(d.state.sale?.count).toBe(before?.count);
    d.tick(2000);
    expect(d.phase).toBe(phase);
  });

  it('the QR code counts down to its timeout, the done screen to the start', () => {
    const qr = reach('qr');
    expect(view(qr, qr.ctx, qr.now + 20_000).countdown).toEqual({ kind: 'pay', seconds: KIOSK.config.qrTimeoutMs / 1000 - 20 });
    const done = reach('done');
    expect(view(done).countdown).toEqual({ kind: 'done', seconds: KIOSK.config.doneMs / 1000 });
  });

  it('the window (staffed) has no idle countdown', () => {
    const d = reach('identifying', context({ mode: 'window', methods: ['staff_cash', 'code'] }));
    expect(view(d, d.ctx, d.now + 3_600_000).countdown).toBeUndefined();
  });
});

describe('no ID number reaches the screen', () => {
  const IDS = Array.from({ length: 8 }, (_, i) => idNumber(300 + i));
  type Body = Parameters<Driver['send']>[0];
  const event: fc.Arbitrary<Body> = fc.oneof(
    fc.constantFrom<Body>({ kind: 'confirm' }, { kind: 'back' }, { kind: 'tick' }, { kind: 'cancel' }, { kind: 'id_card_removed' }, { kind: 'quote_failed' }, { kind: 'print_result', ok: true }),
    fc.record({ kind: fc.constant('id_card_read' as const), name: fc.constantFrom('张三', '欧阳娜娜', 'Li'), idNumber: fc.constantFrom(...IDS) }),
    fc.record({ kind: fc.constant('id_typed' as const), name: fc.constantFrom('王五'), idNumber: fc.constantFrom(...IDS, `${IDS[0]!.slice(0, 17)}0`) }),
    fc.record({ kind: fc.constant('set_count' as const), count: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constant('choose_type' as const), typeId: fc.constantFrom('adult', 'family') }),
    fc.record({ kind: fc.constant('remove_visitor' as const), index: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant('choose_method' as const), method: fc.constantFrom('cash' as const, 'code' as const, 'qr' as const) }),
    fc.record({ kind: fc.constant('order_placed' as const), orderId: fc.constant('o1') }),
    fc.record({ kind: fc.constant('order_refused' as const), reason: fc.constantFrom('id_limit' as const, 'capacity' as const), visitor: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('availability' as const), availability: fc.constantFrom(green(), { ...green(), level: 'orange' as const, remaining: 3 }) }),
    fc.integer({ min: 1, max: 3 }).map((count): Body => ({ kind: 'quote', quote: { typeId: 'adult', date: TODAY, slotId: 'am', count, unitFen: 8000, baseFen: 8000, discounts: [] } })),
  );

  it('random sales from every phase: the view never holds a full ID number (600 runs)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PHASES), fc.array(event, { maxLength: 30 }), (phase, events) => {
        const d = reach(phase);
        for (const e of events) {
          const before: SaleState = d.state;
          d.send(e, 200);
          expect(step(before, { ...e, at: d.now } as SaleEvent, d.ctx).state.phase).toBe(d.phase);
          const json = JSON.stringify(view(d));
          for (const id of IDS) if (json.includes(id) || json.includes(id.slice(0, 14))) expect.fail(`an ID number on screen in ${d.phase}: ${json}`);
          expect(json).not.toMatch(/\d{15}/);
        }
      }),
      { numRuns: 600 },
    );
  });

  it('visitors show as a masked name and the masked number', () => {
    const two = new Driver(KIOSK);
    two.send({ kind: 'start', saleId: 's', today: TODAY }).send({ kind: 'availability', availability: green() });
    two.send({ kind: 'choose_type', typeId: 'adult' }).send({ kind: 'choose_slot', slotId: 'am' }).send({ kind: 'set_count', count: 2 }).send({ kind: 'confirm' });
    two.send({ kind: 'id_card_read', name: '欧阳娜娜', idNumber: IDS[0]! });
    expect(view(two).identify).toEqual({ index: 2, total: 2, visitors: [{ name: '欧***', id: `**************${IDS[0]!.slice(-4)}` }] });
    expect(maskName('张三')).toBe('张*');
  });
});

describe('touches', () => {
  it('takes the screen\'s touches and refuses anything else: money, payment results, staff, extra fields', () => {
    for (const ok of [{ kind: 'start' }, { kind: 'choose_method', method: 'qr' }, { kind: 'id_typed', name: '张三', idNumber: idNumber(1) }, { kind: 'set_count', count: 2 }, { kind: 'stay' }]) {
      expect(ScreenInputSchema.safeParse(ok).success, JSON.stringify(ok)).toBe(true);
    }
    for (const bad of [
      { kind: 'note_stacked', valueFen: 10000 },
      { kind: 'payment_update', attemptId: 'a', status: 'paid' },
      { kind: 'sale_recorded', codes: ['ST1:x'] },
      { kind: 'staff_resolve', staffId: 'x' },
      { kind: 'cash_tendered', amountFen: 1 },
      { kind: 'choose_method', method: 'staff_cash' },
      { kind: 'confirm', at: 1 },
      { kind: 'id_typed', name: '', idNumber: idNumber(1) },
      { kind: 'set_count', count: 1.5 },
      'start',
    ]) {
      expect(ScreenInputSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('start is a new sale; a touch is its event; "still here" outside a timed phase is nothing', () => {
    const idle = new Driver(KIOSK);
    expect(inputAction({ kind: 'start' }, idle.state)).toEqual({ kind: 'start' });
    expect(inputAction({ kind: 'choose_date', date: TODAY }, idle.state)).toEqual({ kind: 'event', event: { kind: 'choose_date', date: TODAY } });
    expect(inputAction({ kind: 'stay' }, reach('cash').state)).toEqual({ kind: 'none' });
  });
});
