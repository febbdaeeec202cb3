import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { topics } from '@stile/config';

// A private Mosquitto with password_file + acl_file, the ACL taken verbatim from
// docs/mqtt-security.md, checked with real clients.

const DOC = fileURLToPath(new URL('../../docs/mqtt-security.md', import.meta.url));
const SITE = 'west-lake';
const PASSWORDS: Record<string, string> = { 'stile-cloud': 'cloud-secret-1', 'gate-west-lake-north-1': 'gate-secret-1', 'gate-west-lake-north-2': 'gate-secret-2' };

function binary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/sbin'])) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  throw new Error(`${name} not found on PATH or in /usr/sbin: install the mosquitto package (apt-get install mosquitto) to run the ACL test`);
}

/** The fenced block after the `acl-example` marker in the doc. */
function aclFromDoc(): string {
  const text = readFileSync(DOC, 'utf8');
  const m = /<!-- acl-example[^>]*-->\s*```conf\n([\s\S]*?)```/.exec(text);
  if (!m) throw new Error('docs/mqtt-security.md: no ```conf block after the acl-example marker');
  return m[1]!;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

let dir = '';
let broker: ChildProcess | undefined;
let brokerLog = '';
let url = '';
const clients: MqttClient[] = [];

async function connectAs(user: string, password = PASSWORDS[user]!, extra: IClientOptions = {}): Promise<MqttClient> {
  const c = await connectAsync(url, { protocolVersion: 5, clientId: `${user}-${clients.length}`, username: user, password, reconnectPeriod: 0, ...extra });
  clients.push(c);
  return c;
}

function collect(c: MqttClient): { topic: string; payload: string }[] {
  const got: { topic: string; payload: string }[] = [];
  c.on('message', (topic, payload) => got.push({ topic, payload: payload.toString('utf8') }));
  return got;
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  const mosquitto = binary('mosquitto');
  const mosquittoPasswd = binary('mosquitto_passwd');
  dir = mkdtempSync(join(tmpdir(), 'stile-acl-'));
  const passwd = join(dir, 'stile.passwd');
  writeFileSync(passwd, '', { mode: 0o600 });
  for (const [user, pw] of Object.entries(PASSWORDS)) {
    const r = spawnSync(mosquittoPasswd, ['-b', passwd, user, pw], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr || r.stdout}`);
  }
  writeFileSync(join(dir, 'stile.acl'), aclFromDoc(), { mode: 0o600 });
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      'per_listener_settings false',
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${join(dir, 'stile.acl')}`,
      'persistence false',
      // Started as root, Mosquitto would switch to the mosquitto user and lose access to the temp folder.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      `listener ${port} 127.0.0.1`,
      'log_dest stderr',
      'log_type all',
      '',
    ].join('\n'),
  );
  broker = spawn(mosquitto, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  broker.stdout!.on('data', (b: Buffer) => (brokerLog += b.toString()));
  broker.stderr!.on('data', (b: Buffer) => (brokerLog += b.toString()));
  let exited: number | null = null;
  broker.on('exit', (code) => (exited = code ?? -1));
  url = `mqtt://127.0.0.1:${port}`;
  await until(() => exited !== null || /Opening ipv4 listen socket on port/.test(brokerLog), 'mosquitto to listen', 10_000).catch(() => undefined);
  if (exited !== null || !/Opening ipv4 listen socket/.test(brokerLog)) throw new Error(`mosquitto did not start (exit ${exited}):\n${brokerLog}`);
});

