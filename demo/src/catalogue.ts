import { randomBytes } from 'node:crypto';
import { parseCatalogue, sha256Hex, type Catalogue } from '@stile/cloud-bridge/catalogue';

/*
 * The demo park's catalogue and the API keys of its sales channels. Both live here, in the
 * demo package, and nowhere in the production packages: cloud-bridge knows only the SHA-256
 * digests of these keys, as a denylist of published keys (cloud-bridge/src/credential-checks.ts),
 * and refuses a catalogue that uses one unless the config says `demo: true`.
 */

/**
 * Fixed API keys of the demo channels; the demo prints them, the catalogue holds only their
 * hashes. They are public: a cloud not in demo mode refuses a catalogue that uses them.
 */
export const DEMO_API_KEYS = {
  wechat: 'demo-wechat-key',
  meituan: 'demo-meituan-key',
  kiosk: 'demo-kiosk-key',
} as const;

/** The partners of the demo's combos (cloud.yaml sites[].partners): a hotel and a farm stay. */
export const DEMO_PARTNERS = [
  { id: 'lakeside-hotel', name: '湖畔酒店 Lakeside Hotel' },
  { id: 'green-farm', name: '青山农家乐 Green Hill Farm Stay' },
] as const;

/**
 * The catalogue with the park's own booking page channel `web` (`/book/{site}`, docs/booking.md):
 * online, paid through WeChat Pay / Alipay (the simulator in the demo). The page sells through
 * the booking routes, never with an API key, so its key is random per run (and never printed).
 */
export function withBookingChannel(catalogue: Catalogue): Catalogue {
  const web = { id: 'web', name: { 'zh-CN': '官网购票', en: 'Booking page' }, kind: 'online' as const, apiKeySha256: sha256Hex(randomBytes(32).toString('hex')), payment: 'provider' as const };
  return { ...catalogue, channels: [...catalogue.channels.filter((c) => c.id !== 'web'), web] };
}

/** A realistic catalogue for a small 3A scenic park, every name in Chinese and English. */
export function demoCatalogue(): Catalogue {
  const grace = { earlyMin: 15, lateMin: 30 };
  return parseCatalogue({
    name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' },
    currency: 'CNY',
    timeZone: 'Asia/Shanghai',
    ticketTypes: [
      { id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000, slotGrace: grace },
      { id: 'child', name: { 'zh-CN': '儿童票（1.2–1.5 米）', en: 'Child (1.2–1.5 m)' }, priceFen: 4000, slotGrace: grace },
      { id: 'senior', name: { 'zh-CN': '老人票（60 岁以上）', en: 'Senior (60+)' }, priceFen: 4000, slotGrace: grace },
      { id: 'family', name: { 'zh-CN': '家庭套票（2 大 1 小）', en: 'Family package (2 adults + 1 child)' }, priceFen: 18000, persons: 3, slotGrace: grace },
      { id: 'weekend', name: { 'zh-CN': '周末特惠票', en: 'Weekend special' }, priceFen: 6800, days: 'weekend', channels: ['wechat', 'kiosk'], slotGrace: grace },
      // #19: free rebooking until 2 hours before the slot; two combos whose price is shared with partners (DEMO_PARTNERS).
      { id: 'flex', name: { 'zh-CN': '随心改期票（免费改期）', en: 'Flexible date (free rebooking)' }, priceFen: 9000, slotGrace: grace, rebooking: { freeUntilHoursBefore: 2 } },
      {
        id: 'hotel',
        name: { 'zh-CN': '门票 + 湖畔酒店一晚（2 人）', en: 'Tickets + lakeside hotel night (2 persons)' },
        priceFen: 46000,
        persons: 2,
        slotGrace: grace,
        combo: { parts: [{ id: 'hotel-night', partner: 'lakeside-hotel', name: '湖畔酒店 标准间一晚', share: { fixedFen: 30000 } }] },
      },
      {
        id: 'farmstay',
        name: { 'zh-CN': '门票 + 农家乐午餐', en: 'Ticket + farm-stay lunch' },
        priceFen: 12800,
        slotGrace: grace,
        combo: { parts: [{ id: 'farm-lunch', partner: 'green-farm', name: '青山农家乐 午餐', share: { percent: 35 } }] },
      },
    ],
    slots: [
      { id: 'early', start: '06:30', end: '08:00', quota: 200, name: { 'zh-CN': '早场', en: 'Early' } },
      { id: 's08', start: '08:00', end: '10:00', quota: 800 },
      { id: 's10', start: '10:00', end: '12:00', quota: 1000 },
      { id: 's12', start: '12:00', end: '14:00', quota: 1000 },
      { id: 's14', start: '14:00', end: '16:00', quota: 800 },
      { id: 's16', start: '16:00', end: '18:00', quota: 500 },
      // Starts at 18:00, not 17:00: slots may not overlap and 16:00–18:00 is a day slot.
      { id: 'night', start: '18:00', end: '21:00', quota: 600, name: { 'zh-CN': '夜场', en: 'Night' } },
    ],
    pricing: [
      { kind: 'earlyBird', before: '08:00', percentOff: 20 },
      { kind: 'night', from: '17:00', percentOff: 30 },
      // Off-season: winter and early spring weekends, for the single-person tickets.
      { kind: 'offSeasonWeekend', months: [1, 2, 3, 11, 12], percentOff: 15, types: ['adult', 'child', 'senior'] },
      { kind: 'channelPrice', channel: 'meituan', type: 'adult', priceFen: 7600 },
      { kind: 'channelPrice', channel: 'meituan', type: 'family', priceFen: 17000 },
    ],
    channels: [
      { id: 'wechat', name: { 'zh-CN': '微信小程序', en: 'WeChat mini-program' }, kind: 'online', apiKeySha256: sha256Hex(DEMO_API_KEYS.wechat) },
      { id: 'meituan', name: { 'zh-CN': '美团', en: 'Meituan' }, kind: 'online', apiKeySha256: sha256Hex(DEMO_API_KEYS.meituan) },
      { id: 'kiosk', name: { 'zh-CN': '自助售票机', en: 'On-site kiosk' }, kind: 'kiosk', apiKeySha256: sha256Hex(DEMO_API_KEYS.kiosk) },
    ],
    refundReasons: [
      { code: 'schedule', label: { 'zh-CN': '时间冲突 / 行程安排不开', en: 'Schedule conflict' } },
      { code: 'weather', label: { 'zh-CN': '天气原因 / 景区闭园', en: 'Bad weather / park closed' } },
      { code: 'illness', label: { 'zh-CN': '身体不适', en: 'Illness' } },
      { code: 'changed_plans', label: { 'zh-CN': '行程变更', en: 'Changed plans' } },
      { code: 'duplicate_order', label: { 'zh-CN': '重复下单', en: 'Duplicate order' } },
    ],
  });
}
