import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { idNumberProblem } from '@stile/config';
import { BOOKING_ROUTE_CODES } from '../src/modules/booking/routes.js';
import { bookingPage } from '../src/modules/booking/page.js';
import { pickEncoding } from '../src/core/http/web-assets.js';
import { BOOK_REFUSALS, BOOK_TEXT, isBookRefusal, refusalText } from '../src/modules/booking/page-text.js';
import type { BookInfoSchema, BookOrderSchema, BookPaymentCreatedSchema, SessionSchema, SmsCodeSentSchema } from '../src/modules/booking/schemas.js';
import type { AvailabilitySchema } from '../src/modules/sales/schemas.js';
import { browserKind, payChoices } from '../web/booking/client-env.js';
import { oauthReturn, oauthStartUrl, sheetOutcome } from '../web/booking/wechat.js';
import { advance, hashOf, initialState, parseHash, pickProblem, visitorCount, type FlowState } from '../web/booking/flow.js';
import { idProblem } from '../web/booking/idcard.js';
import { totalFen, typeOffers, yuan } from '../web/booking/price.js';
import type { Availability, BookInfo, BookOrder, BookSession, PayStarted, SmsCodeSent } from '../web/booking/types.js';
import { idNumber } from './helpers.js';
import { demoCatalogue } from '@stile/demo/catalogue';
import { entryOffer } from '../src/core/catalogue.js';
import { typePrices } from '../src/modules/sales/availability.js';
import { priceFor } from '../src/modules/sales/pricing.js';

// The shell needs the built browser code (cloud-bridge/dist/web): `npm test` builds first; alone, run `npm run build`.

const TODAY = '2027-03-10';
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const withCheck = (body17: string) => body17 + '10X98765432'[[...body17].reduce((s, d, i) => s + Number(d) * WEIGHTS[i]!, 0) % 11];

const info: BookInfo = {
  site: 'park',
  name: { 'zh-CN': '示范景区', en: 'Demo Park' },
  timeZone: 'Asia/Shanghai',
  today: TODAY,
  lastDate: '2027-03-24',
  ticketsPerIdPerDay: 1,
  types: [
    { typeId: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, persons: 1, baseFen: 8000, days: 'any', entries: ['early'] },
    { typeId: 'family', name: { 'zh-CN': '家庭套票', en: 'Family package' }, persons: 3, baseFen: 18000, days: 'any', entries: [] },
    { typeId: 'weekend', name: { 'zh-CN': '周末票', en: 'Weekend' }, persons: 1, baseFen: 6000, days: 'weekend', entries: [] },
  ],
  slots: [
    { slotId: 's08', start: '08:00', end: '10:00' },
    { slotId: 's10', start: '10:00', end: '12:00' },
  ],
  refundReasons: [{ code: 'weather', label: { 'zh-CN': '天气原因', en: 'Weather' } }],
  providers: ['wechat', 'alipay'],
  wechatOAuth: false,
  tourRouteUrl: null,
};

function availability(over: Partial<Availability> = {}): Availability {
  return {
    site: 'park',
    channel: 'web',
    date: TODAY,
    open: true,
    paused: false,
    capacity: { daily: 100, sold: 20, remaining: 80, percent: 20 },
    almostFull: false,
    slots: [
      { slotId: 's08', start: '08:00', end: '10:00', quota: 50, remaining: 2, almostFull: true },
      { slotId: 's10', start: '10:00', end: '12:00', quota: 50, remaining: 40, almostFull: false },
    ],
    types: [
      { typeId: 'adult', name: '成人票', names: { 'zh-CN': '成人票', en: 'Adult' }, persons: 1, unitFen: 7200, discounts: [{ rule: 'offSeasonWeekend', percentOff: 10 }] },
      { typeId: 'family', name: '家庭套票', names: { 'zh-CN': '家庭套票', en: 'Family package' }, persons: 3, unitFen: 18000, discounts: [] },
      { typeId: 'weekend', name: '周末票', names: { 'zh-CN': '周末票', en: 'Weekend' }, persons: 1, available: false, reason: 'not_on_this_day' },
    ],
    realName: { ticketsPerIdPerDay: 1, bookingHorizonDays: 14, lastDate: '2027-03-24' },
    ...over,
  };
}

