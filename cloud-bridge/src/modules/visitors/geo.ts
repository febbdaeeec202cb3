import { readFileSync } from 'node:fs';
import { phoneSegment } from './derive.js';

/*
 * The region tables under cloud-bridge/data (docs/visitor-data/profiles.md says where they come
 * from and how to update them): GB/T 2260 provinces and cities with centre coordinates, and the
 * mobile number segments' home cities. Parsing is pure; `loadRegionData` reads the shipped files.
 */

export interface RegionTable {
  provinces: Record<string, { name: string; at?: [number, number] }>;
  cities: Record<string, { name: string; at?: [number, number] }>;
}

/** 7-digit segment → GB/T 2260 city code ("PP00": province only). */
export type PhoneSegments = (segment: string) => string | undefined;

/** data/phone-segments.txt (format in scripts/update-phone-segments.mjs) → lookup. */
export function parsePhoneSegments(text: string): PhoneSegments {
  let codes: string[] = [];
  const byPrefix = new Map<string, { ends: Uint16Array; idx: Uint16Array }>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# regions: ')) codes = line.slice('# regions: '.length).trim().split(' ');
    if (line.startsWith('#') || line.trim() === '') continue;
    const [prefix, ...runs] = line.trim().split(' ');
    const ends = new Uint16Array(runs.length);
    const idx = new Uint16Array(runs.length);
    let at = 0;
    runs.forEach((r, i) => {
      const [len, ix] = r.split('.');
      at += parseInt(len!, 36);
      ends[i] = at;
      idx[i] = parseInt(ix!, 36);
    });
    byPrefix.set(prefix!, { ends, idx });
  }
  return (segment) => {
    const p = byPrefix.get(segment.slice(0, 3));
    if (!p) return undefined;
    const n = Number(segment.slice(3));
    // Binary search for the first run ending after n.
    let lo = 0;
    let hi = p.ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (p.ends[mid]! > n) hi = mid;
      else lo = mid + 1;
    }
    const i = p.idx[lo]!;
    return i === 0 ? undefined : codes[i - 1];
  };
}

export interface RegionData {
  table: RegionTable;
  /** The home city code of a contact phone; undefined for a number not in the table (or not a mainland mobile). */
  phoneRegion(phone: string): string | undefined;
  /** Province and city names of a 4-digit code (city null when not known). */
  names(code: string): { province: string | null; city: string | null };
  /** Centre of the city, else of its province's capital. */
  centre(code: string): [number, number] | undefined;
}

export function regionData(table: RegionTable, segments: PhoneSegments): RegionData {
  return {
    table,
    phoneRegion: (phone) => {
      const seg = phoneSegment(phone);
      return seg ? segments(seg) : undefined;
    },
    names: (code) => ({ province: table.provinces[code.slice(0, 2)]?.name ?? null, city: table.cities[code]?.name ?? null }),
    centre: (code) => table.cities[code]?.at ?? table.provinces[code.slice(0, 2)]?.at,
  };
}

let loaded: RegionData | undefined;
/** The shipped tables (read once; ~0.4 MB). */
export function loadRegionData(): RegionData {
  if (!loaded) {
    const dir = new URL('../../../data/', import.meta.url);
    const table = JSON.parse(readFileSync(new URL('regions.json', dir), 'utf8')) as RegionTable;
    loaded = regionData(table, parsePhoneSegments(readFileSync(new URL('phone-segments.txt', dir), 'utf8')));
  }
  return loaded;
}

/** Great-circle distance in km. */
export function haversineKm(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}
