import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { once } from 'node:events';
import { stringify } from 'yaml';
import { generateSigningKeyPair, hashIdNumber, localDate, newTicketId, type SnapshotTicket, type TicketType } from '@stile/config';

/**
 * Builds a self-contained demo/test site on disk: signing keys, gate.yaml and a
 * whitelist snapshot. Used by `npm start`, the tests (`@stile/demo/site`, a devDependency)
 * and the benchmarks (bench/*.js, from demo/dist/site.js).
 */

export const DEMO_TICKET_TYPES: TicketType[] = [
  { id: 'adult', name: 'Adult day ticket', entries: { mode: 'single' }, slotGrace: { earlyMin: 30, lateMin: 60 }, antiPassbackSec: 0 },
  { id: 'child', name: 'Child ticket', entries: { mode: 'single' }, slotGrace: { earlyMin: 30, lateMin: 60 }, antiPassbackSec: 0 },
  { id: 'family', name: 'Family package', entries: { mode: 'single' }, slotGrace: { earlyMin: 30, lateMin: 60 }, antiPassbackSec: 0 },
  { id: 'early-bird', name: 'Early bird (before 08:00)', entries: { mode: 'single' }, entryWindow: { from: '00:00', to: '08:00' }, slotGrace: { earlyMin: 0, lateMin: 0 }, antiPassbackSec: 0 },
  { id: 'night', name: 'Night tour (after 17:00)', entries: { mode: 'single' }, entryWindow: { from: '17:00', to: '24:00' }, slotGrace: { earlyMin: 0, lateMin: 0 }, antiPassbackSec: 0 },
  { id: 'two-day', name: 'Two entries', entries: { mode: 'multi', max: 2 }, slotGrace: { earlyMin: 0, lateMin: 0 }, antiPassbackSec: 600 },
];

// Kept here for callers that import it from the demo.
export { newTicketId };

/** A checksum-valid 18-digit resident ID number for tests (region 110101 = Beijing Dongcheng). */
export function fakeIdNumber(seq: number): string {
  const body = `110101${1970 + (seq % 40)}${String(1 + (seq % 12)).padStart(2, '0')}${String(1 + (seq % 28)).padStart(2, '0')}${String(seq % 1000).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((s, w, i) => s + w * Number(body[i]), 0);
  return body + '10X98765432'[sum % 11];
}

export interface WhitelistOptions {
  count: number;
  today: string;
  idHashKey: string;
  /** Every n-th ticket is bound to fakeIdNumber(i). 0 = none. */
  idCardEvery?: number;
  asOfSeq?: string;
  site?: string;
}

/** Stream a snapshot to `file`; returns a small sample of ids by kind for scenarios. */
export async function writeWhitelist(file: string, o: WhitelistOptions): Promise<{ ids: string[]; idCards: string[] }> {
  const out = createWriteStream(file);
  const ids: string[] = [];
  const idCards: string[] = [];
  out.write(`${JSON.stringify({ snapshot: { site: o.site ?? 'demo-park', asOfSeq: o.asOfSeq ?? '1' } })}\n`);
  const types = ['adult', 'adult', 'adult', 'child', 'family', 'two-day', 'night', 'early-bird'];
  for (let i = 0; i < o.count; i++) {
    const typeId = types[i % types.length]!;
    const t: SnapshotTicket = {
      ticketId: newTicketId(),
      typeId,
      status: 'valid',
      visitDate: o.today,
      persons: typeId === 'family' ? 3 : 1,
      entriesUsed: 0,
    };
    if (o.idCardEvery && i % o.idCardEvery === 0) {
      const id = fakeIdNumber(i);
      t.idHash = hashIdNumber(o.idHashKey, id);
      if (idCards.length < 1000) idCards.push(id);
    }
    if (ids.length < 5000) ids.push(t.ticketId);
    if (!out.write(`${JSON.stringify(t)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { ids, idCards };
}

export interface DemoSite {
  dir: string;
  configPath: string;
  dbPath: string;
  whitelistPath: string;
  signingKeyPath: string;
  keyId: string;
  idHashKey: string;
  today: string;
  sample: { ids: string[]; idCards: string[] };
}

export async function createDemoSite(
  dir: string,
  o: { tickets: number; input?: string; timeZone?: string; simulateIdCards?: boolean; /** The whitelist's snapshot seq (default 1). */ asOfSeq?: string },
): Promise<DemoSite> {
  mkdirSync(dir, { recursive: true });
  const timeZone = o.timeZone ?? 'Asia/Shanghai';
  const keyId = 'k1';
  const pair = generateSigningKeyPair(keyId);
  const signingKeyPath = join(dir, `${keyId}.key.pem`);
  writeFileSync(signingKeyPath, pair.privateKeyPem, { mode: 0o600 });
  const idHashKey = randomBytes(32).toString('hex');
  writeFileSync(join(dir, 'idhash.key'), idHashKey, { mode: 0o600 });
  const configPath = join(dir, 'gate.yaml');
  const config = {
    version: 1,
    site: { id: 'demo-park', name: 'Demo Scenic Area', timezone: timeZone },
    gate: { id: 'east-1', name: 'East gate lane 1', zone: 'main' },
    store: { path: 'gate.db' },
    keys: { idHash: { file: 'idhash.key' }, offline: [{ id: keyId, publicKey: pair.publicKey }] },
    revokedTickets: [],
    ticketTypes: DEMO_TICKET_TYPES,
    inputs: [{ type: 'lines', name: 'scanner-1', path: o.input ?? '-', simulateIdCards: o.simulateIdCards ?? true }],
    relay: { type: 'log', pulseMs: 200, gapMs: 200 },
    log: { level: 'info' },
  };
  writeFileSync(configPath, `# Generated demo gate config (see docs/gate-config.md)\n${stringify(config)}`);
  const today = localDate(Date.now(), timeZone);
  const whitelistPath = join(dir, 'whitelist.ndjson');
  const sample = await writeWhitelist(whitelistPath, { count: o.tickets, today, idHashKey, idCardEvery: 10, ...(o.asOfSeq !== undefined ? { asOfSeq: o.asOfSeq } : {}) });
  return { dir, configPath, dbPath: join(dir, 'gate.db'), whitelistPath, signingKeyPath, keyId, idHashKey, today, sample };
}