describe('ID number check in the page', () => {
  it("is the server's own check (config/src/id-number.ts), bundled into the page without Node modules", () => {
    expect(idProblem).toBe(idNumberProblem);
    const bundle = readFileSync(new URL('../dist/web/booking.js', import.meta.url), 'utf8');
    expect(bundle).toContain('10X98765432');
    expect(bundle).not.toMatch(/node:|createHmac/);
  });

  it('passes real numbers and names each problem', () => {
    expect(idProblem(idNumber(1), TODAY)).toBeUndefined();
    expect(idProblem('11010519491231002X', TODAY)).toBeUndefined();
    expect(idProblem('11010519491231002x', TODAY)).toBeUndefined();
    expect(idProblem('1101051949123100', TODAY)).toBe('format');
    expect(idProblem('110105194912310021', TODAY)).toBe('check_digit');
    expect(idProblem(withCheck('99010519491231002'), TODAY)).toBe('region');
    expect(idProblem(withCheck('11010519490230002'), TODAY)).toBe('birth_date');
    expect(idProblem(withCheck('11010520270311002'), TODAY)).toBe('birth_date'); // born tomorrow
  });
});

describe('text table', () => {
  const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();

  it('has every label in both languages, with the same placeholders, and no empty one', () => {
    const zh = BOOK_TEXT['zh-CN'];
    const en = BOOK_TEXT.en;
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    for (const k of Object.keys(zh) as (keyof typeof zh)[]) {
      expect(zh[k].length, k).toBeGreaterThan(0);
      expect(placeholders(en[k]), k).toEqual(placeholders(zh[k]));
    }
    expect(zh.ticketsLeft).toBe('当前剩余票量 {count} 张');
    expect(en.ticketsLeft).toBe('{count} tickets left');
  });

  it('says every refusal a booking route can answer in plain words in both languages', () => {
    const codes = new Set(Object.values(BOOKING_ROUTE_CODES).flat());
    for (const code of codes) {
      expect(isBookRefusal(code), `${code} has no text on the page`).toBe(true);
      for (const lang of ['zh-CN', 'en'] as const) expect(refusalText(lang, code)).not.toMatch(/[_{}]/);
    }
    for (const lang of ['zh-CN', 'en'] as const) for (const [code, text] of Object.entries(BOOK_REFUSALS[lang])) expect(text.length, code).toBeGreaterThan(5);
  });

  it('names the visitor a refusal is about, and falls back for a code it does not know', () => {
    expect(refusalText('zh-CN', 'invalid_id_number', { who: '游客 2' })).toBe('游客 2的身份证号不对，请核对后再提交。');
    expect(refusalText('en', 'visitor_already_booked', { who: 'Visitor 1' })).toMatch(/^Visitor 1 already has a ticket/);
    expect(refusalText('en', 'invalid_id_number')).toMatch(/^A visitor's ID number/);
    expect(refusalText('en', 'some_new_code')).toBe(BOOK_REFUSALS.en.internal);
    expect(refusalText('zh-CN', 'capacity_red')).toMatch(/满员/);
    expect(refusalText('en', 'capacity_orange')).toMatch(/ticket office/);
    expect(refusalText('en', 'channel_paused')).toMatch(/paused/);
    expect(refusalText('zh-CN', 'sold_out')).toMatch(/卖完/);
  });

  it('the page code writes no visible text of its own: every word comes from the table', () => {
    const dir = new URL('../web/booking/', import.meta.url);
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    for (const f of files) {
      const src = readFileSync(new URL(f, dir), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      // No Chinese characters outside the table (comments aside).
      expect(src, f).not.toMatch(/[\u4e00-\u9fff]/);
    }
  });
});

describe('prices', () => {
  it('shows fen as yuan', () => {
    expect(yuan(8000)).toBe('¥80');
    expect(yuan(7250)).toBe('¥72.50');
    expect(yuan(5)).toBe('¥0.05');
    expect(yuan(0)).toBe('¥0');
  });

  it("takes each type's price on the date from the availability, with its discount; a type not sold that day has none", () => {
    const offers = typeOffers(info, availability());
    expect(offers.map((o) => [o.typeId, o.unitFen, o.discount?.rule ?? null, o.reason])).toEqual([
      ['adult', 7200, 'offSeasonWeekend', null],
      ['family', 18000, null, null],
      ['weekend', null, null, 'not_on_this_day'],
    ]);
    expect(totalFen(offers[0]!, 3)).toBe(21600);
    expect(totalFen(offers[1]!, 2)).toBe(36000); // two packages of 3
    expect(totalFen(offers[2]!, 1)).toBeNull();
    // Before the availability arrives: the base prices, nothing refused yet.
    expect(typeOffers(info, null).map((o) => o.unitFen)).toEqual([8000, 18000, 6000]);
  });
});

describe('the price the page shows is the price the order is charged', () => {
  // Every type × slot × entry of the demo park, on a weekday, an off-season weekend and a summer
  // weekend: the page's price from the availability answer equals what sales charges.
  const catalogue = demoCatalogue();
  const channel = catalogue.channels[0]!;
  const pageInfo: BookInfo = {
    ...info,
    types: catalogue.ticketTypes.map((t) => ({
      typeId: t.id,
      name: t.name,
      persons: t.persons,
      baseFen: t.priceFen,
      days: t.days,
      entries: (['early', 'night'] as const).filter((k) => entryOffer(catalogue, t, k) !== undefined),
    })),
  };
  it.each(['2027-03-10', '2027-03-13', '2027-07-10'])('on %s', (date) => {
    const avail = { types: typePrices(catalogue, channel, date) } as unknown as Availability;
    let compared = 0;
    for (const slot of [undefined, ...catalogue.slots.map((x) => x.id)]) {
      for (const entry of [undefined, 'early', 'night'] as const) {
        const offers = typeOffers(pageInfo, avail, { slotId: slot, entry });
        for (const t of catalogue.ticketTypes) {
          const q = priceFor(catalogue, { typeId: t.id, channelId: channel.id, visitDate: date, ...(slot ? { slotId: slot } : {}), ...(entry ? { entry } : {}) });
          if (!q.ok) continue;
          const shown = offers.find((o) => o.typeId === t.id)!;
          expect([t.id, slot, entry, shown.unitFen, shown.discount?.percentOff ?? 0]).toEqual([t.id, slot, entry, q.unitFen, q.discounts[0]?.percentOff ?? 0]);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(30);
  });
});

describe('the flow', () => {
  const picked = (over: Partial<FlowState['draft']> = {}): FlowState => {
    const s = initialState(TODAY, false);
    return { ...s, draft: { ...s.draft, typeId: 'adult', slotId: 's10', ...over } };
  };

  it('cannot leave the first step without an open slot with room, an available type, on an open day', () => {
    const a = availability();
    expect(pickProblem(picked().draft, info, a)).toBeNull();
    expect(pickProblem(picked({ slotId: null }).draft, info, a)).toBe('slot');
    expect(pickProblem(picked({ typeId: null }).draft, info, a)).toBe('type');
    expect(pickProblem(picked({ typeId: 'weekend' }).draft, info, a)).toBe('type_unavailable');
    expect(pickProblem(picked({ slotId: 's08', tickets: 3 }).draft, info, a)).toBe('slot_full');
    expect(pickProblem(picked({ slotId: 's08', typeId: 'family' }).draft, info, a)).toBe('slot_full'); // 3 persons, 2 left
    expect(pickProblem(picked().draft, info, availability({ paused: true, open: false }))).toBe('closed');
    expect(pickProblem(picked().draft, info, availability({ open: false, capacity: { daily: 100, sold: 100, remaining: 0, percent: 100, level: 'red' } }))).toBe('closed');
    expect(pickProblem(picked().draft, info, null)).toBe('closed');
    const noSlots = { ...info, slots: [] };
    expect(pickProblem(picked({ slotId: null, tickets: 81 }).draft, noSlots, a)).toBe('too_many');
    expect(pickProblem(picked({ slotId: null }).draft, noSlots, a)).toBeNull();
  });

  it('asks one visitor per person (a family package: its size per ticket)', () => {
    expect(visitorCount(picked({ tickets: 2 }).draft, info)).toBe(2);
    expect(visitorCount(picked({ typeId: 'family', tickets: 2 }).draft, info)).toBe(6);
  });

  it('goes pick → visitors → login → pay → ticket, and skips the login with a live session', () => {
    let s = picked();
    const steps = [s.step];
    for (const e of [{ type: 'picked' }, { type: 'visitorsDone' }, { type: 'loggedIn' }, { type: 'orderCreated', orderId: 'o1' }, { type: 'paid' }] as const) {
      s = advance(s, e);
      steps.push(s.step);
    }
    expect(steps).toEqual(['pick', 'visitors', 'login', 'pay', 'pay', 'ticket']);
    expect(s.orderId).toBe('o1');
    const loggedIn = advance(advance({ ...picked(), loggedIn: true }, { type: 'picked' }), { type: 'visitorsDone' });
    expect(loggedIn.step).toBe('pay');
  });

  it('"my orders" asks for the phone first and comes back to the orders; an expired session goes back to the login', () => {
    const s = advance(picked(), { type: 'openOrders' });
    expect([s.step, s.afterLogin]).toEqual(['login', 'orders']);
    expect(advance(s, { type: 'loggedIn' }).step).toBe('orders');
    const out = advance({ ...picked(), loggedIn: true, step: 'orders' }, { type: 'loggedOut' });
    expect([out.step, out.afterLogin, out.loggedIn]).toEqual(['login', 'orders', false]);
    expect(advance({ ...picked(), step: 'pay', orderId: 'o1' }, { type: 'expired' })).toMatchObject({ step: 'pick', orderId: null });
    expect(advance(picked(), { type: 'orderShown', order: { orderId: 'o2', status: 'pending' } })).toMatchObject({ step: 'pay', orderId: 'o2' });
    expect(advance(picked(), { type: 'orderShown', order: { orderId: 'o2', status: 'refunded' } })).toMatchObject({ step: 'ticket', orderId: 'o2' });
  });

  it('back goes one step back', () => {
    expect(advance({ ...picked(), step: 'visitors' }, { type: 'back' }).step).toBe('pick');
    expect(advance({ ...picked(), step: 'login' }, { type: 'back' }).step).toBe('visitors');
    expect(advance({ ...picked(), step: 'ticket', loggedIn: true }, { type: 'back' }).step).toBe('orders');
  });

  it('mirrors the step and order in the URL hash and reads it back', () => {
    expect(hashOf({ ...picked(), step: 'pay', orderId: 'BK-1/2' })).toBe('#pay/BK-1%2F2');
    expect(parseHash('#pay/BK-1%2F2')).toEqual({ step: 'pay', orderId: 'BK-1/2' });
    expect(parseHash('#orders')).toEqual({ step: 'orders', orderId: null });
    expect(parseHash('#<script>')).toEqual({ step: 'pick', orderId: null });
    expect(parseHash('')).toEqual({ step: 'pick', orderId: null });
  });
});

describe('which payment fits the browser', () => {
  const UA = {
    wechat: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN',
    alipay: 'Mozilla/5.0 (Linux; U; Android 13; zh-CN; V2238A Build/TP1A.220624.014) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.59 Mobile Safari/537.36 AliApp(AP/10.5.36.8000) AlipayClient/10.5.36.8000 Language/zh-Hans',
    safari: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    desktop: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  };
  it('tells WeChat, Alipay, a phone browser and a desktop apart', () => {
    expect(Object.values(UA).map(browserKind)).toEqual(['wechat', 'alipay', 'mobile', 'desktop']);
  });
  it('offers the in-app payment first, and the QR codes where they can be scanned', () => {
    const both = ['wechat', 'alipay'] as const;
    const names = (k: Parameters<typeof payChoices>[0], p: readonly ('wechat' | 'alipay')[], openid = false) => payChoices(k, p, openid).map((c) => `${c.provider}:${c.method}`);
    expect(names('wechat', both, true)).toEqual(['wechat:in_app', 'wechat:qr']);
    expect(names('wechat', both)).toEqual(['wechat:qr']); // no openid yet: the Native code
    expect(names('alipay', both)).toEqual(['alipay:in_app', 'alipay:qr']);
    expect(names('mobile', both)).toEqual(['alipay:in_app', 'wechat:qr', 'alipay:qr']);
    expect(names('desktop', both)).toEqual(['wechat:qr', 'alipay:qr']);
    expect(names('mobile', ['wechat'])).toEqual(['wechat:qr']);
    expect(names('alipay', ['wechat'])).toEqual([]);
  });
  it('reads the WeChat OAuth outcome from the fragment, keeps only a well-formed openid and the page\'s own fragment', () => {
    expect(oauthReturn('#pay/O1')).toBeNull();
    expect(oauthReturn('#wx_openid=oAbc123_-xyz&to=pay%2FO1')).toEqual({ openid: 'oAbc123_-xyz', error: null, hash: '#pay/O1' });
    expect(oauthReturn('#wx_error=code_used&to=pay%2FO1')).toEqual({ openid: null, error: 'code_used', hash: '#pay/O1' });
    expect(oauthReturn('#wx_error=state_invalid')).toEqual({ openid: null, error: 'state_invalid', hash: '' });
    // Anything else is treated as "unavailable", and an odd openid or fragment is dropped.
    expect(oauthReturn('#wx_error=%3Cscript%3E&to=%23javascript')).toEqual({ openid: null, error: 'unavailable', hash: '' });
    expect(oauthReturn('#wx_openid=%3Cimg%3E&to=pay%2FO1')?.openid).toBeNull();
    expect(oauthStartUrl('park', '/book/park?lang=en', 'O 1')).toBe('/v1/book/park/wechat-oauth/start?returnTo=%2Fbook%2Fpark%3Flang%3Den%23pay%2FO%25201');
    expect(['get_brand_wcpay_request:ok', 'get_brand_wcpay_request:cancel', 'get_brand_wcpay_request:fail', 'system:access_denied', ''].map(sheetOutcome)).toEqual(['ok', 'cancel', 'fail', 'fail', 'fail']);
  });
});

describe('the page shell', () => {
  it('declares its language, loads its script by nonce and SRI, holds no secret', () => {
    for (const lang of ['zh-CN', 'en'] as const) {
      const { html, csp } = bookingPage({ site: 'park', today: TODAY, lang });
      expect(html).toMatch(new RegExp(`<html lang="${lang}">`));
      expect(html).toMatch(/<meta name="viewport" content="width=device-width, initial-scale=1/);
      expect(html).toContain(`<title>${BOOK_TEXT[lang].title}</title>`);
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
      expect(scripts).toHaveLength(1);
      expect(scripts[0]![2]).toBe('');
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
      expect(scripts[0]![1]).toContain(`nonce="${nonce}"`);
      expect(scripts[0]![1]).toMatch(/src="\/book\/assets\/booking\.js\?v=[0-9a-f]{16}" integrity="sha384-/);
      expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);
      expect(html).not.toMatch(/https?:\/\//);
      expect(html).toContain(`data-site="park" data-today="${TODAY}"`);
      // The first screen's two answers load with the script.
      expect(html).toContain(`<link rel="preload" as="fetch" crossorigin="anonymous" href="/v1/book/park/availability?date=${TODAY}">`);
    }
    expect(bookingPage({ site: 'park', today: TODAY }).html).toMatch(/<html lang="zh-CN">/);
    // Escaped: a site id can never break out of its attribute.
    expect(bookingPage({ site: '"><script>', today: TODAY }).html).toContain('data-site="&quot;&gt;&lt;script&gt;"');
  });

  it('picks brotli, then gzip, from Accept-Encoding', () => {
    expect(pickEncoding('gzip, deflate, br')).toBe('br');
    expect(pickEncoding('gzip, br;q=0')).toBe('gzip');
    expect(pickEncoding('identity')).toBeNull();
    expect(pickEncoding(undefined)).toBeNull();
  });
});

describe('the page reads the API as its schemas say', () => {
  it('its types are the schemas’ own (a change of the contract fails the type-check)', () => {
    expectTypeOf<BookInfo>().toEqualTypeOf<z.infer<typeof BookInfoSchema>>();
    expectTypeOf<BookOrder>().toEqualTypeOf<z.infer<typeof BookOrderSchema>>();
    expectTypeOf<PayStarted>().toEqualTypeOf<z.infer<typeof BookPaymentCreatedSchema>>();
    expectTypeOf<BookSession>().toEqualTypeOf<z.infer<typeof SessionSchema>>();
    expectTypeOf<SmsCodeSent>().toEqualTypeOf<z.infer<typeof SmsCodeSentSchema>>();
    expectTypeOf<Availability>().toEqualTypeOf<z.infer<typeof AvailabilitySchema>>();
  });
});
