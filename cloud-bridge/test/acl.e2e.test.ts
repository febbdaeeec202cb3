import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { deviceUsername, gateUsername, topics } from '@stile/config';

// A private Mosquitto with password_file + acl_file, the ACL taken verbatim from
// docs/mqtt-security.md, checked with real clients.

const DOC = fileURLToPath(new URL('../../docs/mqtt-security.md', import.meta.url));
const SITE = 'west-lake';
const OTHER = 'tea-garden';
const G1 = gateUsername(SITE, 'north-1');
const G2 = gateUsername(SITE, 'north-2');
const OTHER_GATE = gateUsername(OTHER, 'main-1');
const SCREEN = deviceUsername({ kind: 'screen', site: SITE, id: 'lobby' });
const PASSWORDS: Record<string, string> = {
  'stile-cloud': 'cloud-secret-1',
  [G1]: 'gate-secret-1',
  [G2]: 'gate-secret-2',
  [OTHER_GATE]: 'gate-secret-3',
  [SCREEN]: 'screen-secret-1',
};

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
let passwd = '';
let mosquittoPasswd = '';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What really went through the broker: the cloud user (it may read all of `stile/#`)
 * subscribed to everything. A PUBACK is no proof: MQTT 3.1.1 acknowledges a denied publish.
 */
async function observer(): Promise<{ topic: string; payload: string }[]> {
  const c = await connectAs('stile-cloud');
  const got = collect(c);
  const [grant] = await c.subscribeAsync('stile/#', { qos: 1 });
  expect(grant!.qos).toBe(1);
  return got;
}

