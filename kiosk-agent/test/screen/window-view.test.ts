/**
 * The staff window page's pure parts: its view of the sale (the window's ways to pay, the
 * amount to collect while cash is typed in), the typed tender and its change, the inputs the
 * API takes and refuses, and its text table in both languages.
 */
import { describe, expect, it } from 'vitest';
import { idNumber, reach, toIdentifying, toReview, Driver, WINDOW } from '../sale/helpers.js';
import { WINDOW_TEXT, parseYuan, tenderCheck, windowText } from '../../src/screen/window-text.js';
import { LoginSchema, LookupSchema, RefundSchema, SaleInputSchema, windowView } from '../../src/screen/window-view.js';

const view = (d: Driver) => windowView(d.state, { sale: d.ctx }, d.now);

describe('windowView', () => {
  it('offers cash typed in and a payment code on review, never the kiosk note validator or QR', () => {
    const d = new Driver(WINDOW).send({ kind: 'staff_login', staffId: 'wang' });
    const v = view(toReview(d));
    expect(v.screen).toBe('review');
    expect(v.methods).toEqual([
      { method: 'staff_cash', enabled: true },
      { method: 'code', enabled: true },
    ]);
    expect(v.order).toMatchObject({ total: '¥80', count: 1, persons: 1 });
  });

  it('shows what to collect and the order while cash is typed in', () => {
    const v = view(reach('staff_cash'));
    expect(v.phase).toBe('staff_cash');
    expect(v.collect).toEqual({ totalFen: 8000, total: '¥80' });
    expect(v.order).toMatchObject({ date: '2026-05-01', total: '¥80' });
    expect(v.notice).toMatchObject({ key: 'staff_cash_enter', vars: { total: '¥80' } });
  });

  it('never carries a full ID number', () => {
    const d = new Driver(WINDOW).send({ kind: 'staff_login', staffId: 'wang' });
    toIdentifying(d, 2).send({ kind: 'id_card_read', name: '张三', idNumber: idNumber(7) });
    const json = JSON.stringify(view(d));
    expect(view(d).identify?.visitors).toHaveLength(1);
    expect(json).not.toContain(idNumber(7));
    expect(json).toContain(idNumber(7).slice(-4));
  });
});

describe('the typed tender', () => {
  it('reads yuan with up to two decimals, nothing else', () => {
    expect(parseYuan('100')).toBe(10000);
    expect(parseYuan(' ¥100.5 ')).toBe(10050);
    expect(parseYuan('0.05')).toBe(5);
    for (const bad of ['', 'abc', '100.555', '-5', '1e3', '100,00', '1234567']) expect(parseYuan(bad)).toBeUndefined();
  });

  it('gives the change, or why the amount cannot be taken', () => {
    expect(tenderCheck('100', 8000)).toEqual({ ok: true, tenderedFen: 10000, changeFen: 2000 });
    expect(tenderCheck('80', 8000)).toEqual({ ok: true, tenderedFen: 8000, changeFen: 0 });
    expect(tenderCheck('79.99', 8000)).toEqual({ ok: false, why: 'tender_short' });
    expect(tenderCheck('eighty', 8000)).toEqual({ ok: false, why: 'tender_bad' });
  });
});

describe('the window API inputs', () => {
  it('takes the window sale steps and refuses the kiosk-only and device ones', () => {
    expect(SaleInputSchema.safeParse({ kind: 'choose_method', method: 'staff_cash' }).success).toBe(true);
    expect(SaleInputSchema.safeParse({ kind: 'tender', amountFen: 10000 }).success).toBe(true);
    for (const bad of [
      { kind: 'choose_method', method: 'cash' },
      { kind: 'choose_method', method: 'qr' },
      { kind: 'tender', amountFen: 100.5 },
      { kind: 'tender', amountFen: -1 },
      { kind: 'note_stacked', valueFen: 10000 },
      { kind: 'payment_update', status: 'paid' },
      { kind: 'staff_login', staffId: 'wang' },
      { kind: 'cash_tendered', amountFen: 10000 },
      { kind: 'start', extra: 1 },
    ])
      expect(SaleInputSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });

  it('checks logins, lookups and refunds', () => {
    expect(LoginSchema.safeParse({ staffId: 'wang', pin: '2468' }).success).toBe(true);
    expect(LoginSchema.safeParse({ staffId: 'wang', pin: '24' }).success).toBe(false);
    expect(LoginSchema.safeParse({ staffId: '', pin: '2468' }).success).toBe(false);
    expect(LookupSchema.safeParse({}).success).toBe(true);
    expect(LookupSchema.safeParse({ idNumber: idNumber(1) }).success).toBe(true);
    expect(LookupSchema.safeParse({ idNumber: '12345' }).success).toBe(false);
    expect(RefundSchema.safeParse({ orderId: 'o1' }).success).toBe(false);
  });
});

describe('WINDOW_TEXT', () => {
  it('has the same keys and placeholders in both languages', () => {
    const zh = WINDOW_TEXT['zh-CN'];
    const en = WINDOW_TEXT.en;
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    const holes = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const k of Object.keys(zh) as (keyof typeof zh)[]) expect(holes(en[k]), k).toEqual(holes(zh[k]));
  });

  it('fills placeholders', () => {
    expect(windowText('zh-CN', 'change', { change: '¥20' })).toBe('找零 ¥20');
    expect(windowText('en', 'err_locked_out', { seconds: 60 })).toBe('Too many wrong PINs: locked out for 60 s');
  });
});
