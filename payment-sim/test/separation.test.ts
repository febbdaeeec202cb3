import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The simulator's protocol code is written apart from cloud-bridge's payment client: if both
 * imported one implementation, a bug in it would sign and verify its own mistakes.
 */
describe('payment-sim imports', () => {
  it('imports only node:, @stile/config, npm packages and its own files — never cloud-bridge', () => {
    const src = fileURLToPath(new URL('../src', import.meta.url));
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(src);
    expect(files.length).toBeGreaterThan(5);
    const bad: string[] = [];
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/from '([^']+)'|import\('([^']+)'\)/g)) {
        const spec = m[1] ?? m[2]!;
        const ok = spec.startsWith('node:') || spec === '@stile/config' || (spec.startsWith('.') && !spec.includes('cloud-bridge')) || (!spec.startsWith('@stile/') && !spec.startsWith('.') && !spec.includes('cloud-bridge'));
        if (!ok) bad.push(`${f}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
