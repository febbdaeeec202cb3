#!/usr/bin/env node
// Regenerates data/phone-segments.txt: the home region of Chinese mobile number segments (the
// first 7 digits) as GB/T 2260 city codes, for the visitors module (docs/visitor-data/profiles.md).
//
//   node cloud-bridge/scripts/update-phone-segments.mjs <input> [--source "<where it came from>"]
//
// <input> is either
//  - the gzip database of the npm package `query-mobile-phone-area` (MIT, data/mobilephones.data:
//    blocks "type", "area" ("山东 济南") and "number-<3 digits>" with one "area,type" line per
//    4-digit suffix), or
//  - a CSV whose first three columns are the 7-digit segment, province and city (the common
//    public "号段,省份,城市,…" layout; a header line is skipped).
// Province and city names are matched to data/regions.json (run update-regions.mjs first);
// a city that is not found (renamed or abolished) keeps its province (code PP00).
//
// Output format, one line per 3-digit prefix: `<prefix> <run> <run> …`, each run
// `<length base36>.<region index base36>` over the suffixes 0000–9999 in order; index 0 means
// "no data". The header lines (starting with #) say the source and list the region codes.
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const input = process.argv[2];
if (!input) {
  console.error('usage: update-phone-segments.mjs <mobilephones.data | segments.csv> [--source "..."]');
  process.exit(2);
}
const si = process.argv.indexOf('--source');
const sourceText = si > 0 ? process.argv[si + 1] : `npm query-mobile-phone-area@1.0.6 data/mobilephones.data (MIT, SuperID, segments as of 2015)`;
const regions = JSON.parse(readFileSync(join(here, '..', 'data', 'regions.json'), 'utf8'));

const provinceEntries = Object.entries(regions.provinces);
const cityEntries = Object.entries(regions.cities);
/** "山东","济南" → "3701"; province only → "3700"; nothing → undefined. */
function regionOf(province, city) {
  const p = provinceEntries.find(([, v]) => v.name.startsWith(province) || province.startsWith(v.name.replace(/(省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区)$/, '')));
  if (!p) return undefined;
  const [pc] = p;
  const c = cityEntries.find(([code, v]) => code.startsWith(pc) && city && (v.name.startsWith(city) || city.startsWith(v.name.replace(/(市|地区|盟|自治州)$/, ''))));
  return c ? c[0] : `${pc}00`;
}

/** segment (7 digits) → region code */
const segments = new Map();
const raw = readFileSync(input);
if (raw[0] === 0x1f && raw[1] === 0x8b) {
  const blocks = gunzipSync(raw).toString('utf8').split('----------\n');
  const area = {};
  for (const b of blocks) {
    const lines = b.split('\n');
    if (lines[0] === 'area') for (const l of lines.slice(1)) {
      const [id, name] = l.trim().split(',');
      if (name) area[id] = name;
    }
  }
  for (const b of blocks) {
    const lines = b.split('\n');
    if (!lines[0].startsWith('number-')) continue;
    const prefix = lines[0].slice(7);
    lines.slice(1).forEach((l, i) => {
      const [a] = l.trim().split(',');
      const name = a ? area[a] : undefined;
      if (!name) return;
      const [prov, city] = name.split(/\s+/);
      const r = regionOf(prov, city);
      if (r) segments.set(prefix + String(i).padStart(4, '0'), r);
    });
  }
} else {
  for (const line of raw.toString('utf8').split(/\r?\n/)) {
    const [seg, prov, city] = line.split(',').map((s) => s.trim().replace(/^"|"$/g, ''));
    if (!/^1\d{6}$/.test(seg ?? '')) continue;
    const r = regionOf(prov, city);
    if (r) segments.set(seg, r);
  }
}

const codes = [...new Set(segments.values())].sort();
const index = new Map(codes.map((c, i) => [c, i + 1]));
const prefixes = [...new Set([...segments.keys()].map((s) => s.slice(0, 3)))].sort();
const lines = [
  `# source: ${sourceText}`,
  `# generated: ${new Date().toISOString().slice(0, 10)} by cloud-bridge/scripts/update-phone-segments.mjs; ${segments.size} segments`,
  `# format: <prefix> then runs <length base36>.<region index base36> over suffixes 0000-9999; index 0 = no data`,
  `# regions: ${codes.join(' ')}`,
];
for (const p of prefixes) {
  const runs = [];
  let cur = -1;
  let len = 0;
  for (let j = 0; j < 10_000; j++) {
    const i = index.get(segments.get(p + String(j).padStart(4, '0'))) ?? 0;
    if (i === cur) len++;
    else {
      if (len > 0) runs.push(`${len.toString(36)}.${cur.toString(36)}`);
      cur = i;
      len = 1;
    }
  }
  runs.push(`${len.toString(36)}.${cur.toString(36)}`);
  lines.push(`${p} ${runs.join(' ')}`);
}
writeFileSync(join(here, '..', 'data', 'phone-segments.txt'), `${lines.join('\n')}\n`);
console.log(`${segments.size} segments in ${prefixes.length} prefixes, ${codes.length} regions (${codes.filter((c) => c.endsWith('00')).length} province-only)`);
