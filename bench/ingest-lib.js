// Shared by bench/sync.js (ingest figures) and bench/ingest-breakdown.js: the publisher
// child that plays gates draining their outboxes, the cloud site, the seeded tickets.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { generateSigningKeyPair } from '../config/dist/index.js';
import { note, nowMs } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
export const INGEST_BATCH = 200;
export const INGEST_GATES = 10; // gates draining at once, as after a park-wide outage
export const PUB_WINDOW = 2; // unacknowledged batches per gate (what the gate agent keeps in flight)

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export async function waitUntil(cond, what, timeoutMs = 120_000, everyMs = 5) {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function cloudSite(id, gates) {
  const pair = generateSigningKeyPair('ck1');
  // The publisher replays events far faster than a lane passes people: the lane rate check is off.
  return { config: { id, controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, gates, maxAdmissionsPerSecond: 0 }, publicKey: pair.publicKey };
}

export const ingestGates = () => Array.from({ length: INGEST_GATES }, (_, i) => `g${i + 1}`);

/** The tickets the publisher child names (`BENCH<tag><n>`), sold through the cloud so it knows them; then ANALYZE. */
export async function seedIngestTickets(bridge, site, tag, events) {
  const visitDate = new Date().toISOString().slice(0, 10);
  for (let i = 0; i < events; i += 5000) {
    const n = Math.min(5000, events - i);
    const tickets = Array.from({ length: n }, (_, k) => ({ ticketId: `BENCH${tag}${String(i + k + 1).padStart(9, '0')}`, typeId: 'adult', status: 'valid', visitDate, persons: 1, entriesUsed: 0 }));
    await bridge.whitelist.upsertTickets(bridge.store.db, site, tickets, null);
  }
  // Planner statistics as a long-lived table has them (autovacuum would analyze it soon).
  await sql`ANALYZE`.execute(bridge.store.db);
}

/**
 * Run the publisher child (bench/sync-publisher.js) for `site` with events named by `tag`;
 * resolves once `consumed()` is true with { ms } from its first publish, the publisher's
 * own time and CPU. `hooks.started()` runs when the child starts publishing.
 */
export async function loadRun(mqttUrl, site, tag, events, consumed, hooks = {}) {
  const child = fork(join(here, 'sync-publisher.js'), [mqttUrl, site, String(INGEST_GATES), String(events), String(INGEST_BATCH), String(PUB_WINDOW), tag], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let t0 = 0;
  let pubMs = NaN;
  let pubCpuMs = NaN;
  const exited = new Promise((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`publisher exited with ${code}`))));
    child.on('error', reject);
  });
  child.on('message', (m) => {
    if (m.started) {
      t0 = nowMs();
      hooks.started?.();
    }
    if (m.done) {
      pubMs = m.ms;
      pubCpuMs = m.cpuMs;
    }
  });
  await waitUntil(() => t0 > 0 && consumed(), `${tag}: all ${events} events consumed`, 300_000, 2);
  const ms = nowMs() - t0;
  await exited;
  note(`${tag}: ${events} events consumed in ${ms.toFixed(0)} ms (publisher done after ${pubMs.toFixed(0)} ms)`);
  return { ms, pubMs, pubCpuMs };
}
