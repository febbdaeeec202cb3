import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, isStileError, StileErrorCode } from '@stile/config';
import { parseDocument } from 'yaml';
import { startCloudBridge, type CloudBridge, type CloudBridgeOptions } from '../src/bridge.js';
import { demoCatalogue } from '@stile/demo/catalogue';
import { parseCatalogue, sha256Hex, type Catalogue } from '../src/core/catalogue.js';
import { loadCloudConfig } from '../src/config.js';
import { credentialProblems, demoKeyChannels } from '../src/credential-checks.js';
import { connectDb } from '../src/core/db/connect.js';
import { testBridge, testDb, testSite, type TestDb } from './helpers.js';

const ID_KEY = 'id-hash-key-for-tests-0123456789';
const pair = generateSigningKeyPair('ck1');

/** The demo catalogue with keys of its own (not the public demo ones). */
function ownKeys(): Catalogue {
  const cat = demoCatalogue();
  return { ...cat, channels: cat.channels.map((c) => ({ ...c, apiKeySha256: sha256Hex(`own-${c.id}-key-0123456789abcdef0123456789`) })) };
}

/** startCloudBridge's refusal: thrown before anything opens (the MQTT URL below goes nowhere). */
async function refusal(extra: Partial<CloudBridgeOptions> & Pick<CloudBridgeOptions, 'sites'>): Promise<Error> {
  const started = startCloudBridge({ sqlitePath: ':memory:', mqttUrl: 'mqtt://127.0.0.1:1', httpPort: 0, sharedGroup: 'g', logger: pino({ level: 'silent' }), ...extra });
  const err = await started.then(
    async (b) => {
      await b.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(isStileError(err, StileErrorCode.ConfigInvalid), String(err)).toBe(true);
  return err as Error;
}

describe('ID-hash keys of at least 32 characters', () => {
  it('startCloudBridge refuses a shorter key, naming the site and field, never the key', async () => {
    const key = 'only-20-chars-key-01';
    const err = await refusal({ sites: [{ id: 'park1', controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, sales: { catalogue: ownKeys(), capacity: { daily: 10, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 0 }, idHashKey: key } }] });
    expect(err.message).toMatch(/sites\.0 \(park1\): sales\.idHashKey: at least 32 characters.*\(got 20\)/);
    expect(err.message).not.toContain(key);
  });

  describe('in cloud.yaml', () => {
    const write = (sales: string, files: Record<string, string> = {}, top: string[] = []) => {
      const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-cred-'));
      const catalogue = readFileSync(new URL('../../docs/examples/catalogue.yaml', import.meta.url), 'utf8');
      for (const [name, body] of Object.entries({ 'control.pem': pair.privateKeyPem, 'catalogue.yaml': catalogue, ...files })) writeFileSync(join(dir, name), body);
      const file = join(dir, 'cloud.yaml');
      writeFileSync(file, ['mqtt: { url: "mqtt://h" }', ...top, 'sites:', '  - id: park1', '    controlKey: { id: ck1, privateKeyFile: control.pem }', `    sales: { catalogueFile: catalogue.yaml, capacity: { daily: 5000 }, ${sales} }`, ''].join('\n'));
      return file;
    };

    it('refuses a shorter idHashKey, naming the field', () => {
      expect(() => loadCloudConfig(write('idHashKey: a-16-char-key-xx'), {})).toThrow(/cloud\.yaml: sites\[0\]\.sales\.idHashKey: idHashKey: at least 32 characters/);
      expect(loadCloudConfig(write(`idHashKey: ${ID_KEY}`), {}).options.sites[0]!.sales!.idHashKey).toBe(ID_KEY);
    });

    it('checks a key file after trimming it: whitespace does not count', () => {
      const padded = `  ${'k'.repeat(31)}\n\n`; // 34 characters in the file, 31 of key
      let err: unknown;
      try {
        loadCloudConfig(write('idHashKeyFile: id.key', { 'id.key': padded }), {});
      } catch (e) {
        err = e;
      }
      expect(isStileError(err, StileErrorCode.ConfigInvalid)).toBe(true);
      expect((err as Error).message).toMatch(/cloud\.yaml: sites\[0\]\.sales\.idHashKeyFile: the key in id\.key has 31 characters; at least 32/);
      expect((err as Error).message).not.toContain('k'.repeat(31));
      expect(loadCloudConfig(write('idHashKeyFile: id.key', { 'id.key': `${ID_KEY}\n` }), {}).options.sites[0]!.sales!.idHashKey).toBe(ID_KEY);
    });

    it('demo: true is the demo mode; off by default', () => {
      expect(loadCloudConfig(write(`idHashKey: ${ID_KEY}`), {}).options.demoMode).toBeUndefined();
      expect(loadCloudConfig(write(`idHashKey: ${ID_KEY}`, {}, ['demo: true']), {}).options.demoMode).toBe(true);
    });
  });
});

describe('public demo API keys', () => {
  const site = (catalogue: Catalogue) => ({ id: 'park1', controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, sales: { catalogue, capacity: { daily: 10, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 0 }, idHashKey: ID_KEY } });

  it('are refused at start unless in demo mode, naming each channel and how to make a key', async () => {
    const err = await refusal({ sites: [site(demoCatalogue())] });
    for (const ch of ['wechat', 'meituan', 'kiosk']) expect(err.message).toContain(`channel "${ch}" uses a public demo API key`);
    expect(err.message).toContain('openssl rand -hex 24');
    // One demo key among own keys is enough to refuse.
    const mixed = ownKeys();
    mixed.channels[1] = demoCatalogue().channels[1]!;
    expect(credentialProblems({ sites: [site(mixed)] })).toEqual([expect.stringContaining('channel "meituan" uses a public demo API key')]);
    expect(credentialProblems({ sites: [site(demoCatalogue())], demoMode: true })).toEqual([]);
    expect(credentialProblems({ sites: [site(ownKeys())] })).toEqual([]);
  });

  it('are recognised in any letter case, and the documented example uses none of them', () => {
    const upper = demoCatalogue();
    upper.channels[0] = { ...upper.channels[0]!, apiKeySha256: upper.channels[0]!.apiKeySha256.toUpperCase() };
    expect(demoKeyChannels(upper)).toEqual(['wechat', 'meituan', 'kiosk']);
    const example = parseCatalogue(parseDocument(readFileSync(new URL('../../docs/examples/catalogue.yaml', import.meta.url), 'utf8')).toJS());
    expect(example.channels).toHaveLength(3);
    expect(demoKeyChannels(example)).toEqual([]);
  });

  it('an alert webhook without a long secret is refused by startCloudBridge too', async () => {
    const err = await refusal({ sites: [site(ownKeys())], alertWebhook: { url: 'http://127.0.0.1:9/hook', secret: 'too-short' } });
    expect(err.message).toMatch(/alertWebhook\.secret: required whenever the alert webhook is set, at least 32 characters/);
    expect(err.message).not.toContain('too-short');
  });
});

describe('staff token only in the Authorization header', () => {
  const TOKEN = 'staff-token-for-the-header-test-0123';
  const lines: string[] = [];
  let bridge: CloudBridge;
  let db: TestDb;
  let siteId: string;

  afterAll(async () => {
    await bridge?.close();
    await db?.cleanup();
  });

  it('a valid token in ?token= is 401 everywhere; the same token in the header works; neither reaches the log', async () => {
    db = await testDb('sqlite');
    const s = testSite(['g1']);
    siteId = s.config.id;
    const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
    bridge = await testBridge(db, [{ ...s.config, sales: { catalogue: ownKeys(), capacity: { daily: 10, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY, staffTokenSha256: createHash('sha256').update(TOKEN).digest('hex') } }], { logger });
    const base = `http://127.0.0.1:${bridge.httpPort}/v1/staff/sites/${siteId}`;
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    for (const path of ['/audit', '/reports', `/reports/${today}?format=csv`, '/dashboard', '/dashboard/stream']) {
      const url = `${base}${path}${path.includes('?') ? '&' : '?'}token=${TOKEN}`;
      const res = await fetch(url);
      expect(res.status, path).toBe(401);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('unauthorized');
      expect(body.message).toContain('?token= is not accepted');
      expect(body.message).not.toContain(TOKEN);
    }
    const post = await fetch(`${base}/channels/wechat/pause?token=${TOKEN}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ by: 'li', reason: 'x' }) });
    expect(post.status).toBe(401);

    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${base}/audit`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/reports/${today}?format=csv`, { headers: auth })).status).toBe(200);
    const stream = await fetch(`${base}/dashboard/stream`, { headers: auth });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    await stream.body?.cancel();
    expect(lines.join('\n')).not.toContain(TOKEN);
  });
});

describe('cloud.db is readable by its owner only', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const mode = (p: string) => statSync(p).mode & 0o777;

  it('a new database and its -wal/-shm are created 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-mode-'));
    dirs.push(dir);
    const path = join(dir, 'sub', 'cloud.db');
    const { db } = connectDb({ sqlitePath: path });
    await sql`CREATE TABLE t (x INTEGER)`.execute(db);
    await sql`INSERT INTO t VALUES (1)`.execute(db);
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
    expect(mode(`${path}-shm`)).toBe(0o600);
    await db.destroy();
  });

  it('an existing database left world-readable, with its -wal, is narrowed to 0600 and keeps its data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-mode-'));
    dirs.push(dir);
    const path = join(dir, 'cloud.db');
    const first = connectDb({ sqlitePath: path });
    await sql`CREATE TABLE t (x INTEGER)`.execute(first.db);
    await sql`INSERT INTO t VALUES (42)`.execute(first.db);
    await first.db.destroy();
    chmodSync(path, 0o644);
    writeFileSync(`${path}-wal`, '');
    chmodSync(`${path}-wal`, 0o644);
    const again = connectDb({ sqlitePath: path });
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
    const rows = await sql<{ x: number }>`SELECT x FROM t`.execute(again.db);
    expect(rows.rows).toEqual([{ x: 42 }]);
    await again.db.destroy();
  });
});
