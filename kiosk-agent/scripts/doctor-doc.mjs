#!/usr/bin/env node
// Rewrite the generated tables of docs/doctor.md from the doctors' catalogues (build first: npx tsc -b).
// --check: exit 1 when the doc is out of date instead of writing it.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withDoctorTables } from '../dist/cli/doctor-doc.js';

const file = fileURLToPath(new URL('../../docs/doctor.md', import.meta.url));
const before = readFileSync(file, 'utf8');
const after = withDoctorTables(before);
if (process.argv.includes('--check')) {
  if (after !== before) {
    process.stderr.write('docs/doctor.md is out of date: run node kiosk-agent/scripts/doctor-doc.mjs\n');
    process.exit(1);
  }
} else if (after !== before) {
  writeFileSync(file, after);
  process.stdout.write('docs/doctor.md: tables rewritten\n');
}
