import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../cloud-bridge/src/core/catalogue.js';
import { credentialProblems, demoKeyChannels, PUBLISHED_API_KEY_SHA256 } from '../../cloud-bridge/src/credential-checks.js';
import { DEMO_API_KEYS, demoCatalogue } from '../src/catalogue.js';

/** The demo lives in its own workspace: the production packages ship neither its code nor its keys. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PRODUCTION = ['config', 'gate-agent', 'hardware-sim', 'cloud-bridge'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules' || name === 'dist' || name === 'test' || name.endsWith('.tsbuildinfo')) return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('@stile/demo and the production packages', () => {
  it("cloud-bridge's denylist holds the digest of every published demo key, and refuses them outside demo mode", () => {
    for (const key of Object.values(DEMO_API_KEYS)) expect(PUBLISHED_API_KEY_SHA256.has(sha256Hex(key)), key).toBe(true);
    expect(demoKeyChannels(demoCatalogue())).toEqual(['wechat', 'meituan', 'kiosk']);
    const site = { id: 'demo-park', gates: ['east-1'], controlKey: { id: 'c', privateKeyPem: '' }, sales: { catalogue: demoCatalogue(), capacity: { daily: 10, yellow: 0.7, orange: 0.85 }, idHashKey: 'id-hash-key-for-tests-0123456789' } };
    expect(credentialProblems({ sites: [site] as never })).toHaveLength(3);
    expect(credentialProblems({ sites: [site] as never, demoMode: true })).toEqual([]);
  });

  it('no production package holds a demo key in clear, imports @stile/demo or has a demo folder', () => {
    const keys = Object.values(DEMO_API_KEYS);
    for (const pkg of PRODUCTION) {
      for (const file of files(join(ROOT, pkg))) {
        expect(file, `${file}: a demo folder in a production package`).not.toMatch(/[/\\]demo[/\\]/);
        const text = readFileSync(file, 'utf8');
        for (const key of keys) expect(text.includes(key), `${file} holds the demo key "${key}"`).toBe(false);
        expect(text, `${file} imports @stile/demo`).not.toMatch(/from ['"]@stile\/demo|import\(['"]@stile\/demo/);
      }
      const manifest = JSON.parse(readFileSync(join(ROOT, pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      expect(Object.keys(manifest.dependencies ?? {}), `${pkg}: @stile/demo is at most a devDependency`).not.toContain('@stile/demo');
    }
  });

  it('the production packages export nothing of the demo', async () => {
    const entries = ['config/src/index.ts', 'gate-agent/src/index.ts', 'hardware-sim/src/index.ts', 'cloud-bridge/src/index.ts', 'cloud-bridge/src/core/catalogue.ts'];
    for (const entry of entries) {
      const names = Object.keys((await import(join(ROOT, entry))) as object);
      expect(names.length, entry).toBeGreaterThan(0);
      expect(names.filter((n) => /demo/i.test(n)), entry).toEqual([]);
    }
  });
});