afterAll(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  if (broker && broker.exitCode === null) {
    broker.kill('SIGTERM');
    await new Promise((r) => broker!.once('exit', r));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Mosquitto ACL from docs/mqtt-security.md', () => {
  it('refuses anonymous clients and a wrong password', async () => {
    await expect(connectAsync(url, { protocolVersion: 5, clientId: 'anon', reconnectPeriod: 0 })).rejects.toThrow();
    await expect(connectAsync(url, { protocolVersion: 5, clientId: 'wrong', username: 'gate-west-lake-north-1', password: 'nope', reconnectPeriod: 0 })).rejects.toThrow();
  });

  it("lets a gate publish its own entries, status and acks, and drops what it publishes on another gate's topics", async () => {
    const cloud = await connectAs('stile-cloud');
    const got = collect(cloud);
    const grants = await cloud.subscribeAsync({
      [topics.allEntriesShared('stile-cloud')]: { qos: 1 },
      'stile/+/gates/+/status': { qos: 1 },
      'stile/+/gates/+/cmd/ack': { qos: 1 },
    });
    expect(grants.map((g) => g.qos)).toEqual([1, 1, 1]);

    const gate = await connectAs('gate-west-lake-north-1');
    // Refused first, allowed last: one client's messages are delivered in order, so once
    // the allowed ones arrived, a refused one that got through would be there too.
    const refused = [topics.entries(SITE, 'north-2'), topics.status(SITE, 'north-2'), topics.cmdAck(SITE, 'north-2'), topics.entries('other-park', 'north-1'), topics.whitelistDelta(SITE), topics.cmd(SITE, 'north-1')];
    for (const t of refused) {
      // MQTT 5: Mosquitto answers with PUBACK 0x87 (not authorized), which mqtt.js reports as an error.
      await gate.publishAsync(t, 'forged', { qos: 1 }).catch((err: Error) => expect(err.message).toMatch(/not authorized|135/i));
    }
    await gate.publishAsync(topics.entries(SITE, 'north-1'), 'own-entries', { qos: 1 });
    await gate.publishAsync(topics.status(SITE, 'north-1'), 'own-status', { qos: 1 });
    await gate.publishAsync(topics.cmdAck(SITE, 'north-1'), 'own-ack', { qos: 1 });
    await until(() => got.length >= 3, 'the gate’s own messages at the cloud');
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual([
      { topic: topics.entries(SITE, 'north-1'), payload: 'own-entries' },
      { topic: topics.status(SITE, 'north-1'), payload: 'own-status' },
      { topic: topics.cmdAck(SITE, 'north-1'), payload: 'own-ack' },
    ]);
    expect(brokerLog).toMatch(/Denied PUBLISH from gate-west-lake-north-1-\d+ .*stile\/west-lake\/gates\/north-2\/entries/);

    // The same over MQTT 3.1.1: the broker acknowledges and silently drops.
    const gate311 = await connectAs('gate-west-lake-north-1', undefined, { protocolVersion: 4 });
    await gate311.publishAsync(topics.entries(SITE, 'north-2'), 'forged-311', { qos: 1 });
    await gate311.publishAsync(topics.entries(SITE, 'north-1'), 'own-311', { qos: 1 });
    await until(() => got.length >= 4, 'the 3.1.1 message');
    expect(got.slice(3)).toEqual([{ topic: topics.entries(SITE, 'north-1'), payload: 'own-311' }]);
  });

  it("lets a gate read its site's whitelist and its own commands only; the cloud publishes them", async () => {
    const cloud = await connectAs('stile-cloud');
    const g1 = await connectAs('gate-west-lake-north-1');
    const g2 = await connectAs('gate-west-lake-north-2');
    const got1 = collect(g1);
    const got2 = collect(g2);
    const own = await g1.subscribeAsync({ [topics.whitelistDelta(SITE)]: { qos: 1 }, [topics.whitelistHead(SITE)]: { qos: 1 }, [topics.cmd(SITE, 'north-1')]: { qos: 1 }, [`stile/${SITE}/gates/north-1/entries/ack`]: { qos: 1 } });
    expect(own.map((g) => g.qos)).toEqual([1, 1, 1, 1]);
    // Another gate's commands, another site's deltas, everyone's entries: Mosquitto 2 grants
    // the subscription but the ACL is applied to every message it would deliver.
    await g2.subscribeAsync({ [topics.cmd(SITE, 'north-1')]: { qos: 1 }, [topics.whitelistDelta('other-park')]: { qos: 1 }, 'stile/+/gates/+/entries': { qos: 1 }, [`stile/${SITE}/gates/north-1/entries/ack`]: { qos: 1 }, [topics.cmd(SITE, 'north-2')]: { qos: 1 } });

    await g1.publishAsync(topics.entries(SITE, 'north-1'), 'entries-1', { qos: 1 });
    await cloud.publishAsync(topics.whitelistDelta('other-park'), 'other-delta', { qos: 1 });
    await cloud.publishAsync(topics.whitelistDelta(SITE), 'delta', { qos: 1 });
    await cloud.publishAsync(topics.whitelistHead(SITE), 'head', { qos: 1 });
    await cloud.publishAsync(topics.cmd(SITE, 'north-1'), 'cmd-1', { qos: 1 });
    await cloud.publishAsync(`stile/${SITE}/gates/north-1/entries/ack`, 'receipt-1', { qos: 1 });
    await cloud.publishAsync(topics.cmd(SITE, 'north-2'), 'cmd-2', { qos: 1 });
    await until(() => got1.length >= 4 && got2.length >= 1, 'deltas, commands and receipts at the gates');
    await new Promise((r) => setTimeout(r, 200));
    expect(got1.map((m) => m.payload)).toEqual(['delta', 'head', 'cmd-1', 'receipt-1']);
    expect(got2.map((m) => m.payload)).toEqual(['cmd-2']);
  });
});
