import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStileError, StileErrorCode, TicketTypeSchema } from '@stile/config';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import {
  catalogueIssues,
  gateTicketTypes,
  parseCatalogue,
  sha256Hex,
  type CatalogueInput,
} from '../src/core/catalogue.js';
import { applyPercentOff, priceFor, type PriceRequest } from '../src/modules/sales/pricing.js';

// Calendar days used below (checked: 2026-06-10 is a Wednesday).
const WEDNESDAY_JUNE = '2026-06-10';
const SATURDAY_JUNE = '2026-06-13';
const SUNDAY_JUNE = '2026-06-14';
const SATURDAY_JANUARY = '2026-01-17'; // off-season in the demo
const WEDNESDAY_JANUARY = '2026-01-14';

const KEY = sha256Hex('k');

/** A small valid catalogue the tests change one field at a time. */
function base(): CatalogueInput & Record<string, unknown> {
  return {
    ticketTypes: [
      { id: 'adult', name: 'Adult', priceFen: 8000 },
      { id: 'child', name: 'Child', priceFen: 4000 },
    ],
    slots: [
      { id: 'a', start: '08:00', end: '10:00', quota: 100 },
      { id: 'b', start: '10:00', end: '12:00', quota: 100 },
    ],
    pricing: [
      { kind: 'earlyBird' },
      { kind: 'night' },
      { kind: 'channelPrice', channel: 'web', type: 'adult', priceFen: 7000 },
    ],
    channels: [
      { id: 'web', kind: 'online', apiKeySha256: KEY },
      { id: 'kiosk', kind: 'kiosk', apiKeySha256: sha256Hex('k2') },
    ],
    refundReasons: [{ code: 'weather', label: 'Weather' }],
  };
}

const demo = demoCatalogue();
const quote = (req: Partial<PriceRequest>, catalogue = demo) =>
  priceFor(catalogue, { typeId: 'adult', channelId: 'wechat', visitDate: WEDNESDAY_JUNE, ...req });

