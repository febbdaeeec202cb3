import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { EntriesMessageSchema, issueOfflineTicket, topics } from '@stile/config';
import { startCloudBridge, type CloudBridge } from '../../../cloud-bridge/src/bridge.js';
import {
  allArrived,
  checkInvariants,
  decisions,
  feed,
  freePort,
  gateCleanup,
  gateJournal,
  makeCloud,
  makeGate,
  Mosquitto,
  mosquittoBinary,
  outboxDepth,
  Partition,
  scratch,
  SITE,
  sleep,
  startGate,
  Teardown,
  until,
  type CloudSide,
  type GateSide,
} from '../../../cloud-bridge/test/faults/harness.js';
import { silentLog } from '../../../cloud-bridge/test/helpers.js';
import type { LogLine } from '../helpers/processes.js';

/**
 * Park-local broker mode (docs/park-local-broker.md), with real processes: a park Mosquitto
 * bridged to a "cloud" Mosquitto, both configured from the doc's blocks, a cloud-bridge on
 * the cloud broker, two real stile-gates with `mqtt.peers: true` on the park broker. The
 * bridge is cut (a TCP relay between the park broker's bridge and the cloud broker), the
 * same 300 tickets are scanned at both gates, each second scan one second after the first:
 * 0 double admissions. Then the link returns: the cloud stores every admission once and
 * both outboxes drain through the bridge.
 */

const DOC = fileURLToPath(new URL('../../../docs/park-local-broker.md', import.meta.url));
const SECURITY_DOC = fileURLToPath(new URL('../../../docs/mqtt-security.md', import.meta.url));
const GATES = ['north-1', 'north-2'] as const;
const TICKETS = 300;
const SIGNED = 20; // of them ST2 codes, which the second gate has no row for (remote_usage)
const TICK_MS = 40;
const SECOND_SCAN_AFTER_MS = 1000;
const PASSWORDS = { cloud: 'cloud-secret-1', bridge: 'bridge-secret-1' };


/** The fenced block after `<!-- <marker> -->` in a doc, with the doc's site replaced by the harness's. */
function block(doc: string, marker: string): string {
  const m = new RegExp(`<!-- ${marker}[^>]*-->\\s*\`\`\`conf\\n([\\s\\S]*?)\`\`\``).exec(readFileSync(doc, 'utf8'));
  if (!m) throw new Error(`${doc}: no \`\`\`conf block after <!-- ${marker} -->`);
  return m[1]!.replaceAll('west-lake', SITE);
}

/**
 * Rewrite a doc block for this machine: keys in `drop` go (TLS files, public listeners),
 * keys in `set` get the test's value; everything else is used verbatim.
 */
function adapt(text: string, set: Record<string, string>, drop: string[]): string {
  return text
    .split('\n')
    .flatMap((line) => {
      const key = line.trim().split(/\s+/)[0] ?? '';
      if (drop.includes(key)) return [];
      if (key in set) return [`${key} ${set[key]}`];
      return [line];
    })
    .join('\n');
}