/** Publish something the ACL must refuse; MQTT 5 Mosquitto answers PUBACK 0x87, which mqtt.js reports as an error. */
async function publishDenied(c: MqttClient, topic: string, payload: string, retain = false): Promise<void> {
  await c.publishAsync(topic, payload, { qos: 1, retain }).then(
    () => undefined,
    (err: Error) => expect(err.message).toMatch(/not authorized|135/i),
  );
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
  mosquittoPasswd = binary('mosquitto_passwd');
  dir = mkdtempSync(join(tmpdir(), 'stile-acl-'));
  passwd = join(dir, 'stile.passwd');
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
  it('refuses anonymous clients, a wrong password and an unknown user', async () => {
    const refused = /not authorized|bad user name or password/i;
    await expect(connectAsync(url, { protocolVersion: 5, clientId: 'anon', reconnectPeriod: 0 })).rejects.toThrow(refused);
    await expect(connectAsync(url, { protocolVersion: 4, clientId: 'anon-311', reconnectPeriod: 0 })).rejects.toThrow(refused);
    await expect(connectAsync(url, { protocolVersion: 5, clientId: 'wrong', username: G1, password: 'nope', reconnectPeriod: 0 })).rejects.toThrow(refused);
    await expect(connectAsync(url, { protocolVersion: 5, clientId: 'wrong-s', username: SCREEN, password: PASSWORDS[G1], reconnectPeriod: 0 })).rejects.toThrow(refused);
    await expect(connectAsync(url, { protocolVersion: 5, clientId: 'old', username: 'gate-west-lake-north-1', password: PASSWORDS[G1], reconnectPeriod: 0 })).rejects.toThrow(refused);
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

    const gate = await connectAs(G1);
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
    expect(brokerLog).toMatch(/Denied PUBLISH from gate\.west-lake\.north-1-\d+ .*stile\/west-lake\/gates\/north-2\/entries/);

    // The same over MQTT 3.1.1: the broker acknowledges and silently drops.
    const gate311 = await connectAs(G1, undefined, { protocolVersion: 4 });
    await gate311.publishAsync(topics.entries(SITE, 'north-2'), 'forged-311', { qos: 1 });
    await gate311.publishAsync(topics.entries(SITE, 'north-1'), 'own-311', { qos: 1 });
    await until(() => got.length >= 4, 'the 3.1.1 message');
    expect(got.slice(3)).toEqual([{ topic: topics.entries(SITE, 'north-1'), payload: 'own-311' }]);
  });

  it("lets a gate read its site's whitelist and its own commands only; the cloud publishes them", async () => {
    const cloud = await connectAs('stile-cloud');
    const g1 = await connectAs(G1);
    const g2 = await connectAs(G2);
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
  it('lets the cloud publish the retained capacity and announcements: gates and screens of the site get them, a gate of another site nothing', async () => {
    const cloud = await connectAs('stile-cloud');
    const seen = await observer();
    await cloud.publishAsync(topics.capacity(SITE), 'cap-1', { qos: 1, retain: true });
    await cloud.publishAsync(topics.capacity(OTHER), 'cap-other', { qos: 1, retain: true });

    // Subscribed after the capacity was published: they get it as the retained message.
    const site = { [topics.capacity(SITE)]: { qos: 1 as const }, [topics.announce(SITE)]: { qos: 1 as const } };
    const screen = await connectAs(SCREEN);
    const gate = await connectAs(G1);
    const other = await connectAs(OTHER_GATE);
    const wide = await connectAs(SCREEN);
    const [gotScreen, gotGate, gotOther, gotWide] = [collect(screen), collect(gate), collect(other), collect(wide)];
    const retained: string[] = [];
    screen.on('message', (_t, payload, packet) => packet.retain && retained.push(payload.toString()));
    expect((await screen.subscribeAsync(site)).map((g) => g.qos)).toEqual([1, 1]);
    expect((await gate.subscribeAsync(site)).map((g) => g.qos)).toEqual([1, 1]);
    await other.subscribeAsync({ ...site, [topics.capacity(OTHER)]: { qos: 1 }, [topics.announce(OTHER)]: { qos: 1 } });
    // A screen listening to everything still gets only its site's capacity and announcements.
    await wide.subscribeAsync('stile/#', { qos: 1 });

    await cloud.publishAsync(topics.whitelistDelta(SITE), 'delta-x', { qos: 1 });
    await cloud.publishAsync(topics.cmd(SITE, 'north-1'), 'cmd-x', { qos: 1 });
    await cloud.publishAsync(topics.announce(SITE), 'ann-1', { qos: 1 });
    await cloud.publishAsync(topics.announce(OTHER), 'ann-other', { qos: 1 });
    await until(() => gotScreen.length >= 2 && gotGate.length >= 2 && gotOther.length >= 2 && gotWide.length >= 2, 'capacity and announcements at the devices');
    await until(() => seen.some((m) => m.payload === 'ann-other'), 'the last announcement at the observer');
    await sleep(200);

    const ours = [
      { topic: topics.capacity(SITE), payload: 'cap-1' },
      { topic: topics.announce(SITE), payload: 'ann-1' },
    ];
    expect(gotScreen).toEqual(ours);
    expect(retained).toEqual(['cap-1']);
    expect(gotGate).toEqual(ours);
    expect(gotWide).toEqual(ours);
    expect(gotOther).toEqual([
      { topic: topics.capacity(OTHER), payload: 'cap-other' },
      { topic: topics.announce(OTHER), payload: 'ann-other' },
    ]);
    expect(seen.map((m) => m.payload)).toEqual(expect.arrayContaining(['cap-1', 'cap-other', 'delta-x', 'cmd-x', 'ann-1', 'ann-other']));
  });

  it('drops capacity and announcements from a screen or a gate, and a gate\u2019s receipts and other gates\u2019 entries: nothing arrives', async () => {
    const cloud = await connectAs('stile-cloud');
    await cloud.publishAsync(topics.capacity(SITE), 'cap-2', { qos: 1, retain: true });
    const seen = await observer();
    const screenRx = await connectAs(SCREEN);
    const g2 = await connectAs(G2);
    const g1 = await connectAs(G1);
    const [gotScreen, gotG2, gotG1] = [collect(screenRx), collect(g2), collect(g1)];
    await screenRx.subscribeAsync({ [topics.capacity(SITE)]: { qos: 1 }, [topics.announce(SITE)]: { qos: 1 } });
    await g2.subscribeAsync({ [topics.capacity(SITE)]: { qos: 1 }, [topics.announce(SITE)]: { qos: 1 } });
    await g1.subscribeAsync({ [topics.entriesAck(SITE, 'north-1')]: { qos: 1 } });
    await until(() => gotScreen.length >= 1 && gotG2.length >= 1, 'the retained capacity');

    const screen = await connectAs(SCREEN);
    const screen311 = await connectAs(SCREEN, undefined, { protocolVersion: 4 });
    const forged: [MqttClient, string, boolean][] = [
      [screen, topics.capacity(SITE), true],
      [screen, topics.announce(SITE), false],
      [screen, topics.whitelistDelta(SITE), false],
      [screen, topics.status(SITE, 'north-1'), true],
      [screen311, topics.capacity(SITE), true],
      [screen311, topics.announce(SITE), false],
      [g1, topics.capacity(SITE), true],
      [g1, topics.announce(SITE), false],
      [g1, topics.capacity(OTHER), true],
      [g1, topics.entries(SITE, 'north-2'), false],
      [g1, topics.entriesAck(SITE, 'north-1'), false],
      [g1, topics.entriesAck(SITE, 'north-2'), false],
    ];
    for (const [i, [c, topic, retain]] of forged.entries()) await publishDenied(c, topic, `forged-${i}`, retain);
    // The fences: the cloud's own messages, sent after every forged publish was answered.
    // Mosquitto queues a message to its subscribers before it answers the publisher, so a
    // forged one that got through would be queued ahead of these.
    await cloud.publishAsync(topics.announce(SITE), 'fence', { qos: 1 });
    await cloud.publishAsync(topics.entriesAck(SITE, 'north-1'), 'receipt-fence', { qos: 1 });
    await until(() => seen.some((m) => m.payload === 'receipt-fence') && gotScreen.length >= 2 && gotG2.length >= 2 && gotG1.length >= 1, 'the fences');
    await sleep(200);

    expect(seen.filter((m) => m.payload.startsWith('forged'))).toEqual([]);
    expect(gotScreen.map((m) => m.payload)).toEqual(['cap-2', 'fence']);
    expect(gotG2.map((m) => m.payload)).toEqual(['cap-2', 'fence']);
    expect(gotG1.map((m) => m.payload)).toEqual(['receipt-fence']);
    // The retained capacity is still the cloud's: no forged one replaced it.
    const late = await connectAs(SCREEN);
    const gotLate = collect(late);
    await late.subscribeAsync(topics.capacity(SITE), { qos: 1 });
    await until(() => gotLate.length >= 1, 'the retained capacity at a late screen');
    await sleep(100);
    expect(gotLate).toEqual([{ topic: topics.capacity(SITE), payload: 'cap-2' }]);
    expect(brokerLog).toMatch(/Denied PUBLISH from screen\.west-lake\.lobby-\d+ .*'stile\/west-lake\/capacity'/);
    expect(brokerLog).toMatch(/Denied PUBLISH from gate\.west-lake\.north-1-\d+ .*'stile\/west-lake\/gates\/north-1\/entries\/ack'/);
  });

  // Last: it removes a user from the password file.
  it('revokes a gate with mosquitto_passwd -D and a HUP: its session is closed and it cannot connect again', async () => {
    const g2 = await connectAs(G2);
    let closed = false;
    g2.on('close', () => (closed = true));
    const r = spawnSync(mosquittoPasswd, ['-D', passwd, G2], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    broker!.kill('SIGHUP');
    await until(() => closed, 'the revoked gate’s session to be closed');
    await expect(connectAsync(url, { protocolVersion: 5, clientId: `${G2}-again`, username: G2, password: PASSWORDS[G2], reconnectPeriod: 0 })).rejects.toThrow(/not authorized|bad user name or password/i);
    // The other devices are untouched.
    const g1 = await connectAs(G1);
    await g1.publishAsync(topics.status(SITE, 'north-1'), 'still-here', { qos: 1 });
  });
});
