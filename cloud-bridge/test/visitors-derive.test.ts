import { describe, expect, it } from 'vitest';
import { DEFAULT_AGE_BANDS, VisitorsConfigSchema } from '../src/core/site-config/visitors.js';
import { ageAt, idAttributes, parseAgeBands, phoneSegment } from '../src/modules/visitors/derive.js';
import { haversineKm, loadRegionData, parsePhoneSegments } from '../src/modules/visitors/geo.js';
import { optOutPath, optOutToken, verifyOptOutToken } from '../src/modules/visitors/opt-out.js';
import { shares } from '../src/modules/visitors/repository.js';
import { computeTags } from '../src/modules/visitors/tags.js';
import { idNumber } from './helpers.js';

const bands = parseAgeBands(DEFAULT_AGE_BANDS);

describe('sale-time derivation', () => {
  it('counts age in completed years at the visit date, birthday included', () => {
    expect(ageAt('1990-03-10', '2027-03-09')).toBe(36);
    expect(ageAt('1990-03-10', '2027-03-10')).toBe(37);
    expect(ageAt('2000-02-29', '2027-02-28')).toBe(26);
  });

  it('takes age band, gender (17th digit) and city (first 4 digits) from the ID number', () => {
    // idNumber(1): 110105 19900101 001 → male, Beijing, 37 in 2027.
    expect(idAttributes(idNumber(1), '2027-03-10', bands)).toEqual({ ageBand: '30-44', gender: 'm', region: '1101' });
    expect(idAttributes(idNumber(2), '2027-03-10', bands).gender).toBe('f');
    // Turning 18 on the visit day moves the band that day.
    const teen = '11010520090310002';
    expect(idAttributes(`${teen}X`, '2027-03-09', bands).ageBand).toBe('0-17');
    expect(idAttributes(`${teen}X`, '2027-03-10', bands).ageBand).toBe('18-29');
    expect(idAttributes(idNumber(1), '2060-01-01', bands).ageBand).toBe('60+');
  });

  it('takes configurable bands and refuses gaps, overlaps and a closed last band with the reason', () => {
    expect(parseAgeBands(['0-12', '13+']).map((b) => b.label)).toEqual(['0-12', '13+']);
    expect(() => parseAgeBands(['0-17', '20+'])).toThrow(/start at 18/);
    expect(() => parseAgeBands(['0-17', '10+'])).toThrow(/start at 18/);
    expect(() => parseAgeBands(['0-17', '18-99'])).toThrow(/open-ended/);
    expect(() => parseAgeBands(['1-17', '18+'])).toThrow(/start at 0/);
    expect(() => VisitorsConfigSchema.parse({ ageBands: ['adult'] })).toThrow(/age band/);
    // cloud.yaml is checked at load, with the reason.
    expect(() => VisitorsConfigSchema.parse({ ageBands: ['0-17', '20+'] })).toThrow(/start at 18/);
    expect(VisitorsConfigSchema.parse({})).toMatchObject({ ageBands: DEFAULT_AGE_BANDS, retentionDays: 730, minGroup: 10, tags: [] });
  });

  it('finds a mobile number segment in the usual spellings, nothing else', () => {
    expect(phoneSegment('13800138000')).toBe('1380013');
    expect(phoneSegment('+86 138-0013-8000')).toBe('1380013');
    expect(phoneSegment('008613800138000')).toBe('1380013');
    expect(phoneSegment('010-12345678')).toBeUndefined();
    expect(phoneSegment('1380013800')).toBeUndefined();
  });
});

describe('shipped region tables', () => {
  const regions = loadRegionData();

  it('knows the home city of real segments and the names of GB/T 2260 codes', () => {
    expect(regions.phoneRegion('13800138000')).toBe('1101'); // 北京
    expect(regions.phoneRegion('13900000000')).toBeDefined();
    expect(regions.phoneRegion('19900000000')).toBeUndefined(); // 199 is newer than the table
    expect(regions.names('3301')).toEqual({ province: '浙江省', city: '杭州市' });
    expect(regions.names('1101')).toEqual({ province: '北京市', city: '北京市' });
    expect(regions.names('8100').province).toBe('香港特别行政区');
    expect(Object.keys(regions.table.provinces)).toHaveLength(34);
  });

  it('measures distances from city centres, a province capital when the city has none', () => {
    const bj = regions.centre('1101')!;
    const sh = regions.centre('3101')!;
    const km = haversineKm({ lng: bj[0], lat: bj[1] }, { lng: sh[0], lat: sh[1] });
    expect(km).toBeGreaterThan(1000);
    expect(km).toBeLessThan(1150);
    expect(regions.centre('4190')).toEqual(regions.centre('4100')); // 河南 county-level cities → 郑州
  });

  it('parses the run-length segment format', () => {
    const lookup = parsePhoneSegments('# regions: 1101 3301\n130 a.1 5.0 2.2 7rt.0\n');
    expect(lookup('1300009')).toBe('1101');
    expect(lookup('1300010')).toBeUndefined();
    expect(lookup('1300015')).toBe('3301');
    expect(lookup('1300017')).toBeUndefined();
    expect(lookup('1310000')).toBeUndefined();
  });
});

describe('tags, shares, opt-out tokens', () => {
  const rules = VisitorsConfigSchema.parse({
    tags: [{ tag: 'family', partySizeAtLeast: 3 }, { tag: 'high-spend', spendAtLeastFen: 30000 }, { tag: 'culture', types: ['museum'], posCategories: ['books'] }, { tag: 'big-family-spender', partySizeAtLeast: 4, spendAtLeastFen: 50000 }],
  }).tags;
  const facts = { maxPartySize: 1, ticketFen: 0, posFen: 0, types: new Set<string>(), posCategories: new Set<string>() };

  it('computes tags from rules as data: every condition of a rule must hold', () => {
    expect(computeTags(facts, rules)).toEqual([]);
    expect(computeTags({ ...facts, maxPartySize: 3 }, rules)).toEqual(['family']);
    expect(computeTags({ ...facts, ticketFen: 20000, posFen: 10000 }, rules)).toEqual(['high-spend']);
    expect(computeTags({ ...facts, posCategories: new Set(['books']) }, rules)).toEqual(['culture']);
    expect(computeTags({ ...facts, types: new Set(['museum']) }, rules)).toEqual(['culture']);
    expect(computeTags({ ...facts, maxPartySize: 4, ticketFen: 50000 }, rules)).toEqual(['big-family-spender', 'family', 'high-spend']);
    expect(() => VisitorsConfigSchema.parse({ tags: [{ tag: 'empty' }] })).toThrow(/at least one condition/);
  });

  it('splits an amount to the fen', () => {
    expect(shares(10000, 3)).toEqual([3334, 3333, 3333]);
    expect(shares(0, 2)).toEqual([0, 0]);
    expect(shares(7, 7).reduce((a, b) => a + b, 0)).toBe(7);
  });

  it('verifies its own opt-out tokens only', () => {
    const h = 'a'.repeat(64);
    const t = optOutToken('site-key', 'park', h);
    expect(verifyOptOutToken('site-key', 'park', t)).toBe(h);
    expect(verifyOptOutToken('other-key', 'park', t)).toBeUndefined();
    expect(verifyOptOutToken('site-key', 'other-park', t)).toBeUndefined();
    expect(verifyOptOutToken('site-key', 'park', `${'b'.repeat(64)}${t.slice(64)}`)).toBeUndefined();
    expect(verifyOptOutToken('site-key', 'park', 'garbage')).toBeUndefined();
    expect(optOutPath('park', t)).toBe(`/v1/visitor/park/opt-out?t=${t}`);
  });
});
