/**
 * The generated season's building blocks (season.ts): a seeded PRNG, park-local dates and
 * the synthetic people (valid ID numbers that never leave the generator, home cities of
 * GB/T 2260, age bands as the visitors module shows them).
 */
/** Asia/Shanghai, no DST. */
export const TZ_OFFSET_H = 8;

/* ---------- deterministic randomness ---------- */

/** mulberry32, the simulator's (the same on every machine): the same seed gives the same season. */
export { seededRandom as prng } from '@stile/hardware-sim';

export function pick<T>(rnd: () => number, weighted: readonly (readonly [T, number])[]): T {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let x = rnd() * total;
  for (const [v, w] of weighted) {
    x -= w;
    if (x < 0) return v;
  }
  return weighted.at(-1)![0];
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
export function token(rnd: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += B32[Math.floor(rnd() * 32)];
  return s;
}

/* ---------- dates ---------- */

// Cached: the generator asks for the same few hundred dates tens of thousands of times.
const midnights = new Map<string, number>();
/** UTC milliseconds of a park-local midnight. */
export function midnight(date: string): number {
  let ms = midnights.get(date);
  if (ms === undefined) {
    ms = Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) - TZ_OFFSET_H * 3600_000;
    midnights.set(date, ms);
  }
  return ms;
}
const shifted = new Map<string, string>();
export function addDays(date: string, n: number): string {
  const key = `${date}|${n}`;
  let d = shifted.get(key);
  if (d === undefined) {
    d = new Date(midnight(date) + TZ_OFFSET_H * 3600_000 + n * 86_400_000).toISOString().slice(0, 10);
    shifted.set(key, d);
  }
  return d;
}
/** A park-local date and minute of day as an ISO instant. */
export function at(date: string, minute: number, second = 0): string {
  return new Date(midnight(date) + minute * 60_000 + second * 1000).toISOString();
}
export function weekday(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/* ---------- people ---------- */

/**
 * Home cities (GB/T 2260, 4 digits) of the park's visitors: a park near Hangzhou, so mostly
 * Zhejiang, then Shanghai and Jiangsu, a few from far away. The weights are the mix.
 */
export const CITIES: readonly (readonly [string, number])[] = [
  ['3301', 34], // 杭州
  ['3302', 6], // 宁波
  ['3303', 3], // 温州
  ['3304', 5], // 嘉兴
  ['3305', 4], // 湖州
  ['3306', 5], // 绍兴
  ['3307', 3], // 金华
  ['3101', 12], // 上海
  ['3201', 4], // 南京
  ['3205', 5], // 苏州
  ['3202', 3], // 无锡
  ['3401', 3], // 合肥
  ['3601', 2], // 南昌
  ['1101', 3], // 北京
  ['4401', 2], // 广州
  ['4403', 2], // 深圳
  ['5101', 1], // 成都
  ['4201', 2], // 武汉
];

export const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高';
export const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀英', '霞', '平', '刚', '桂英', '浩然', '子涵', '欣怡', '梓轩', '一诺', '雨桐'];
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/** A valid synthetic resident ID number (GB 11643 check character). It never leaves this module. */
export function idNumberOf(region: string, birth: string, seq: number, female: boolean): string {
  const odd = seq % 500;
  const s = `${region}01${birth.replace(/-/g, '')}${String(odd * 2 + (female ? 0 : 1)).padStart(3, '0')}`;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(s[i]) * ID_WEIGHTS[i]!;
  return s + '10X98765432'[sum % 11]!;
}

/** The age band of a birth date on a day: the visitors module's default bands (sites[].visitors.ageBands). */
export function ageBand(birth: string, on: string): string {
  let age = Number(on.slice(0, 4)) - Number(birth.slice(0, 4));
  if (on.slice(5) < birth.slice(5)) age--;
  if (age < 18) return '0-17';
  if (age < 30) return '18-29';
  if (age < 45) return '30-44';
  if (age < 60) return '45-59';
  return '60+';
}

export interface Person {
  idHash: string;
  idMasked: string;
  name: string;
  birth: string;
  gender: 'f' | 'm';
  region: string;
  phone: string;
  phoneRegion: string;
  /** How keen: repeat visitors come back. */
  loyalty: number;
  consent: boolean;
}

