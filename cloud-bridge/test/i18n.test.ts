import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bothLangs, inLang, localText, pickLang } from '../src/core/i18n.js';
import { catalogueIssues, gateTicketTypes, parseCatalogue, sha256Hex, type CatalogueInput } from '../src/core/catalogue.js';

function base(): CatalogueInput & Record<string, unknown> {
  return {
    ticketTypes: [{ id: 'adult', name: 'Adult', priceFen: 8000 }],
    slots: [{ id: 'a', start: '08:00', end: '10:00', quota: 100 }],
    channels: [{ id: 'web', kind: 'online', apiKeySha256: sha256Hex('k') }],
    refundReasons: [{ code: 'weather', label: 'Bad weather' }],
  };
}

describe('localText', () => {
  const name = localText(10);

  it('one string stands for both languages; both spelled out are kept; text is trimmed', () => {
    expect(name.parse('VIP')).toEqual({ 'zh-CN': 'VIP', en: 'VIP' });
    expect(name.parse({ 'zh-CN': ' 成人票 ', en: 'Adult' })).toEqual({ 'zh-CN': '成人票', en: 'Adult' });
  });

  it('names what is wrong, and where', () => {
    const issues = (v: unknown): string[] => {
      const r = z.object({ name }).safeParse({ name: v });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ 'zh-CN': '成人票' })).toEqual(['name.en: missing: the English (en) name']);
    expect(issues({ en: 'Adult' })).toEqual(['name.zh-CN: missing: the Chinese (zh-CN) name']);
    expect(issues({ 'zh-CN': '成人票', en: '  ' })).toEqual(['name.en: must not be empty']);
    expect(issues('')).toEqual(['name: must not be empty']);
    expect(issues('x'.repeat(11))).toEqual(['name: at most 10 characters']);
    expect(issues('成'.repeat(10))).toEqual([]);
    expect(issues({ zh: '成人票', en: 'Adult' })).toEqual(['name.zh-CN: missing: the Chinese (zh-CN) name', 'name: Unrecognized key: "zh"']);
    expect(issues(42)).toEqual(['name: a name: one text for both languages, or { zh-CN: "…", en: "…" }']);
    expect(issues(['成人票', 'Adult'])).toEqual(['name: a name: one text for both languages, or { zh-CN: "…", en: "…" }']);
    expect(issues(undefined)).toEqual(['name: missing: a name: one text for both languages, or { zh-CN: "…", en: "…" }']);
  });

  it('inLang picks one; bothLangs shows both once', () => {
    const adult = { 'zh-CN': '成人票', en: 'Adult' };
    expect(inLang(adult, 'en')).toBe('Adult');
    expect(inLang(adult, 'zh-CN')).toBe('成人票');
    expect(bothLangs(adult)).toBe('成人票 Adult');
    expect(bothLangs(adult, ' / ')).toBe('成人票 / Adult');
    expect(bothLangs({ 'zh-CN': 'VIP', en: 'VIP' })).toBe('VIP');
  });

  it('pickLang: the query wins, then the first of zh/en in Accept-Language by weight, else zh-CN', () => {
    expect(pickLang('en', 'zh-CN')).toBe('en');
    expect(pickLang('zh-CN', 'en')).toBe('zh-CN');
    expect(pickLang('fr', undefined)).toBe('zh-CN');
    expect(pickLang(undefined, 'en-GB,en;q=0.9,zh-CN;q=0.8')).toBe('en');
    expect(pickLang(undefined, 'zh-TW,en;q=0.5')).toBe('zh-CN');
    expect(pickLang(undefined, 'fr-FR,en;q=0.3,zh;q=0.7')).toBe('zh-CN');
    expect(pickLang(undefined, 'fr-FR,de')).toBe('zh-CN');
  });
});

