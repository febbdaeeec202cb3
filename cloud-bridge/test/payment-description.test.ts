/**
 * What the payer reads at WeChat Pay / Alipay: the park's and the ticket type's Chinese
 * names, within WeChat Pay's description limit of 127 UTF-8 bytes (a Chinese character is
 * 3 bytes), cut between characters and never losing the count, date or time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalogue, sha256Hex, type CatalogueInput } from '../src/core/catalogue.js';
import type { SalesSite } from '../src/core/sites.js';
import { truncateUtf8, utf8Bytes } from '../src/core/utf8.js';
import { receiptText } from '../src/modules/sales/tickets.js';
import { startHarness, tradeNo, type Harness } from './payments/sim-harness.js';
import { expectCode } from './payments/helpers.js';

function site(over: Partial<CatalogueInput> = {}): SalesSite {
  const catalogue = parseCatalogue({
    name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' },
    ticketTypes: [
      { id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000 },
      { id: 'family', name: { 'zh-CN': '家庭套票', en: 'Family package' }, priceFen: 18000, persons: 3 },
    ],
    slots: [{ id: 's10', start: '10:00', end: '12:00', quota: 100 }],
    channels: [{ id: 'web', kind: 'online', apiKeySha256: sha256Hex('k') }],
    refundReasons: [{ code: 'weather', label: { 'zh-CN': '天气原因', en: 'Bad weather' } }],
    ...over,
  });
  return { id: 'lake', catalogue } as unknown as SalesSite;
}
const order = { type_id: 'family', slot_id: 's10', persons: 6, visit_date: '2027-03-10' };

describe('truncateUtf8', () => {
  it('keeps a text that fits; cuts a longer one between characters, with an ellipsis, within the bytes', () => {
    expect(truncateUtf8('成人票', 9)).toBe('成人票');
    expect(truncateUtf8('成人票', 8)).toBe('成…'); // 3 + 3 (…) ≤ 8; a second character would need 9
    expect(truncateUtf8('ab😀cd', 6)).toBe('ab…'); // the emoji (4 bytes) is not split
    expect(truncateUtf8('abcdef', 2)).toBe('');
    for (let n = 0; n < 40; n++) expect(utf8Bytes(truncateUtf8('青山湖风景区 Qingshan 😀 Lake', n))).toBeLessThanOrEqual(n);
  });
});

describe('receiptText', () => {
  it('the park and the type in Chinese, the count of tickets, the date and the slot start', () => {
    expect(receiptText(site(), order)).toBe('青山湖风景区 家庭套票 ×2 2027-03-10 10:00');
    // Without a park name the id stands in (as before names existed).
    expect(receiptText(site({ name: undefined }), { ...order, type_id: 'adult', persons: 1 })).toBe('lake 成人票 ×1 2027-03-10 10:00');
  });

  it('a long park name is shortened to 127 bytes; the count, date and time stay', () => {
    const long = site({ name: { 'zh-CN': '青山湖国家级风景名胜区'.repeat(5), en: 'Lake' } });
    const text = receiptText(long, order);
    expect(utf8Bytes(text)).toBeLessThanOrEqual(127);
    expect(utf8Bytes(text)).toBeGreaterThan(120); // the room is used: cut by bytes, not at 127 characters or far too early
    expect(text).toMatch(/^青山湖国家级风景名胜区青山湖.*… ×2 2027-03-10 10:00$/);
  });
});

describe('against the WeChat Pay simulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('the shortened description is taken whole; 43 Chinese characters (129 bytes) are refused before anything is sent', async () => {
    const text = receiptText(site({ name: { 'zh-CN': '青山湖国家级风景名胜区'.repeat(5), en: 'Lake' } }), order);
    const no = tradeNo('WD');
    await h.wechat.createQr({ outTradeNo: no, amountFen: 36000, description: text });
    expect((await fetch(`${h.sim.baseUrl}/sim/trades/wechat/${no}`).then((r) => r.json())) as Record<string, unknown>).toMatchObject({ description: text });
    await expectCode(() => h.wechat.createQr({ outTradeNo: tradeNo('WD'), amountFen: 100, description: '成'.repeat(43) }), 'invalid_request');
    await h.wechat.createQr({ outTradeNo: tradeNo('WD'), amountFen: 100, description: '成'.repeat(42) });
  });
});