describe('demo catalogue', () => {
  it('is valid, and stays valid when re-parsed', () => {
    expect(catalogueIssues(demo)).toEqual([]);
    expect(parseCatalogue(demo)).toEqual(demo);
    expect(demo.currency).toBe('CNY');
    expect(demo.timeZone).toBe('Asia/Shanghai');
  });

  it('holds only the SHA-256 of each demo API key', () => {
    for (const ch of demo.channels) {
      const key = DEMO_API_KEYS[ch.id as keyof typeof DEMO_API_KEYS];
      expect(ch.apiKeySha256).toBe(sha256Hex(key));
      expect(JSON.stringify(demo)).not.toContain(key);
    }
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('priceFor', () => {
  it('charges the base price with no discount', () => {
    expect(quote({})).toEqual({ ok: true, unitFen: 8000, baseFen: 8000, persons: 1, discounts: [], gateTypeId: 'adult' });
    expect(quote({ typeId: 'child' })).toMatchObject({ unitFen: 4000 });
    expect(quote({ typeId: 'senior', channelId: 'kiosk' })).toMatchObject({ unitFen: 4000 });
  });

  it("uses the channel's own price for that channel only", () => {
    expect(quote({ channelId: 'meituan' })).toMatchObject({ ok: true, unitFen: 7600, baseFen: 7600 });
    expect(quote({ channelId: 'kiosk' })).toMatchObject({ ok: true, unitFen: 8000 });
    expect(quote({ typeId: 'child', channelId: 'meituan' })).toMatchObject({ unitFen: 4000 });
  });

  it('early-bird entry is 20% off and admits only before 08:00', () => {
    expect(quote({ entry: 'early' })).toEqual({
      ok: true,
      unitFen: 6400,
      baseFen: 8000,
      persons: 1,
      discounts: [{ rule: 'earlyBird', percentOff: 20 }],
      gateTypeId: 'adult@early',
      entryWindow: { from: '00:00', to: '08:00' },
    });
    // Discount applies to the channel price.
    expect(quote({ entry: 'early', channelId: 'meituan' })).toMatchObject({ unitFen: 6080 });
  });

  it('night entry is 30% off and admits only from 17:00', () => {
    expect(quote({ entry: 'night' })).toMatchObject({
      ok: true,
      unitFen: 5600,
      discounts: [{ rule: 'night', percentOff: 30 }],
      gateTypeId: 'adult@night',
      entryWindow: { from: '17:00', to: '24:00' },
    });
  });

  it('an early or night slot earns the discount; the slot already bounds entry, so no window is added', () => {
    const early = quote({ slotId: 'early' });
    expect(early).toMatchObject({ ok: true, unitFen: 6400, discounts: [{ rule: 'earlyBird', percentOff: 20 }], gateTypeId: 'adult' });
    expect(early).not.toHaveProperty('entryWindow');
    expect(quote({ slotId: 'night' })).toMatchObject({ unitFen: 5600, gateTypeId: 'adult' });
    expect(quote({ slotId: 's10' })).toMatchObject({ unitFen: 8000, discounts: [] });
    // 16:00–18:00 starts before 17:00: not a night slot.
    expect(quote({ slotId: 's16' })).toMatchObject({ unitFen: 8000 });
  });

  it('off-season weekend discount on Saturdays and Sundays of off-season months only', () => {
    expect(quote({ visitDate: SATURDAY_JANUARY })).toMatchObject({ unitFen: 6800, discounts: [{ rule: 'offSeasonWeekend', percentOff: 15 }], gateTypeId: 'adult' });
    expect(quote({ visitDate: WEDNESDAY_JANUARY })).toMatchObject({ unitFen: 8000, discounts: [] });
    expect(quote({ visitDate: SATURDAY_JUNE })).toMatchObject({ unitFen: 8000, discounts: [] });
    // Not for the family package in the demo (rule lists single-person types).
    expect(quote({ typeId: 'family', visitDate: SATURDAY_JANUARY })).toMatchObject({ unitFen: 18000 });
  });

  it('discounts do not stack: the largest one applies', () => {
    // Night 30% beats off-season 15%: 8000 × 0.7, not 8000 × 0.85 × 0.7.
    expect(quote({ visitDate: SATURDAY_JANUARY, entry: 'night' })).toMatchObject({ unitFen: 5600, discounts: [{ rule: 'night', percentOff: 30 }], gateTypeId: 'adult@night' });
    expect(quote({ visitDate: SATURDAY_JANUARY, entry: 'early' })).toMatchObject({ unitFen: 6400, discounts: [{ rule: 'earlyBird', percentOff: 20 }] });
  });

  it('when a discount that needs no window wins (or ties), the ticket is not restricted to the chosen window', () => {
    const input = base();
    input.pricing = [{ kind: 'earlyBird', percentOff: 20 }, { kind: 'offSeasonWeekend', months: [1], percentOff: 25 }];
    const c = parseCatalogue(input);
    const bigger = priceFor(c, { typeId: 'adult', channelId: 'kiosk', visitDate: SATURDAY_JANUARY, entry: 'early' });
    expect(bigger).toEqual({ ok: true, unitFen: 6000, baseFen: 8000, persons: 1, discounts: [{ rule: 'offSeasonWeekend', percentOff: 25 }], gateTypeId: 'adult' });

    input.pricing = [{ kind: 'earlyBird', percentOff: 20 }, { kind: 'offSeasonWeekend', months: [1], percentOff: 20 }];
    const tie = priceFor(parseCatalogue(input), { typeId: 'adult', channelId: 'kiosk', visitDate: SATURDAY_JANUARY, entry: 'early' });
    expect(tie).toMatchObject({ unitFen: 6400, discounts: [{ rule: 'offSeasonWeekend', percentOff: 20 }], gateTypeId: 'adult' });
    expect(tie).not.toHaveProperty('entryWindow');
  });

  it('rounds half up to a whole fen', () => {
    const input = base();
    input.ticketTypes = [
      { id: 'half', name: 'Half', priceFen: 8005 }, // × 0.7 = 5603.5 → 5604
      { id: 'down', name: 'Down', priceFen: 8002 }, // × 0.7 = 5601.4 → 5601
      { id: 'up', name: 'Up', priceFen: 8001 }, // × 0.7 = 5600.7 → 5601
    ];
    input.pricing = [{ kind: 'night' }];
    const c = parseCatalogue(input);
    const night = (typeId: string) => priceFor(c, { typeId, channelId: 'web', visitDate: WEDNESDAY_JUNE, entry: 'night' });
    expect(night('half')).toMatchObject({ unitFen: 5604 });
    expect(night('down')).toMatchObject({ unitFen: 5601 });
    expect(night('up')).toMatchObject({ unitFen: 5601 });
    expect(applyPercentOff(1, 50)).toBe(1); // 0.5 fen → 1
    expect(applyPercentOff(3, 50)).toBe(2); // 1.5 → 2
    expect(applyPercentOff(0, 30)).toBe(0);
  });

  it('a family package is one ticket for several persons at one price', () => {
    expect(quote({ typeId: 'family' })).toMatchObject({ ok: true, unitFen: 18000, persons: 3, gateTypeId: 'family' });
    expect(quote({ typeId: 'family', channelId: 'meituan', entry: 'early' })).toMatchObject({ unitFen: 13600, persons: 3, gateTypeId: 'family@early' });
  });

  it('the weekend special is sold for Saturdays and Sundays only, and only on its channels', () => {
    expect(quote({ typeId: 'weekend', visitDate: WEDNESDAY_JUNE })).toMatchObject({ ok: false, reason: 'not_on_this_day' });
    expect(quote({ typeId: 'weekend', visitDate: SATURDAY_JUNE })).toMatchObject({ ok: true, unitFen: 6800 });
    expect(quote({ typeId: 'weekend', visitDate: SUNDAY_JUNE, channelId: 'kiosk' })).toMatchObject({ ok: true, unitFen: 6800 });
    expect(quote({ typeId: 'weekend', visitDate: SATURDAY_JUNE, channelId: 'meituan' })).toMatchObject({ ok: false, reason: 'type_not_on_channel' });
  });

  it('refuses bad requests with a reason and a message instead of throwing', () => {
    const cases: [Partial<PriceRequest>, string][] = [
      [{ typeId: 'vip' }, 'unknown_type'],
      [{ channelId: 'taobao' }, 'unknown_channel'],
      [{ visitDate: '2026-02-30' }, 'invalid_date'],
      [{ visitDate: '10/06/2026' }, 'invalid_date'],
      [{ slotId: 's99' }, 'unknown_slot'],
      // An early ticket for a 14:00 slot could never pass the gate.
      [{ slotId: 's14', entry: 'early' }, 'entry_not_available'],
      [{ entry: 'midnight' as never }, 'entry_not_available'],
    ];
    for (const [req, reason] of cases) {
      const q = quote(req);
      expect(q, JSON.stringify(req)).toMatchObject({ ok: false, reason });
      expect(q.ok === false && q.message.length > 0).toBe(true);
    }
  });

  it('refuses an entry choice that no rule offers for the type', () => {
    const input = base();
    input.pricing = [{ kind: 'earlyBird', types: ['child'] }];
    const c = parseCatalogue(input);
    const req = { channelId: 'web', visitDate: WEDNESDAY_JUNE };
    expect(priceFor(c, { ...req, typeId: 'adult', entry: 'early' })).toMatchObject({ ok: false, reason: 'entry_not_available' });
    expect(priceFor(c, { ...req, typeId: 'adult', entry: 'night' })).toMatchObject({ ok: false, reason: 'entry_not_available' });
    expect(priceFor(c, { ...req, typeId: 'child', entry: 'early' })).toMatchObject({ ok: true, unitFen: 3200, gateTypeId: 'child@early' });
  });
});

describe('catalogue validation', () => {
  type Case = [name: string, change: (c: ReturnType<typeof base>) => void, expected: string];
  const cases: Case[] = [
    ['duplicate ticket type id', (c) => c.ticketTypes.push({ id: 'adult', name: 'Again', priceFen: 1 }), 'ticketTypes[2].id: duplicate ticket type id "adult"'],
    ['duplicate slot id', (c) => c.slots!.push({ id: 'a', start: '12:00', end: '13:00', quota: 1 }), 'slots[2].id: duplicate slot id "a"'],
    ['duplicate channel id', (c) => c.channels.push({ id: 'web', kind: 'kiosk', apiKeySha256: sha256Hex('k3') }), 'channels[2].id: duplicate channel id "web"'],
    ['duplicate refund code', (c) => c.refundReasons.push({ code: 'weather', label: 'Rain' }), 'refundReasons[1].code: duplicate refund reason code "weather"'],
    ['duplicate API key hash', (c) => (c.channels[1]!.apiKeySha256 = KEY), 'channels[1].apiKeySha256: same API key hash as channels[0] ("web")'],
    ['rule naming an unknown type', (c) => c.pricing!.push({ kind: 'channelPrice', channel: 'web', type: 'vip', priceFen: 1 }), 'pricing[3].type: unknown ticket type "vip" (known: adult, child)'],
    ['rule naming an unknown channel', (c) => c.pricing!.push({ kind: 'channelPrice', channel: 'alipay', type: 'child', priceFen: 1 }), 'pricing[3].channel: unknown channel "alipay" (known: web, kiosk)'],
    ['discount for an unknown type', (c) => (c.pricing![0] = { kind: 'earlyBird', types: ['adult', 'vip'] }), 'pricing[0].types[1]: unknown ticket type "vip"'],
    ['slot end not after start', (c) => (c.slots![0] = { id: 'a', start: '10:00', end: '08:00', quota: 1 }), 'slots[0].end: slot "a" ends at 08:00, which is not after its start 10:00'],
    ['overlapping slots', (c) => c.slots!.push({ id: 'c', start: '09:00', end: '11:00', quota: 1 }), 'slots[2].start: slot "c" (09:00–11:00) overlaps slot "a" (08:00–10:00)'],
    ['percentOff 0', (c) => (c.pricing![0] = { kind: 'earlyBird', percentOff: 0 }), 'pricing[0].percentOff: percentOff must be a whole number from 1 to 99'],
    ['percentOff 100', (c) => (c.pricing![1] = { kind: 'night', percentOff: 100 }), 'pricing[1].percentOff: percentOff must be a whole number from 1 to 99'],
    ['percentOff 12.5', (c) => c.pricing!.push({ kind: 'offSeasonWeekend', months: [1], percentOff: 12.5 }), 'pricing[3].percentOff: percentOff must be a whole number from 1 to 99'],
    ['early-bird after night', (c) => (c.pricing![0] = { kind: 'earlyBird', before: '18:00' }), 'pricing[0].before: early-bird entry before 18:00 is after night entry from 17:00 (pricing[1])'],
    ['two early-bird rules for one type', (c) => c.pricing!.push({ kind: 'earlyBird', before: '07:00', types: ['child'] }), 'pricing[3]: a second earlyBird rule for ticket type "child" (pricing[0] already covers it)'],
    ['unknown channel on a type', (c) => (c.ticketTypes[0]!.channels = ['web', 'alipay']), 'ticketTypes[0].channels[1]: unknown channel "alipay" (known: web, kiosk)'],
    ['channel price for a type not sold there', (c) => (c.ticketTypes[0]!.channels = ['kiosk']), 'pricing[2]: ticket type "adult" is not sold on channel "web"'],
    ['no ticket types', (c) => (c.ticketTypes = []), 'ticketTypes: at least one ticket type is needed'],
    ['no channels', (c) => (c.channels = []), 'channels: at least one sales channel is needed'],
    ['missing channels', (c) => delete (c as Record<string, unknown>).channels, 'channels: missing: list the sales channels'],
    ['price in yuan with decimals', (c) => (c.ticketTypes[0]!.priceFen = 80.5), 'ticketTypes[0].priceFen: money is whole fen'],
    ['negative price', (c) => (c.ticketTypes[1]!.priceFen = -1), 'ticketTypes[1].priceFen: a price cannot be negative'],
    ['bad time of day', (c) => (c.slots![0]!.start = '8:00'), 'slots[0].start: expected a time of day "HH:MM"'],
    ['"@" in a type id', (c) => (c.ticketTypes[0]!.id = 'adult@vip'), 'ticketTypes[0].id: letters, digits, _ and - only'],
    ['gate rule the gates would refuse', (c) => (c.ticketTypes[0]!.entryWindow = { from: '09:00', to: '09:00' }), 'ticketTypes[0].entryWindow: entry window from and to must differ'],
    ['key stored in clear', (c) => (c.channels[0]!.apiKeySha256 = 'secret'), 'channels[0].apiKeySha256: expected the SHA-256 of the API key'],
    ['unknown rule kind', (c) => c.pricing!.push({ kind: 'coupon' } as never), 'pricing[3].kind: kind must be one of earlyBird, night, offSeasonWeekend, channelPrice'],
    ['off-season month 13', (c) => c.pricing!.push({ kind: 'offSeasonWeekend', months: [12, 13], percentOff: 10 }), 'pricing[3].months[1]: months are 1–12'],
    ['typo in a field name', (c) => ((c.ticketTypes[0] as Record<string, unknown>).prize = 1), 'ticketTypes[0]: Unrecognized key: "prize"'],
    ['unknown time zone', (c) => (c.timeZone = 'Asia/Beijing'), 'timeZone: unknown IANA time zone'],
    ['other currency', (c) => (c.currency = 'USD' as never), 'currency: only CNY is supported'],
    ['type window leaves no early entry', (c) => {
      c.ticketTypes[1]!.entryWindow = { from: '09:00', to: '17:00' };
      c.pricing![0] = { kind: 'earlyBird', types: ['child'] };
    }, 'pricing[0].types[0]: ticket type "child" has entry window 09:00–17:00, which leaves no entry before 08:00'],
    ['type window that splits the night window', (c) => (c.ticketTypes[1]!.entryWindow = { from: '20:00', to: '18:00' }), 'ticketTypes[1].entryWindow: entry window 20:00–18:00 splits the night window'],
  ];

  it('the base catalogue is valid', () => {
    expect(catalogueIssues(base())).toEqual([]);
  });

  it.each(cases)('%s', (_name, change, expected) => {
    const input = base();
    change(input);
    const issues = catalogueIssues(input);
    expect(issues.some((i) => i.startsWith(expected)), `${issues.join('\n')}\n-- expected: ${expected}`).toBe(true);
    expect(() => parseCatalogue(input)).toThrow(expected);
  });

  it('parseCatalogue reports every issue, one "path: message" per line, as CONFIG_INVALID', () => {
    const input = base();
    input.pricing!.push({ kind: 'channelPrice', channel: 'web', type: 'vip', priceFen: 1 });
    input.slots!.push({ id: 'c', start: '11:00', end: '13:00', quota: 1 });
    let caught: unknown;
    try {
      parseCatalogue(input);
    } catch (err) {
      caught = err;
    }
    expect(isStileError(caught, StileErrorCode.ConfigInvalid)).toBe(true);
    const lines = (caught as Error).message.split('\n');
    expect(lines).toEqual(catalogueIssues(input));
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => /^[\w[\].]+: \S/.test(l))).toBe(true);
  });

  it('fills defaults from the issue: 08:00 / 20% early-bird, 17:00 / 30% night, one person, CNY, Asia/Shanghai', () => {
    const c = parseCatalogue(base());
    expect(c.pricing[0]).toEqual({ kind: 'earlyBird', before: '08:00', percentOff: 20 });
    expect(c.pricing[1]).toEqual({ kind: 'night', from: '17:00', percentOff: 30 });
    expect(c.ticketTypes[0]).toMatchObject({ persons: 1, days: 'any', entries: { mode: 'single' }, antiPassbackSec: 0 });
    expect(c).toMatchObject({ currency: 'CNY', timeZone: 'Asia/Shanghai' });
  });

  it('real-name rules: one ticket per ID number per day and 180 days ahead unless the catalogue says otherwise; bad values are named', () => {
    expect(parseCatalogue(base()).realName).toEqual({ ticketsPerIdPerDay: 1, bookingHorizonDays: 180 });
    expect(parseCatalogue({ ...base(), realName: { ticketsPerIdPerDay: 3 } }).realName).toEqual({ ticketsPerIdPerDay: 3, bookingHorizonDays: 180 });
    expect(parseCatalogue({ ...base(), realName: { bookingHorizonDays: 0 } }).realName).toEqual({ ticketsPerIdPerDay: 1, bookingHorizonDays: 0 });
    expect(catalogueIssues({ ...base(), realName: { ticketsPerIdPerDay: 0, bookingHorizonDays: 1.5, perPhone: 2 } }).sort()).toEqual(
      ['realName: Unrecognized key: "perPhone"', 'realName.ticketsPerIdPerDay: ticketsPerIdPerDay must be at least 1', 'realName.bookingHorizonDays: bookingHorizonDays must be a whole number of days'].sort(),
    );
  });
});

describe('gateTicketTypes', () => {
  it('gives every type and its early/night variants with the windows the gates enforce', () => {
    const types = gateTicketTypes(demo);
    const byId = new Map(types.map((t) => [t.id, t]));
    expect(types.map((t) => t.id)).toEqual(
      ['adult', 'child', 'senior', 'family', 'weekend', 'flex', 'hotel', 'farmstay'].flatMap((id) => [id, `${id}@early`, `${id}@night`]),
    );
    expect(byId.get('adult')?.entryWindow).toBeUndefined();
    expect(byId.get('adult')?.name).toBe('成人票 Adult');
    expect(byId.get('adult@early')).toMatchObject({ name: '成人票(早鸟) Adult (early entry)', entryWindow: { from: '00:00', to: '08:00' }, slotGrace: { earlyMin: 15, lateMin: 30 } });
    expect(byId.get('adult@night')).toMatchObject({ name: '成人票(夜场) Adult (night entry)', entryWindow: { from: '17:00', to: '24:00' } });
    for (const t of types) expect(TicketTypeSchema.parse(t)).toEqual(t);
  });

  it('every gate type id priceFor hands out exists, with the same window', () => {
    const byId = new Map(gateTicketTypes(demo).map((t) => [t.id, t]));
    for (const t of demo.ticketTypes) {
      for (const entry of [undefined, 'early', 'night'] as const) {
        const q = quote({ typeId: t.id, visitDate: SATURDAY_JUNE, channelId: 'kiosk', ...(entry ? { entry } : {}) });
        expect(q.ok).toBe(true);
        if (!q.ok) continue;
        expect(byId.get(q.gateTypeId)?.entryWindow).toEqual(q.entryWindow);
      }
    }
  });

  it("cuts the rule's window by the type's own entry window, and drops a variant with no time left", () => {
    const input = base();
    input.ticketTypes[0]!.entryWindow = { from: '09:00', to: '20:00' };
    const c = parseCatalogue(input);
    const ids = gateTicketTypes(c).map((t) => t.id);
    expect(ids).toContain('adult@night');
    expect(ids).not.toContain('adult@early');
    expect(gateTicketTypes(c).find((t) => t.id === 'adult@night')?.entryWindow).toEqual({ from: '17:00', to: '20:00' });
    const req = { typeId: 'adult', channelId: 'kiosk', visitDate: WEDNESDAY_JUNE };
    expect(priceFor(c, { ...req, entry: 'night' })).toMatchObject({ ok: true, unitFen: 5600, entryWindow: { from: '17:00', to: '20:00' } });
    expect(priceFor(c, { ...req, entry: 'early' })).toMatchObject({ ok: false, reason: 'entry_not_available' });
  });

  it('keeps a wrapping night window the gate understands (22:00–02:00 stays one window)', () => {
    const input = base();
    input.ticketTypes[0]!.entryWindow = { from: '22:00', to: '02:00' };
    input.pricing = [{ kind: 'night', from: '00:00' }];
    const night = gateTicketTypes(parseCatalogue(input)).find((t) => t.id === 'adult@night');
    expect(night?.entryWindow).toEqual({ from: '22:00', to: '02:00' });
  });
});

describe('properties', () => {
  const anyText = fc.oneof(fc.string(), fc.constantFrom('adult', 'child', 'senior', 'family', 'weekend', 'wechat', 'meituan', 'kiosk', 'early', 'night', 's08', 's16'));
  const anyDate = fc.oneof(
    fc.string(),
    fc.date({ min: new Date(Date.UTC(1970, 0, 1)), max: new Date(Date.UTC(2100, 11, 31)), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 })).map(
      ([y, m, d]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`,
    ),
  );
  const anyRequest = fc.record(
    {
      typeId: anyText,
      channelId: anyText,
      visitDate: anyDate,
      slotId: anyText,
      entry: fc.constantFrom('early', 'night', 'dusk', ''),
    },
    { requiredKeys: ['typeId', 'channelId', 'visitDate'] },
  ) as fc.Arbitrary<PriceRequest>;

  const check = (c: ReturnType<typeof parseCatalogue>, req: PriceRequest) => {
    const q = priceFor(c, req);
    if (q.ok) {
      expect(Number.isInteger(q.unitFen)).toBe(true);
      expect(q.unitFen).toBeGreaterThanOrEqual(0);
      expect(q.unitFen).toBeLessThanOrEqual(q.baseFen);
      expect(q.discounts.length).toBeLessThanOrEqual(1);
    } else {
      expect(q.message.length).toBeGreaterThan(0);
    }
  };

  it('priceFor never throws and never returns a negative or fractional price (demo catalogue)', () => {
    fc.assert(fc.property(anyRequest, (req) => check(demo, req)), { numRuns: 2000 });
  });

  it('holds for random valid catalogues too', () => {
    const pct = fc.integer({ min: 1, max: 99 });
    const fenArb = fc.integer({ min: 0, max: 10_000_000 });
    const hour = fc.integer({ min: 1, max: 23 }).map((h) => `${String(h).padStart(2, '0')}:00`);
    const catalogue = fc
      .record({ adult: fenArb, child: fenArb, channelFen: fenArb, early: pct, night: pct, off: pct, a: hour, b: hour })
      .map((r) => {
        const input = base();
        input.ticketTypes = [
          { id: 'adult', name: 'Adult', priceFen: r.adult },
          { id: 'child', name: 'Child', priceFen: r.child, persons: 2 },
        ];
        const [before, from] = r.a <= r.b ? [r.a, r.b] : [r.b, r.a];
        input.slots = [
          { id: 'early', start: '00:00', end: before, quota: 1 },
          { id: 'night', start: from, end: '24:00', quota: 1 },
        ];
        input.pricing = [
          { kind: 'earlyBird', before, percentOff: r.early },
          { kind: 'night', from, percentOff: r.night },
          { kind: 'offSeasonWeekend', months: [1, 6], percentOff: r.off },
          { kind: 'channelPrice', channel: 'web', type: 'adult', priceFen: r.channelFen },
        ];
        return parseCatalogue(input);
      });
    fc.assert(fc.property(catalogue, anyRequest, (c, req) => check(c, req)), { numRuns: 500 });
  });
});
