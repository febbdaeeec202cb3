/** docs/doctor.md's tables are the doctors' own words: regenerated here, they must match the doc. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { doctor } from '@stile/gate-agent';
import { renderDoctorTables, withDoctorTables } from '../../src/cli/doctor-doc.js';
import { KIOSK_PROBLEMS } from '../../src/cli/doctor-problems.js';

const DOC = fileURLToPath(new URL('../../../docs/doctor.md', import.meta.url));

describe('docs/doctor.md', () => {
  it('is in step with the checks\' catalogues (else: npx tsc -b && node kiosk-agent/scripts/doctor-doc.mjs)', () => {
    const doc = readFileSync(DOC, 'utf8');
    expect(withDoctorTables(doc)).toBe(doc);
  });

  it('lists every problem either doctor can report, with its fix', () => {
    const tables = renderDoctorTables();
    for (const key of [...Object.keys(doctor.PROBLEMS), ...Object.keys(KIOSK_PROBLEMS)]) expect(tables).toContain(`| \`${key}\` |`);
    // A placeholder outside a code span would be read as an HTML tag.
    expect(tables.replace(/`[^`]*`/g, '')).not.toMatch(/<\w+>/);
  });
});
