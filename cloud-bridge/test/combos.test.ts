import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '@stile/config';
import { catalogueIssues } from '../src/core/catalogue.js';
import { PartnersConfigSchema, type Combo } from '../src/core/site-config/partners.js';
import { loadCloudConfig } from '../src/config.js';
import { maskName, parsePeriod, splitPayment } from '../src/modules/partners/split.js';
import { buildStatement, reconcile, statementToCsv, statementToHtml, type StatementLine } from '../src/modules/partners/statement.js';
import type { OrdersTable, SplitLedgerTable } from '../src/core/db/schema.js';

const hotel: Combo = { parts: [{ id: 'hotel-night', partner: 'lakeside', name: 'Hotel night', share: { fixedFen: 30000 } }] };
const both: Combo = {
  parts: [
    { id: 'hotel-night', partner: 'lakeside', name: 'Hotel night', share: { fixedFen: 20000 } },
    { id: 'farm-lunch', partner: 'farm', name: 'Lunch', share: { percent: 33 } },
  ],
};
const total = (lines: { amountFen: number }[]) => lines.reduce((a, l) => a + l.amountFen, 0);

describe('combo split (pure)', () => {
  it('gives each partner its share per unit and the park the rest, adding up to the amount paid', () => {
    const lines = splitPayment({ combo: both, unitFen: 46001, units: 3, paidFen: 138003 });
    // 33 % of 46001 = 15180.33 → 15180 fen per unit, rounded down; the park gets the odd fen.
    expect(lines).toEqual([
      { partner: 'lakeside', part: 'hotel-night', amountFen: 60000 },
      { partner: 'farm', part: 'farm-lunch', amountFen: 45540 },
      { partner: 'park', part: 'park', amountFen: 32463 },
    ]);
    expect(total(lines)).toBe(138003);
  });

  it('takes a coupon off the park first, and cuts the partners pro rata only when the payment is below their shares', () => {
    const coupon = splitPayment({ combo: hotel, unitFen: 46000, units: 1, paidFen: 41000 });
    expect(coupon).toEqual([
      { partner: 'lakeside', part: 'hotel-night', amountFen: 30000 },
      { partner: 'park', part: 'park', amountFen: 11000 },
    ]);
    // Paid 10001 against shares of 20000 + 15180 = 35180: cut pro rata, largest remainder gets the odd fen, the park 0.
    const deep = splitPayment({ combo: both, unitFen: 46000, units: 1, paidFen: 10001 });
    expect(total(deep)).toBe(10001);
    expect(deep.at(-1)).toEqual({ partner: 'park', part: 'park', amountFen: 0 });
    expect(deep[0]!.amountFen).toBe(5686); // 20000 × 10001 / 35180 = 5685.6…
    expect(deep[1]!.amountFen).toBe(4315); // 15180 × 10001 / 35180 = 4315.3…
    expect(total(splitPayment({ combo: both, unitFen: 46000, units: 2, paidFen: 0 }))).toBe(0);
  });

  it('always adds up to the fen over many prices and payments', () => {
    for (let unit = 1000; unit < 60000; unit += 977) {
      for (const units of [1, 2, 7]) {
        for (const paid of [unit * units, Math.floor((unit * units) / 3), 1, 0]) {
          const lines = splitPayment({ combo: both, unitFen: unit, units, paidFen: paid });
          expect(total(lines)).toBe(paid);
          expect(lines.every((l) => l.amountFen >= 0)).toBe(true);
        }
      }
    }
  });

  it('parses a day or a month as a period, nothing else', () => {
    expect(parsePeriod('2027-03-10')).toEqual({ period: '2027-03-10', from: '2027-03-10', to: '2027-03-10' });
    expect(parsePeriod('2028-02')).toEqual({ period: '2028-02', from: '2028-02-01', to: '2028-02-29' });
    for (const bad of ['2027-02-30', '2027-13', '2027', '2027-3', 'march']) expect(parsePeriod(bad)).toBeUndefined();
  });

  it('masks guest names to what a desk needs to find the booking', () => {
    expect(maskName('张三丰')).toBe('张**');
    expect(maskName('John Smith')).toBe('J*** S****');
    expect(maskName('')).toBe('');
  });
});

