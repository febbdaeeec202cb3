/**
 * The daily report's reconciliation section (modules/reports/reconciliation-section.ts):
 * provider lines from a reconciliation, every mismatch, and the money that never passes a
 * provider — partner channels, and kiosks that take money themselves (cash) — as lines of
 * their own; "not reconciled yet" until the payments module has run the day.
 */
import { describe, expect, it } from 'vitest';
import type { ReconciliationResult } from '../src/core/reconciliation.js';
import { buildDailyReport, reportToCsv, reportToHtml, type ReportInput } from '../src/modules/reports/daily-report.js';

const DATE = '2027-03-10';
const at = (hhmm: string) => new Date(`${DATE}T${hhmm}:00+08:00`).toISOString();

const channels: NonNullable<ReportInput['reconciliation']>['channels'] = [
  { id: 'web', kind: 'online', payment: 'provider' },
  { id: 'kiosk-pay', kind: 'kiosk', payment: 'provider' },
  { id: 'meituan', kind: 'online', payment: 'partner', name: { 'zh-CN': '美团', en: 'Meituan' } },
  { id: 'window', kind: 'kiosk', payment: 'partner' },
];

const input = (result?: ReconciliationResult): ReportInput => ({
  site: 'park1',
  date: DATE,
  timeZone: 'Asia/Shanghai',
  currency: 'CNY',
  sales: [
    { orderId: 'W1', channel: 'web', typeId: 'adult', typeName: '成人票', persons: 1, amountFen: 8000, paidAt: at('09:00') },
    { orderId: 'M1', channel: 'meituan', typeId: 'adult', typeName: '成人票', persons: 2, amountFen: 16000, paidAt: at('09:30') },
    { orderId: 'M2', channel: 'meituan', typeId: 'adult', typeName: '成人票', persons: 1, amountFen: 8000, paidAt: at('11:00') },
    { orderId: 'C1', channel: 'window', typeId: 'adult', typeName: '成人票', persons: 1, amountFen: 8000, paidAt: at('12:00') },
    // The day before: not this report's.
    { orderId: 'M0', channel: 'meituan', typeId: 'adult', typeName: '成人票', persons: 1, amountFen: 8000, paidAt: '2027-03-09T10:00:00.000Z' },
  ],
  refunds: [{ orderId: 'M1', channel: 'meituan', amountFen: 16000, reason: 'weather', at: at('15:00') }],
  entries: [],
  reconciliation: { channels, ...(result ? { result } : {}) },
});

const result: ReconciliationResult = {
  v: 1,
  site: 'park1',
  date: DATE,
  state: 'done',
  ranAt: '2027-03-11T02:30:00.000Z',
  attempts: 1,
  providers: [
    {
      provider: 'wechat',
      state: 'matched',
      bill: { payments: { count: 2, amountFen: 8100 }, refunds: { count: 0, amountFen: 0 }, lines: 2, rejected: 0, empty: false },
      matched: { payments: { count: 1, amountFen: 8000 }, refunds: { count: 0, amountFen: 0 } },
      ours: { payments: { count: 1, amountFen: 8000 }, refunds: { count: 0, amountFen: 0 } },
      mismatches: [{ kind: 'money_without_ticket', provider: 'wechat', outTradeNo: 'SHOP=1', transactionId: '4200', billFen: 100, lineNo: 3, detail: 'the provider took money for a trade that is not ours' }],
      deferred: [],
    },
  ],
  mismatchCounts: { money_without_ticket: 1 },
};

describe('the reconciliation section of the daily report', () => {
  it('partner channels and cash kiosks are lines of their own; provider channels are not', () => {
    const r = buildDailyReport(input(result));
    expect(r.reconciliation?.channels).toEqual([
      { channel: 'meituan', names: { 'zh-CN': '美团', en: 'Meituan' }, kind: 'partner', orders: 2, amountFen: 24000, refundedFen: 16000 },
      { channel: 'window', kind: 'cash', orders: 1, amountFen: 8000, refundedFen: 0 },
    ]);
    expect(r.reconciliation?.providers).toEqual([{ provider: 'wechat', state: 'matched', transactions: 2, amountFen: 8100, refunds: 0, refundedFen: 0, matched: 1, matchedFen: 8000, mismatches: 1 }]);
    expect(r.reconciliation?.mismatches.map((m) => m.kind)).toEqual(['money_without_ticket']);
  });

  it('before the day is reconciled it says so; a site without providers says it has none', () => {
    expect(buildDailyReport(input()).reconciliation).toMatchObject({ state: 'not_run', providers: [], mismatches: [] });
    const partnersOnly = { ...input(), reconciliation: { channels: channels.filter((c) => c.payment === 'partner') } };
    expect(buildDailyReport(partnersOnly).reconciliation?.state).toBe('none');
    const html = reportToHtml(buildDailyReport(input()), { lang: 'en' });
    expect(html).toContain('Not reconciled yet (the providers publish the bill the next morning)');
    expect(reportToHtml(buildDailyReport(input()), { lang: 'zh-CN' })).toContain('尚未对账');
  });

  it('CSV: the state, one row per provider, per mismatch and per cash or partner channel; text cells guarded', () => {
    const csv = reportToCsv(buildDailyReport(input(result)));
    expect(csv).toContain('\r\nreconciliation_state,reconciliation_ran_at\r\ndone,2027-03-11T02:30:00.000Z\r\n');
    expect(csv).toContain('\r\nwechat,matched,2,81.00,0,0.00,1,80.00,1\r\n');
    expect(csv).toContain('\r\nmoney_without_ticket,wechat,SHOP=1,,,1.00,,3,the provider took money for a trade that is not ours\r\n');
    expect(csv).toContain('\r\nchannel,channel_name,money,orders,amount_yuan,refunded_yuan\r\nmeituan,美团,partner,2,240.00,160.00\r\nwindow,window,cash,1,80.00,0.00\r\n');
    expect(reportToCsv(buildDailyReport(input(result)), { lang: 'en' })).toContain('\r\nmeituan,Meituan,partner,2,240.00,160.00\r\n');
  });

  it('HTML in both languages: the mismatch by its name, the channels by theirs', () => {
    const zh = reportToHtml(buildDailyReport(input(result)), { lang: 'zh-CN' });
    expect(zh).toContain('<h2>支付对账</h2>');
    expect(zh).toContain('<td>有款无票</td><td>微信支付</td><td>SHOP=1</td>');
    expect(zh).toContain('<td>美团</td><td>合作渠道收款</td>');
    expect(zh).toContain('<td>window</td><td>现金（自助机/窗口）</td>');
    const en = reportToHtml(buildDailyReport(input(result)), { lang: 'en' });
    expect(en).toContain('<td>money without a ticket</td><td>WeChat Pay</td>');
    expect(en).toContain('<td>Meituan</td><td>partner channel</td>');
    expect(en).toContain('<td>window</td><td>cash (kiosk / counter)</td>');
  });
});
