import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadGateConfig, loadSigningKey, type GateConfig, type SigningKey } from '@stile/config';
import { readFileSync } from 'node:fs';
import { createDemoSite, type DemoSite } from '@stile/demo/site';
import { openGate } from '../../src/daemon/gate-context.js';
import { importSnapshot } from '../../src/store/index.js';

export const silent = pino({ level: 'silent' });

export interface TestSite extends DemoSite {
  cfg: GateConfig;
  signingKey: SigningKey;
  cleanup(): void;
}

/** A generated site in a temp folder with its whitelist already imported. */
export async function makeSite(tickets = 200, opts: { input?: string } = {}): Promise<TestSite> {
  const dir = mkdtempSync(join(tmpdir(), 'stile-test-'));
  const site = await createDemoSite(dir, { tickets, ...(opts.input ? { input: opts.input } : {}) });
  const cfg = loadGateConfig(site.configPath);
  const { store } = openGate(cfg, silent);
  await importSnapshot(store.db, site.whitelistPath);
  store.close();
  return {
    ...site,
    cfg,
    signingKey: loadSigningKey(site.keyId, readFileSync(site.signingKeyPath, 'utf8')),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Noon in Shanghai on `date`, the instant most tests decide at. */
export function noonShanghai(date: string): number {
  return Date.parse(`${date}T12:00:00+08:00`);
}