describe('combo catalogue validation', () => {
  const catalogue = (combo: unknown, extra: Record<string, unknown> = {}) => ({
    currency: 'CNY',
    ticketTypes: [{ id: 'adult', name: 'Adult', priceFen: 8000 }, { id: 'hotel', name: 'Ticket + hotel', priceFen: 46000, persons: 2, combo }],
    slots: [],
    pricing: [],
    channels: [{ id: 'wechat', name: 'WeChat', kind: 'online', apiKeySha256: 'a'.repeat(64) }],
    refundReasons: [{ code: 'other', label: 'Other' }],
    ...extra,
  });

  it('accepts a split that fits', () => {
    expect(catalogueIssues(catalogue(hotel))).toEqual([]);
  });

  it('refuses percentages over 100, fixed shares over the price and splits that do not add up, each with its path', () => {
    const issues = catalogueIssues(catalogue({ parts: [{ id: 'a', partner: 'p', name: 'A', share: { percent: 101 } }] }));
    expect(issues.join('\n')).toMatch(/ticketTypes\[1\]\.combo\.parts\[0\]\.share.*100 percent/);
    const sum = catalogueIssues(
      catalogue({
        parts: [
          { id: 'a', partner: 'p', name: 'A', share: { percent: 60 } },
          { id: 'b', partner: 'q', name: 'B', share: { percent: 50 } },
        ],
      }),
    );
    expect(sum).toEqual([expect.stringMatching(/^ticketTypes\[1\]\.combo\.parts: .*add up to 110 %, over 100 %/)]);
    const fixed = catalogueIssues(catalogue({ parts: [{ id: 'a', partner: 'p', name: 'A', share: { fixedFen: 50000 } }] }));
    expect(fixed.join('\n')).toMatch(/ticketTypes\[1\]\.combo\.parts\[0\]\.share\.fixedFen: part "a" takes 50000 fen, more than the price 46000 fen/);
    const split = catalogueIssues(
      catalogue({
        parts: [
          { id: 'a', partner: 'p', name: 'A', share: { fixedFen: 30000 } },
          { id: 'b', partner: 'q', name: 'B', share: { percent: 40 } },
        ],
      }),
    );
    expect(split).toEqual([expect.stringMatching(/^ticketTypes\[1\]\.combo\.parts: the split does not add up: .*a 30000 \+ b 18400 = 48400 fen.*price 46000 fen/)]);
  });

  it('checks the split against every channel price of the type', () => {
    const issues = catalogueIssues(catalogue(hotel, { pricing: [{ kind: 'channelPrice', channel: 'wechat', type: 'hotel', priceFen: 29000 }] }));
    expect(issues.join('\n')).toMatch(/more than the price 29000 fen \(channel "wechat"\)/);
  });

  it('refuses duplicate partners and the reserved id "park"', () => {
    const r = PartnersConfigSchema.safeParse([
      { id: 'park', name: 'P', apiKeySha256: 'a'.repeat(64) },
      { id: 'h', name: 'H', apiKeySha256: 'a'.repeat(64) },
    ]);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.message).join('\n')).toMatch(/"park" is the park's own line[\s\S]*same API key hash/);
  });

  it('refuses at config load a combo whose partner is not configured, or whose split does not add up, with the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-combo-cfg-'));
    const pair = generateSigningKeyPair('ck1');
    writeFileSync(join(dir, 'control.pem'), pair.privateKeyPem);
    const yaml = (partners: string, fixed: number) =>
      [
        'mqtt: { url: "mqtt://h" }',
        'sites:',
        '  - id: park1',
        '    controlKey: { id: ck1, privateKeyFile: control.pem }',
        `    partners: ${partners}`,
        '    sales:',
        '      capacity: { daily: 5000 }',
        '      idHashKey: a-long-enough-id-hash-key-0123456789',
        '      catalogue:',
        '        ticketTypes:',
        '          - { id: adult, name: Adult, priceFen: 8000 }',
        `          - { id: hotel, name: Hotel, priceFen: 46000, persons: 2, combo: { parts: [{ id: hotel-night, partner: lakeside, name: Night, share: { fixedFen: ${fixed} } }] } }`,
        '        channels: [{ id: wechat, name: WeChat, kind: online, apiKeySha256: "' + 'b'.repeat(64) + '" }]',
        '        refundReasons: [{ code: other, label: Other }]',
        '',
      ].join('\n');
    const file = join(dir, 'cloud.yaml');
    writeFileSync(file, yaml(`[{ id: lakeside, name: Lakeside, apiKeySha256: "${'c'.repeat(64)}" }]`, 30000));
    expect(loadCloudConfig(file, {}).options.sites[0]!.partners).toEqual([{ id: 'lakeside', name: 'Lakeside', apiKeySha256: 'c'.repeat(64) }]);
    writeFileSync(file, yaml(`[{ id: farm, name: Farm, apiKeySha256: "${'c'.repeat(64)}" }]`, 30000));
    expect(() => loadCloudConfig(file, {})).toThrow(/sites\[0\]\.sales\.catalogue: ticketTypes\[1\]\.combo\.parts\[0\]\.partner: unknown partner "lakeside" \(known: farm\)/);
    writeFileSync(file, yaml(`[{ id: lakeside, name: Lakeside, apiKeySha256: "${'c'.repeat(64)}" }]`, 47000));
    expect(() => loadCloudConfig(file, {})).toThrow(/sites\[0\]\.sales\.catalogue: ticketTypes\[1\]\.combo\.parts\[0\]\.share\.fixedFen: part "hotel-night" takes 47000 fen, more than the price 46000 fen/);
  });
});