describe('catalogue names', () => {
  it('every name in both languages, or one text for both; the site name and slot names are optional', () => {
    const input = base();
    input.name = { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' };
    input.ticketTypes[0]!.name = { 'zh-CN': '成人票', en: 'Adult' };
    input.slots![0]!.name = { 'zh-CN': '上午场', en: 'Morning' };
    input.channels[0]!.name = '美团';
    input.refundReasons[0]!.label = { 'zh-CN': '天气原因', en: 'Bad weather' };
    const c = parseCatalogue(input);
    expect(c.name).toEqual({ 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' });
    expect(c.ticketTypes[0]!.name).toEqual({ 'zh-CN': '成人票', en: 'Adult' });
    expect(c.slots[0]!.name).toEqual({ 'zh-CN': '上午场', en: 'Morning' });
    expect(c.channels[0]!.name).toEqual({ 'zh-CN': '美团', en: '美团' });
    expect(c.refundReasons[0]!.label).toEqual({ 'zh-CN': '天气原因', en: 'Bad weather' });
    const plain = parseCatalogue(base());
    expect(plain.name).toBeUndefined();
    expect(plain.slots[0]!.name).toBeUndefined();
    expect(plain.ticketTypes[0]!.name).toEqual({ 'zh-CN': 'Adult', en: 'Adult' });
  });

  it.each<[string, (c: ReturnType<typeof base>) => void, string]>([
    ['type name without English', (c) => (c.ticketTypes[0]!.name = { 'zh-CN': '成人票' } as never), 'ticketTypes[0].name.en: missing: the English (en) name'],
    ['empty refund label', (c) => (c.refundReasons[0]!.label = ''), 'refundReasons[0].label: must not be empty'],
    ['site name too long', (c) => (c.name = { 'zh-CN': '湖'.repeat(101), en: 'Lake' }), 'name.zh-CN: at most 100 characters'],
    ['slot name too long', (c) => (c.slots![0]!.name = 'M'.repeat(41)), 'slots[0].name: at most 40 characters'],
    ['channel name in a third language', (c) => (c.channels[0]!.name = { 'zh-CN': '网站', en: 'Web', ja: 'ウェブ' } as never), 'channels[0].name: Unrecognized key: "ja"'],
    ['type name a number', (c) => (c.ticketTypes[0]!.name = 7 as never), 'ticketTypes[0].name: a name: one text for both languages'],
    ['type without a name', (c) => delete (c.ticketTypes[0] as Record<string, unknown>).name, 'ticketTypes[0].name: missing: a name'],
  ])('%s', (_what, change, expected) => {
    const input = base();
    change(input);
    const issues = catalogueIssues(input);
    expect(issues.some((i) => i.startsWith(expected)), `${issues.join('\n')}\n-- expected: ${expected}`).toBe(true);
    expect(() => parseCatalogue(input)).toThrow(expected);
  });

  it('gates get both languages in one name, the entry kind in each', () => {
    const input = base();
    input.ticketTypes.push({ id: 'vip', name: 'VIP', priceFen: 1 });
    input.pricing = [{ kind: 'earlyBird' }, { kind: 'night' }];
    input.ticketTypes[0]!.name = { 'zh-CN': '成人票', en: 'Adult' };
    const byId = new Map(gateTicketTypes(parseCatalogue(input)).map((t) => [t.id, t.name]));
    expect(byId.get('adult')).toBe('成人票 Adult');
    expect(byId.get('adult@early')).toBe('成人票(早鸟) Adult (early entry)');
    expect(byId.get('adult@night')).toBe('成人票(夜场) Adult (night entry)');
    expect(byId.get('vip@night')).toBe('VIP (night entry)');
  });

  it('a long name in both languages still fits the gate rule (100 characters)', () => {
    const input = base();
    input.ticketTypes[0]!.name = { 'zh-CN': '成'.repeat(80), en: 'A'.repeat(80) };
    for (const t of gateTicketTypes(parseCatalogue(input))) expect(t.name.length).toBeLessThanOrEqual(100);
  });
});
