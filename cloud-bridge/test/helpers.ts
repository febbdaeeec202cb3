import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import pg from 'pg';
import { pino } from 'pino';
import { generateSigningKeyPair, issueOfflineTicket, loadSigningKey, loadTrustedKeys, type SigningKey, type TrustedKeys } from '@stile/config';
import { startCloudBridge, type CloudBridge, type CloudBridgeOptions } from '../src/bridge.js';
import type { SiteConfig } from '../src/core/sites.js';

export const MQTT_URL = process.env.STILE_TEST_MQTT ?? 'mqtt://127.0.0.1:1883';
export const PG_URL = process.env.STILE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
export const DIALECTS = ['sqlite', 'postgres'] as const;
export type TestDialect = (typeof DIALECTS)[number];

let counter = 0;
/** Unique per test run and call, so parallel test files and reruns never share a site. */
export function uniqueId(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}

export const silentLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface TestDb {
  options: { databaseUrl?: string; sqlitePath?: string };
  cleanup(): Promise<void>;
}

/** A fresh database: a SQLite file in a temp folder, or a new PostgreSQL schema. */
export async function testDb(dialect: TestDialect): Promise<TestDb> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-'));
    return { options: { sqlitePath: join(dir, 'cloud.db') }, cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
  }
  const schema = `cb_${process.pid}_${Date.now().toString(36)}_${++counter}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  return {
    options: { databaseUrl: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` },
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

export interface TestSite {
  config: SiteConfig;
  trusted: TrustedKeys;
  publicKey: string;
  /** The site's offline-ticket key (its public half is in config.offlineKeys). */
  offlineKey: SigningKey;
}

export function testSite(gates: string[] = ['g1', 'g2']): TestSite {
  const id = uniqueId('c');
  const pair = generateSigningKeyPair('ck1');
  const offline = generateSigningKeyPair('ok1');
  return {
    // The tests replay fixed timestamps far faster than a lane passes people: the lane rate
    // check is off here and tested on its own (trust.test.ts).
    config: { id, controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, gates, offlineKeys: [{ id: offline.keyId, publicKey: offline.publicKey }], maxAdmissionsPerSecond: 0 },
    trusted: loadTrustedKeys([{ id: pair.keyId, publicKey: pair.publicKey }]),
    publicKey: pair.publicKey,
    offlineKey: loadSigningKey(offline.keyId, offline.privateKeyPem),
  };
}

export async function testBridge(db: TestDb, sites: SiteConfig[], extra: Partial<CloudBridgeOptions> = {}): Promise<CloudBridge> {
  return startCloudBridge({
    ...db.options,
    mqttUrl: MQTT_URL,
    httpPort: 0,
    sites,
    sharedGroup: uniqueId('grp'),
    clientId: uniqueId('cloud'),
    sessionExpirySec: 60,
    redeliverAfterMs: 300,
    logger: silentLog,
    ...extra,
  });
}

export async function testClient(): Promise<MqttClient> {
  return connectAsync(MQTT_URL, { protocolVersion: 5, clientId: uniqueId('t'), reconnectPeriod: 0 });
}

export async function waitFor<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let eventCounter = 0;
export function admit(seq: number, ticketId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: `ev-${process.pid}-${Date.now().toString(36)}-${++eventCounter}`,
    seq: String(seq),
    epoch: 1,
    kind: 'admit',
    ticketId,
    typeId: 'adult',
    credential: 'qr',
    persons: 1,
    at: '2026-11-25T09:00:00+08:00',
    ...extra,
  };
}

/** An admission of a signed offline ticket, carrying its real ST2 code (the cloud verifies it). */
export function signedAdmit(site: TestSite, seq: number, ticketId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const code = issueOfflineTicket(site.offlineKey, { site: site.config.id, ticketId, typeId: 'adult', visitDate: '2026-11-25', slotStart: null, slotEnd: null, persons: 1, issuedAt: 1_764_000_000 });
  return admit(seq, ticketId, { credential: 'signed-qr', code, ...extra });
}

/** Tickets the cloud issued (as a sale would), so admissions of them are believed. */
export async function seedTickets(bridge: CloudBridge, site: string, ids: string[], visitDate = '2026-11-25'): Promise<void> {
  await bridge.publishChanges(site, ids.map((ticketId) => ({ op: 'upsert' as const, ticket: { ticketId, typeId: 'adult', status: 'valid' as const, visitDate, persons: 1, entriesUsed: 0 } })));
}

export function entriesMessage(site: string, gate: string, events: Record<string, unknown>[]): string {
  return JSON.stringify({ v: 1, site, gate, events });
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/**
 * The n-th valid 18-character resident ID number: region 110105, a real birth date (from
 * 1990-01-01, a day later every 1000 numbers), sequence n % 1000, MOD 11-2 check character.
 */
export function idNumber(n: number): string {
  const birth = new Date(Date.UTC(1990, 0, 1) + Math.floor(n / 1000) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
  const body = `110105${birth}${String(n % 1000).padStart(3, '0')}`;
  const sum = [...body].reduce((s, d, i) => s + Number(d) * ID_WEIGHTS[i]!, 0);
  return body + '10X98765432'[sum % 11]!;
}