function passwd(file: string, users: Record<string, string>): void {
  writeFileSync(file, '', { mode: 0o600 });
  for (const [user, pw] of Object.entries(users)) {
    const r = spawnSync(mosquittoBinary('mosquitto_passwd'), ['-b', file, user, pw], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mosquitto_passwd: ${r.stderr || r.stdout}`);
  }
}

const t = new Teardown();
let dir: string;
let cloud: CloudSide;
let bridge: CloudBridge;
let cloudBroker: Mosquitto;
let parkBroker: Mosquitto;
let uplink: Partition;
let gates: GateSide[];
let observer: MqttClient;
/** eventId → how often it reached the cloud broker (QoS 1 redeliveries and outbox resends included). */
const arrived = new Map<string, number>();

beforeAll(async () => {
  const s = scratch();
  dir = s.dir;
  t.add(() => s.cleanup());
  const asRoot = process.getuid?.() === 0 ? 'user root\n' : ''; // as root, Mosquitto would drop to a user that cannot read the temp folder

  // The cloud broker: docs/mqtt-security.md's stile-cloud block plus the park's bridge user.
  const cloudPort = await freePort();
  const stileCloudBlock = /(user stile-cloud\n[\s\S]*?)\n\n/.exec(block(SECURITY_DOC, 'acl-example'))![1]!;
  writeFileSync(join(dir, 'cloud.acl'), `${stileCloudBlock}\n\n${block(DOC, 'park-local: cloud-acl')}`);
  passwd(join(dir, 'cloud.passwd'), { 'stile-cloud': PASSWORDS.cloud, [`bridge.${SITE}`]: PASSWORDS.bridge });
  writeFileSync(
    join(dir, 'cloud.conf'),
    `${asRoot}per_listener_settings false\nallow_anonymous false\npassword_file ${join(dir, 'cloud.passwd')}\nacl_file ${join(dir, 'cloud.acl')}\npersistence false\nset_tcp_nodelay true\nlistener ${cloudPort} 127.0.0.1\nlog_dest stderr\n`,
  );
  cloudBroker = new Mosquitto(cloudPort, dir, { confFile: join(dir, 'cloud.conf'), name: 'cloud mosquitto' });
  t.add(() => cloudBroker.stop());
  await cloudBroker.start();
  const cloudUrl = `mqtt://stile-cloud:${PASSWORDS.cloud}@127.0.0.1:${cloudPort}`;

  // The cloud: its database knows the tickets (it believes only admissions of tickets it issued)
  // and issues each gate's credential, which the park broker's password file takes too.
  cloud = await makeCloud(dir, cloudUrl, [...GATES]);
  t.add(() => cloud.db.cleanup());
  const parkPort = await freePort();
  const parkUrl = `mqtt://127.0.0.1:${parkPort}`;
  const first = await makeGate({ gateId: GATES[0], mqttUrl: parkUrl, controlPublicKey: cloud.publicKey, cloud, tickets: 500 });
  gateCleanup(t, first);
  const second = await makeGate({ gateId: GATES[1], mqttUrl: parkUrl, controlPublicKey: cloud.publicKey, cloud, tickets: 500, whitelistFrom: first.site });
  gateCleanup(t, second);
  gates = [first, second];
  const offlineKeys = first.site.cfg.keys.offline;
  const logins: Record<string, string> = {};
  for (const g of gates) {
    const cfg = parse(readFileSync(g.configPath, 'utf8')) as { mqtt: Record<string, unknown>; keys: Record<string, unknown> };
    cfg.mqtt.peers = true;
    cfg.keys.offline = offlineKeys; // one site, one offline key: the second lane trusts the first's ST2 codes
    writeFileSync(g.configPath, stringify(cfg));
    logins[cfg.mqtt.username as string] = readFileSync(cfg.mqtt.passwordFile as string, 'utf8').trim();
  }

  // The park broker: the doc's broker and bridge blocks, its bridge pointed at the relay.
  uplink = new Partition(cloudPort);
  await uplink.start();
  t.add(() => uplink.close());
  passwd(join(dir, 'park.passwd'), logins);
  writeFileSync(join(dir, 'park.acl'), block(DOC, 'park-local: local-acl'));
  const broker = adapt(
    block(DOC, 'park-local: broker'),
    { password_file: join(dir, 'park.passwd'), acl_file: join(dir, 'park.acl'), persistence_location: `${dir}/` },
    ['listener', 'certfile', 'keyfile', 'tls_version'],
  );
  const bridgeSection = adapt(
    block(DOC, 'park-local: bridge'),
    { address: `127.0.0.1:${uplink.port}`, remote_password: PASSWORDS.bridge, restart_timeout: '1 2' }, // the doc backs off 5–30 s between retries
    ['bridge_cafile', 'bridge_insecure'],
  );
  writeFileSync(join(dir, 'park.conf'), `${asRoot}${broker}\nlistener ${parkPort} 127.0.0.1\nlog_dest stderr\n\n${bridgeSection}\n`);
  parkBroker = new Mosquitto(parkPort, dir, { confFile: join(dir, 'park.conf'), name: 'park mosquitto' });
  t.add(() => parkBroker.stop());
  await parkBroker.start();
  await until(() => /New bridge connected/.test(cloudBroker.log), 'bridge connected', 10_000);

  bridge = await startCloudBridge({
    ...cloud.db.options,
    mqttUrl: cloudUrl,
    httpPort: 0,
    sites: [{ id: SITE, controlKey: { id: 'ck1', privateKeyPem: readFileSync(join(dir, 'control.pem'), 'utf8') }, gates: [...GATES], offlineKeys, maxAdmissionsPerSecond: 0 }],
    sharedGroup: `park-${process.pid}`,
    clientId: `park-cloud-${process.pid}`,
    sessionExpirySec: 600,
    redeliverAfterMs: 300,
    logger: silentLog,
  });
  t.add(() => bridge.close());

  // What really reaches the cloud broker, counted by an independent subscriber.
  observer = await connectAsync(cloudUrl, { protocolVersion: 5, clientId: `park-observer-${process.pid}`, reconnectPeriod: 0 });
  t.add(() => observer.endAsync());
  observer.on('message', (topic, payload) => {
    if (!topic.endsWith('/entries')) return;
    for (const e of EntriesMessageSchema.parse(JSON.parse(payload.toString('utf8'))).events) arrived.set(e.eventId, (arrived.get(e.eventId) ?? 0) + 1);
  });
  await observer.subscribeAsync(topics.siteEntries(SITE), { qos: 1 });
}, 120_000);
afterAll(() => t.run(), 60_000);

const admits = (g: GateSide): LogLine[] => g.proc!.events('admit');
const rejects = (g: GateSide): LogLine[] => g.proc!.events('reject');

describe('park-local broker, uplink cut', () => {
  it('a ticket admitted at one gate is refused at the other within 1 s; afterwards the cloud has every admission once', async () => {
    const [a, b] = gates as [GateSide, GateSide];
    const pa = await startGate(a);
    const pb = await startGate(b);
    await pa.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);
    await pb.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);

    // Adult, child, family and two-day tickets (index % 8 < 6): single entry, or a second
    // entry that anti-passback (600 s) refuses within the test.
    const pool = a.site.sample.ids.filter((_, i) => i % 8 < 6);
    const warmUp = pool[0]!;
    const st1 = pool.slice(1, 1 + TICKETS - SIGNED);
    expect(st1).toHaveLength(TICKETS - SIGNED);
    const st2 = Array.from({ length: SIGNED }, (_, i) =>
      issueOfflineTicket(a.site.signingKey, { site: SITE, ticketId: `PARKLOCAL${String(i).padStart(4, '0')}`, typeId: 'adult', visitDate: a.site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: Math.floor(Date.now() / 1000) }),
    );
    const codes = [...st1.map((id) => `ST1:${id}`), ...st2];

    // With the uplink up: an admission reaches the cloud, and its receipt comes back down the bridge.
    await feed(a, [`ST1:${warmUp}`]);
    // Set-up, not the measured part: on a loaded machine (parallel test files) the bridge's
    // first connection can take a while, so wait generously and say which part was missing.
    const warm = () => ({ outbox: outboxDepth(a), atCloud: arrived.size, atPeer: b.proc!.events('peer_entries').length });
    await until(() => {
      const w = warm();
      return w.outbox === 0 && w.atCloud === 1 && w.atPeer === 1;
    }, 'warm-up admission stored, receipted and seen by the peer', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(warm())} (want outbox 0, atCloud 1, atPeer 1)`);
    });

    uplink.cut();
    await sleep(300);
    const cutAt = Date.now();

    // Ticket k is scanned first at one gate (alternating), and one second later at the other.
    const lag = Math.round(SECOND_SCAN_AFTER_MS / TICK_MS);
    for (let k = 0; k < codes.length + lag; k++) {
      const batch: Promise<void>[] = [];
      if (k < codes.length) batch.push(feed(k % 2 === 0 ? a : b, [codes[k]!]));
      const j = k - lag;
      if (j >= 0) batch.push(feed(j % 2 === 0 ? b : a, [codes[j]!]));
      await Promise.all(batch);
      await sleep(TICK_MS);
    }
    await until(() => decisions(a) === TICKETS + 1 && decisions(b) === TICKETS, 'every scan decided at both gates', 30_000);

    // 0 double admissions: every ticket in exactly one gate's journal, refused at the other.
    const journal = [...gateJournal(a), ...gateJournal(b)].filter((r) => r.ticket_id !== warmUp);
    const perTicket = new Map<string, string[]>();
    for (const r of journal) if (r.kind === 'admit') perTicket.set(r.ticket_id, [...(perTicket.get(r.ticket_id) ?? []), r.gate]);
    const twice = [...perTicket].filter(([, g]) => g.length > 1);
    expect(twice).toEqual([]);
    expect(perTicket.size).toBe(TICKETS);
    const refusals = [...rejects(a), ...rejects(b)];
    expect(refusals).toHaveLength(TICKETS);
    const reasons = new Map<string, number>();
    for (const r of refusals) reasons.set(String(r.reason), (reasons.get(String(r.reason)) ?? 0) + 1);
    expect([...reasons.keys()].sort()).toEqual(['anti_passback', 'entries_exhausted']);

    // Peer latency: from the admission's log line at one gate to the peer_entries line at the other that covers it.
    const latencies: number[] = [];
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const applied = to.proc!.events('peer_entries').filter((l) => l.peer === from.gateId);
      for (const adm of admits(from).filter((l) => l.ticketId !== warmUp)) {
        const seq = adm.seq as number;
        const line = applied.find((l) => (l.from as number) <= seq && seq <= (l.to as number));
        expect(line, `${from.gateId} seq ${seq} applied at ${to.gateId}`).toBeDefined();
        latencies.push((line!.time as number) - (adm.time as number));
      }
    }
    latencies.sort((x, y) => x - y);
    const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]!;
    console.log(`park-local: peer applied after p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${latencies.at(-1)} ms (${latencies.length} admissions, uplink cut)`);
    expect(latencies).toHaveLength(TICKETS);
    expect(latencies.at(-1)!).toBeLessThan(SECOND_SCAN_AFTER_MS);

    // Nothing crossed the cut: the cloud still has only the warm-up, the outboxes hold the rest.
    expect([...arrived.keys()]).toHaveLength(1);
    expect(await bridge.sync.countEntries(SITE)).toBe(1);
    expect(outboxDepth(a) + outboxDepth(b)).toBe(TICKETS);

    // The link returns: the bridge's queue and the outboxes' resends reach the cloud, the receipts come back.
    const cutMs = Date.now() - cutAt;
    uplink.heal();
    const healedAt = Date.now();
    await until(async () => (await allArrived(cloud, gates)) && outboxDepth(a) === 0 && outboxDepth(b) === 0, 'cloud has every admission and both outboxes are empty', 90_000);
    const drainedMs = Date.now() - healedAt;
    await sleep(500);

    const { violations, cloud: rows, conflicts } = await checkInvariants(cloud, gates);
    expect(violations).toEqual([]);
    expect(conflicts).toEqual([]);
    const journalIds = [...gateJournal(a), ...gateJournal(b)].map((r) => r.event_id).sort();
    expect(rows.map((r) => r.event_id).sort()).toEqual(journalIds);
    expect([...arrived.keys()].sort()).toEqual(journalIds);
    const deliveries = [...arrived.values()].reduce((x, y) => x + y, 0);
    console.log(`park-local: cut ${cutMs} ms; after the link returned the cloud had all ${journalIds.length} admissions and both outboxes were empty in ${drainedMs} ms (${deliveries} deliveries at the cloud broker, ${bridge.metrics.duplicates} duplicates ignored by the ingest)`);

    // The retained status of both gates went up the bridge too.
    const late = await connectAsync(`mqtt://stile-cloud:${PASSWORDS.cloud}@127.0.0.1:${cloudBroker.port}`, { protocolVersion: 5, clientId: `park-late-${process.pid}`, reconnectPeriod: 0 });
    const retained: string[] = [];
    late.on('message', (topic, _p, packet) => packet.retain && retained.push(topic));
    await late.subscribeAsync(topics.status(SITE, '+'), { qos: 1 });
    await until(() => retained.length === 2, 'retained status of both gates at the cloud broker', 5000);
    await late.endAsync();
    expect(retained.sort()).toEqual(GATES.map((g) => topics.status(SITE, g)));
  }, 240_000);
});
