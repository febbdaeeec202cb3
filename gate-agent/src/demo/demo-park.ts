import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { parse, stringify } from 'yaml';
import { issueOfflineTicket, loadGateConfig, loadSigningKey } from '@stile/config';
import { startGateDaemon } from '../daemon/gate-daemon.js';
import type { Credential } from '../gate/credential.js';
import { hashIdNumber, maskIdNumber } from '@stile/config';
import { GateStore, importSnapshot, openDatabase } from '../store/index.js';
import { createDemoSite, newTicketId, type DemoSite } from './demo-site.js';

/**
 * A demo gate with a generated whitelist and simulated visitors scanning. Prints one line
 * per visitor. DEMO_VISITORS=N stops after N visitors (default: run until Ctrl-C).
 * `npm start` runs it through demo/start.js with a cloud (embedded broker + cloud-bridge);
 * `node gate-agent/dist/demo/demo-park.js` runs the gate alone, offline.
 */

/** A cloud for the demo gate to sync to (demo/start.js wires cloud-bridge in). */
export interface DemoCloud {
  /** Start it for the demo site; the answer goes into the gate's gate.yaml. */
  start(dir: string, site: { id: string; gate: string }): Promise<{ mqtt: Record<string, unknown>; control: { id: string; publicKey: string }; describe: string }>;
  /** One line for the end of the run, once the cloud has (up to a bound) `expectedEntries`. */
  summary(expectedEntries: number): Promise<string>;
  close(): Promise<void>;
}

const VISITORS = Number(process.env.DEMO_VISITORS ?? 0);
const PACE_MS = Number(process.env.DEMO_PACE_MS ?? 400);

type Scenario = { label: string; cred: Credential };

function scenarios(site: DemoSite) {
  const key = loadSigningKey(site.keyId, readFileSync(site.signingKeyPath, 'utf8'));
  const used: string[] = [];
  let next = 0;
  let offline = 0;
  let card = 0;
  return (): Scenario => {
    const roll = Math.random();
    if (roll < 0.6 || used.length === 0) {
      const id = site.sample.ids[next++ % site.sample.ids.length]!;
      used.push(id);
      return { label: 'QR ticket', cred: { kind: 'qr', text: `]Q1ST1:${id}\r\n` } };
    }
    if (roll < 0.7) return { label: 'QR scanned again', cred: { kind: 'qr', text: `ST1:${used[Math.floor(Math.random() * used.length)]}` } };
    if (roll < 0.78) {
      const code = issueOfflineTicket(key, { site: 'demo-park', ticketId: `KIOSK${String(offline++).padStart(6, '0')}`, typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 2, issuedAt: Math.floor(Date.now() / 1000) });
      return { label: 'kiosk offline ticket', cred: { kind: 'qr', text: code } };
    }
    if (roll < 0.86) {
      // From the end of the sample: those tickets are never among the QR scans above.
      const cards = site.sample.idCards;
      const id = cards[cards.length - 1 - (card++ % cards.length)]!;
      return { label: 'ID card', cred: { kind: 'idcard', idHash: hashIdNumber(site.idHashKey, id), masked: maskIdNumber(id) } };
    }
    if (roll < 0.92) {
      const code = issueOfflineTicket(key, { site: 'demo-park', ticketId: newTicketId(), typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: 0 });
      const forged = code.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
      return { label: 'forged code', cred: { kind: 'qr', text: forged } };
    }
    if (roll < 0.97) return { label: 'unknown ticket', cred: { kind: 'qr', text: `ST1:${newTicketId()}` } };
    return { label: 'garbage scan', cred: { kind: 'qr', text: 'http://example.com/?not-a-ticket' } };
  };
}

export async function runDemoPark(opts: { cloud?: DemoCloud } = {}): Promise<void> {
  const dir = join(process.cwd(), '.demo');
  rmSync(dir, { recursive: true, force: true });
  console.log('Stile demo gate — generating a park with 20,000 tickets…');
  // With a cloud the whitelist is at seq 0, so the cloud's first delta (seq 1) applies.
  const site = await createDemoSite(dir, { tickets: 20_000, ...(opts.cloud ? { asOfSeq: '0' } : {}) });
  const cloud = opts.cloud;
  if (cloud) {
    const c = await cloud.start(dir, { id: 'demo-park', gate: 'east-1' });
    const doc = parse(readFileSync(site.configPath, 'utf8')) as { keys: Record<string, unknown>; mqtt?: unknown };
    doc.keys.control = [c.control];
    doc.mqtt = c.mqtt;
    writeFileSync(site.configPath, `# Generated demo gate config (see docs/gate-config.md)\n${stringify(doc)}`);
    console.log(c.describe);
  }
  const store = new GateStore(openDatabase(site.dbPath));
  const imported = await importSnapshot(store.db, site.whitelistPath);
  store.close();
  console.log(`whitelist: ${imported.tickets} tickets imported in ${imported.ms.toFixed(0)} ms → ${site.dbPath}`);
  console.log(`try in another terminal:  node gate-agent/bin/gatectl.js --config ${site.configPath} status\n`);

  const cfg = loadGateConfig(site.configPath);
  const quiet = pino({ level: 'warn' });
  const daemon = startGateDaemon({ ...cfg, inputs: [] }, quiet);
  const nextVisitor = scenarios(site);
  let stopping = false;
  process.once('SIGINT', () => (stopping = true));
  process.once('SIGTERM', () => (stopping = true));

  for (let n = 1; !stopping && (VISITORS === 0 || n <= VISITORS); n++) {
    const { label, cred } = nextVisitor();
    const o = await daemon.scan(cred, 'demo');
    const ms = o.decisionMs.toFixed(2);
    const time = new Date().toLocaleTimeString('en-GB', { timeZone: cfg.site.timezone });
    const who = cred.kind === 'idcard' ? cred.masked : (o.ticketId ?? '-');
    console.log(
      o.decision === 'admit'
        ? `${time}  ✔ ADMIT   ${label.padEnd(22)} ${who.padEnd(26)} ${o.typeId} ×${o.persons}  (decision ${ms} ms)`
        : `${time}  ✘ REJECT  ${label.padEnd(22)} ${who.padEnd(26)} ${o.reason}${o.detail ? ` — ${o.detail}` : ''}`,
    );
    await new Promise((r) => setTimeout(r, PACE_MS));
  }
  const s = daemon.status();
  console.log(`\n${s.admitted} admitted (${s.persons} persons), ${s.rejected} rejected ${JSON.stringify(s.rejectsByReason)}`);
  try {
    if (cloud) {
      const sync = s.sync;
      if (sync) console.log(`gate sync: ${sync.connected ? 'connected' : 'not connected'}, outbox ${sync.outboxDepth} entries waiting, whitelist seq ${sync.whitelistSeq ?? '-'}`);
      console.log(await cloud.summary(s.admitted));
    }
  } finally {
    await daemon.stop();
    await cloud?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runDemoPark().catch((err: Error) => {
    console.error(`demo failed: ${err.stack}`);
    process.exit(1);
  });
}