describe('statements and reconciliation (pure)', () => {
  const line = (o: Partial<StatementLine>): StatementLine => ({ orderId: 'O1', date: '2027-03-10', at: '2027-03-10T02:00:00.000Z', kind: 'sale', part: 'hotel-night', partName: 'Hotel, "lake" view', units: 1, amountFen: 30000, visitDate: '2027-03-12', persons: 2, guest: '张*', redeemedAt: null, ...o });

  it('sums per day and nets a reversal to 0; CSV quotes and neutralises formulas, HTML escapes', () => {
    const s = buildStatement('p1', { id: 'lakeside', name: '<Lakeside>' }, parsePeriod('2027-03')!, [line({}), line({ orderId: 'O2', amountFen: 30001 }), line({ orderId: 'O2', kind: 'reversal', date: '2027-03-11', units: -1, amountFen: -30001 })]);
    expect(s).toMatchObject({ saleUnits: 2, saleFen: 60001, reversalUnits: -1, reversalFen: -30001, netFen: 30000 });
    expect(s.days).toEqual([
      { date: '2027-03-10', saleUnits: 2, saleFen: 60001, reversalUnits: 0, reversalFen: 0, netFen: 60001 },
      { date: '2027-03-11', saleUnits: 0, saleFen: 0, reversalUnits: -1, reversalFen: -30001, netFen: -30001 },
    ]);
    const csv = statementToCsv(s, { bom: true });
    expect(csv.startsWith('\uFEFF')).toBe(true);
    expect(csv).toContain('"Hotel, ""lake"" view"');
    expect(csv).toContain('2027-03-11,O2,reversal,hotel-night,"Hotel, ""lake"" view",-1,-30001,-300.01,');
    expect(csv).toContain('net,,,,,,30000,300.00');
    const html = statementToHtml(s);
    expect(html).toContain('&#60;Lakeside&#62;');
    expect(html).not.toContain('<Lakeside>');
    expect(statementToCsv(buildStatement('p1', { id: 'x', name: '=cmd()' }, parsePeriod('2027-03')!, []))).toContain(",'=cmd(),");
  });

  it('lists every order whose split lines do not add up to what was paid or refunded', () => {
    const order = (id: string, o: Partial<OrdersTable>): OrdersTable => ({ order_id: id, site: 'p1', channel: 'wechat', status: 'paid', type_id: 'hotel', gate_type_id: 'hotel', visit_date: '2027-03-12', slot_id: '', persons: 2, amount_fen: 46000, pricing: '{"unitFen":46000}', contact_phone: '', created_at: '', paid_at: '2027-03-10T02:00:00.000Z', payment_ref: 'x', refunded_at: null, refund_reason: null, payment_mode: 'partner', refund_state: null, refund_no: null, ...o });
    const row = (orderId: string, partner: string, kind: string, amount: number): SplitLedgerTable => ({ id: `${orderId}:${kind}:${partner}`, site: 'p1', order_id: orderId, partner, part: partner, kind, units: 1, amount_fen: amount, at: '', date: '2027-03-10' });
    const r = reconcile({
      site: 'p1',
      period: parsePeriod('2027-03-10')!,
      timeZone: 'Asia/Shanghai',
      orders: [order('O1', {}), order('O2', { payment_mode: 'provider' }), order('O3', {}), order('O4', { status: 'refunded', refunded_at: '2027-03-10T05:00:00.000Z' })],
      ledger: [row('O1', 'lakeside', 'sale', 30000), row('O1', 'park', 'sale', 16000), row('O2', 'lakeside', 'sale', 30000), row('O2', 'park', 'sale', 16000), row('O4', 'lakeside', 'sale', 30000), row('O4', 'park', 'sale', 16000), row('O4', 'lakeside', 'reversal', -30000)],
      bills: [{ order_id: 'O2', out_trade_no: 'T2', provider: 'wechat', paid_fen: 45000 }],
      refundBills: [],
      // The payments module's bill reconciliation of the day found the provider billed O1 differently.
      billDays: [{ date: '2027-03-10', state: 'done', mismatches: [{ kind: 'amount_differs', orderId: 'O1', billFen: 45000, ourFen: 46000, detail: 'bill 45000, ours 46000' }, { kind: 'amount_differs', orderId: 'Oother', detail: 'not a combo' }] }],
    });
    expect(r.reconciled).toBe(false);
    expect(r.differences.map((d) => [d.orderId, d.kind, d.problem])).toEqual([
      ['O2', 'sale', 'the payment bill says 45000 fen, the order 46000 fen'],
      ['O3', 'sale', 'paid 46000 fen, the split lines add up to 0 fen'],
      ['O4', 'refund', 'refunded 46000 fen, the reversal lines add up to -30000 fen'],
      ['O1', 'sale', 'the 2027-03-10 payment bill: amount_differs (bill 45000, ours 46000)'],
    ]);
    expect(r.billDays).toEqual([{ date: '2027-03-10', state: 'done' }]);
    expect(r.byPartner).toEqual([
      { partner: 'lakeside', saleFen: 90000, reversalFen: -30000, netFen: 60000 },
      { partner: 'park', saleFen: 48000, reversalFen: 0, netFen: 48000 },
    ]);
  });
});
