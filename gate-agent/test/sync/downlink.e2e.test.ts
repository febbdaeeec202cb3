import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { CommandAckSchema, generateSigningKeyPair, loadSigningKey, signControl, topics, type CommandAck, type SnapshotTicket, type WhitelistChange } from '@stile/config';
import { Observer, startHttp, startSyncedGate, waitFor, type SyncedGate } from '../helpers/mqtt.js';
import { signedSnapshot } from '../helpers/signed-snapshot.js';

// Real Mosquitto at 127.0.0.1:1883 (anonymous). Each test has its own site id.
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

type Http = Awaited<ReturnType<typeof startHttp>>;

async function setup(
  opts: { http?: Parameters<typeof startHttp>[0]; fresh?: boolean; configFile?: boolean; control?: { privateKeyPem: string; publicKey: string }; mqtt?: Record<string, unknown> } = {},
): Promise<{ gate: SyncedGate; obs: Observer; http: Http | undefined }> {
  const http = opts.http ? await startHttp(opts.http) : undefined;
  const gate = await startSyncedGate({
    ...(opts.configFile ? { configFile: true } : {}),
    ...(opts.control ? { control: opts.control } : {}),
    ...(opts.mqtt ? { mqtt: opts.mqtt } : {}),
    ...(http ? { snapshotUrl: http.url } : {}),
    ...(opts.fresh ? { beforeStart: (db: string) => void new Database(db).exec("DELETE FROM meta WHERE key = 'whitelist_seq'").close() } : {}),
  });
  const obs = await Observer.connect();
  cleanups.push(async () => {
    await gate.stop();
    await obs.clearRetained(topics.status(gate.siteId, gate.gateId));
    await obs.clearRetained(topics.whitelistHead(gate.siteId));
    await obs.close();
    await http?.close();
  });
  await waitFor(() => gate.daemon.sync?.status.connected === true, 'gate connected');
  // The subscription is made right after CONNACK; give it a moment before publishing to it.
  await new Promise((r) => setTimeout(r, 200));
  return { gate, obs, http };
}

/** Adult/child tickets: admissible at noon. */
const admissible = (gate: SyncedGate) => gate.site.sample.ids.filter((_, i) => i % 8 < 4);

function delta(gate: SyncedGate, seq: number, changes: WhitelistChange[], site = gate.siteId) {
  return gate.sign({ v: 1 as const, site, seq: String(seq), changes });
}

const refund = (ticketId: string): WhitelistChange => ({ op: 'refund', ticketId });

function json(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

describe('sync downlink: signed whitelist deltas', () => {
  it('applies seq+1, ignores a duplicate seq, drops unsigned, wrongly signed and foreign-site deltas', async () => {
    const { gate, obs } = await setup();
    const s = gate.daemon.sync!.status;
    const [a, b, c, d] = admissible(gate);
    const topic = topics.whitelistDelta(gate.siteId);

    await obs.publish(topic, delta(gate, 2, [refund(a!)]));
    await waitFor(() => s.whitelistSeq === '2', 'delta 2 applied');
    expect((await gate.scanId(a!)).reason).toBe('refunded');

    await obs.publish(topic, delta(gate, 2, [refund(b!)]));
    await waitFor(() => s.deltasIgnored === 1, 'duplicate ignored');

    const unsigned = { v: 1, site: gate.siteId, seq: '3', changes: [refund(c!)], sig: 'none' };
    await obs.publish(topic, unsigned);
    const stranger = loadSigningKey('c9', generateSigningKeyPair('c9').privateKeyPem);
    await obs.publish(topic, signControl({ v: 1, site: gate.siteId, seq: '3', changes: [refund(c!)] }, stranger));
    const impostor = loadSigningKey('c1', generateSigningKeyPair('c1').privateKeyPem);
    await obs.publish(topic, signControl({ v: 1, site: gate.siteId, seq: '3', changes: [refund(c!)] }, impostor));
    // A correctly signed delta of another site (replayed onto this site's topic).
    await obs.publish(topic, delta(gate, 3, [refund(c!)], 'another-park'));
    await obs.publish(topic, 'not json at all');
    await obs.publish(topic, { v: 1, site: gate.siteId, seq: 'x', changes: [], sig: 'a.b' });
    await waitFor(() => Object.values(s.dropped).reduce((x, y) => x + y, 0) === 6, 'six drops');
    expect(s.dropped).toEqual({ unsigned: 1, unknown_key: 1, bad_signature: 1, wrong_site: 1, bad_json: 1, invalid: 1 });
    expect(s.whitelistSeq).toBe('2');
    expect((await gate.scanId(b!)).decision).toBe('admit');
    expect((await gate.scanId(c!)).decision).toBe('admit');

    // Every op in one delta, in one transaction with the seq.
    const newTicket: SnapshotTicket = { ticketId: 'NEWTICKET0000000000000001', typeId: 'adult', status: 'valid', visitDate: gate.site.today, persons: 1, entriesUsed: 0 };
    await obs.publish(topic, delta(gate, 3, [{ op: 'rebook', ticketId: d!, newTicket }, { op: 'used-elsewhere', ticketId: admissible(gate)[4]!, gate: 'west-1', entriesUsed: 1 }]));
    await waitFor(() => s.whitelistSeq === '3', 'delta 3 applied');
    expect((await gate.scanId(d!)).reason).toBe('rebooked');
    expect((await gate.scanId(admissible(gate)[4]!)).reason).toBe('entries_exhausted');
    expect((await gate.scanId(newTicket.ticketId)).decision).toBe('admit');
  }, 60_000);

  it('a gap resyncs through GET changes?since=N', async () => {
    const box = {} as { gate: SyncedGate };
    const { obs, http, gate } = await setup({
      http: (req, res) => {
        if (req.url?.includes('/whitelist/changes?since=1')) json(res, 200, { v: 1, deltas: [2, 3, 4].map((n) => delta(box.gate, n, [refund(admissible(box.gate)[n]!)])) });
        else json(res, 404);
      },
    });
    box.gate = gate;
    const ids = admissible(gate);
    await obs.publish(topics.whitelistDelta(gate.siteId), delta(gate, 4, [refund(ids[4]!)]));
    await waitFor(() => gate.daemon.sync!.status.whitelistSeq === '4', 'caught up to 4');
    expect(http!.requests).toContain(`/v1/sites/${gate.siteId}/whitelist/changes?since=1`);
    // Basic auth with the gate's one credential on every request.
    expect(new Set(http!.authorizations)).toEqual(new Set([gate.authorization]));
    for (const n of [2, 3, 4]) expect((await gate.scanId(ids[n]!)).reason).toBe('refunded');
    expect(gate.daemon.sync!.status.resync).toMatchObject({ state: 'idle', count: 1 });
  }, 60_000);

  it('410 Gone falls back to a full snapshot; the gate keeps its local usage', async () => {
    const box = {} as { gate: SyncedGate };
    const snapshotTickets = () => {
      const gate = box.gate;
      const ids = admissible(gate);
      return [
        { ticketId: ids[0]!, typeId: 'adult', visitDate: gate.site.today }, // used locally before the snapshot
        { ticketId: ids[1]!, typeId: 'adult', visitDate: gate.site.today, status: 'refunded' as const },
        { ticketId: ids[2]!, typeId: 'adult', visitDate: gate.site.today },
      ];
    };
    const { obs, http, gate } = await setup({
      http: (req, res) => {
        if (req.url?.includes('/whitelist/changes')) return json(res, 410, { error: 'gone' });
        if (req.url === `/v1/sites/${box.gate.siteId}/whitelist/snapshot`) {
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          res.end(signedSnapshot(box.gate.controlKey, { site: box.gate.siteId, asOfSeq: '10', tickets: snapshotTickets() }));
          return;
        }
        json(res, 404);
      },
    });
    box.gate = gate;
    const ids = admissible(gate);
    expect((await gate.scanId(ids[0]!)).decision).toBe('admit');
    await obs.publish(topics.whitelistDelta(gate.siteId), delta(gate, 7, [refund(ids[3]!)]));
    await waitFor(() => gate.daemon.sync!.status.whitelistSeq === '10', 'snapshot imported');
    expect(http!.requests.some((u) => u.endsWith('/whitelist/snapshot'))).toBe(true);
    expect(new Set(http!.authorizations)).toEqual(new Set([gate.authorization]));
    expect((await gate.scanId(ids[0]!)).reason).toBe('entries_exhausted');
    expect((await gate.scanId(ids[1]!)).reason).toBe('refunded');
    expect((await gate.scanId(ids[2]!)).decision).toBe('admit');
    expect((await gate.scanId(ids[3]!)).reason).toBe('unknown_ticket');
    // The next delta applies on top of the snapshot.
    await obs.publish(topics.whitelistDelta(gate.siteId), delta(gate, 11, [refund(ids[2]!)]));
    await waitFor(() => gate.daemon.sync!.status.whitelistSeq === '11', 'delta 11');
  }, 60_000);

  it('a retained head ahead of the gate starts a resync; a fresh gate resyncs on connect', async () => {
    const box = {} as { gate: SyncedGate };
    const { obs, gate } = await setup({
      http: (req, res) => {
        if (req.url?.includes('/whitelist/changes?since=1')) json(res, 200, { v: 1, deltas: [delta(box.gate, 2, [refund(admissible(box.gate)[0]!)])] });
        else json(res, 404);
      },
    });
    box.gate = gate;
    await obs.publish(topics.whitelistHead(gate.siteId), { v: 1, seq: '2' }, true);
    await waitFor(() => gate.daemon.sync!.status.whitelistSeq === '2', 'caught up to head');

    // The gate asks as soon as it connects, before setup() returns: its control key is made here.
    const control = generateSigningKeyPair('c1');
    const other = await setup({
      fresh: true,
      control,
      http: (req, res) => {
        // …and the site taken from the URL.
        const m = /^\/v1\/sites\/([^/]+)\/whitelist\/snapshot$/.exec(req.url ?? '');
        if (m) {
          res.writeHead(200);
          res.end(signedSnapshot(loadSigningKey('c1', control.privateKeyPem), { site: m[1]!, asOfSeq: '5', tickets: [{ ticketId: 'FRESHTICKET000000000001', typeId: 'adult', visitDate: gate.site.today }] }));
        } else json(res, 404);
      },
    }).catch((err: Error) => err);
    if (other instanceof Error) throw other;
    const fresh = other.gate;
    await waitFor(() => fresh.daemon.sync!.status.whitelistSeq === '5', 'fresh gate imported a snapshot');
    expect((await fresh.scanId('FRESHTICKET000000000001')).decision).toBe('admit');
  }, 60_000);
});

describe('sync downlink: only a signed snapshot replaces the whitelist', () => {
  it('a forged, a tampered and an unsigned snapshot are refused and counted; the old whitelist and seq stay; a signed one imports', async () => {
    const box = {} as { gate: SyncedGate; serve: () => string };
    const { gate, http } = await setup({
      http: (req, res) => {
        if (req.url?.includes('/whitelist/changes')) return json(res, 410, { error: 'gone' });
        if (req.url?.endsWith('/whitelist/snapshot')) {
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          res.end(box.serve());
          return;
        }
        json(res, 404);
      },
    });
    box.gate = gate;
    const s = gate.daemon.sync!.status;
    const [a, b] = admissible(gate);
    const tickets = [
      { ticketId: 'FORGEDTICKET00000000001', typeId: 'adult', visitDate: gate.site.today },
      { ticketId: a!, typeId: 'adult', visitDate: gate.site.today, status: 'refunded' as const },
    ];
    const stranger = loadSigningKey('c1', generateSigningKeyPair('c1').privateKeyPem);
    const good = signedSnapshot(gate.controlKey, { site: gate.siteId, asOfSeq: '10', tickets });
    const attacks: [string, string][] = [
      // Valid lines, trailer signed by a key with the trusted id that is not the trusted key.
      ['bad_signature', signedSnapshot(stranger, { site: gate.siteId, asOfSeq: '10', tickets })],
      // The cloud's own signature, one ticket line changed on the way.
      ['mismatch', good.replace('"status":"refunded"', '"status":"valid"   ')],
      ['unsigned', good.split('\n').filter((l) => !l.startsWith('{"signature"')).join('\n')],
    ];
    for (const [reason, text] of attacks) {
      box.serve = () => text;
      await gate.daemon.sync!.resync();
      expect(s.dropped[`snapshot_${reason}`], reason).toBe(1);
      expect(gate.log.events('snapshot_refused').at(-1)).toMatchObject({ reason });
      expect(s.resync).toMatchObject({ state: 'failed', lastError: expect.stringContaining('whitelist unchanged') });
      expect(s.whitelistSeq).toBe('1');
      expect(gate.daemon.sync!.status.whitelistSeq).toBe('1');
      expect((await gate.scanId('FORGEDTICKET00000000001')).reason).toBe('unknown_ticket');
    }
    expect(http!.requests.filter((u) => u.endsWith('/whitelist/snapshot'))).toHaveLength(3);
    // The old whitelist still admits; the refused snapshots' refund never applied.
    expect((await gate.scanId(a!)).decision).toBe('admit');

    box.serve = () => good;
    await gate.daemon.sync!.resync();
    expect(s.resync.state).toBe('idle');
    expect(s.whitelistSeq).toBe('10');
    expect((await gate.scanId('FORGEDTICKET00000000001')).decision).toBe('admit');
    expect((await gate.scanId(b!)).reason).toBe('unknown_ticket');
  }, 60_000);

  it('an endless snapshot stops at mqtt.snapshotMaxBytes, a slow-drip one at mqtt.snapshotTimeoutSec; nothing is left behind', async () => {
    const box = { mode: 'endless' as 'endless' | 'drip' };
    const { gate } = await setup({
      mqtt: { snapshotMaxBytes: 256 * 1024, snapshotTimeoutSec: 1 },
      http: (req, res) => {
        if (req.url?.includes('/whitelist/changes')) return json(res, 410, { error: 'gone' });
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const line = `${JSON.stringify({ ticketId: 'ENDLESS0000000000000001', typeId: 'adult', visitDate: '2026-11-25' })}\n`;
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(box.mode === 'endless' ? line.repeat(200) : '{')), box.mode === 'endless' ? 1 : 20);
        res.on('close', () => clearInterval(timer));
      },
    });
    const r = gate.daemon.sync!.status.resync;
    const download = `${gate.cfg.store.path}.snapshot-download`;
    await gate.daemon.sync!.resync();
    expect(r).toMatchObject({ state: 'failed', lastError: `GET snapshot: larger than ${256 * 1024} bytes (mqtt.snapshotMaxBytes); download stopped` });
    expect(r.bytes).toBeLessThanOrEqual(256 * 1024);
    expect(existsSync(download)).toBe(false);

    box.mode = 'drip';
    const started = Date.now();
    await gate.daemon.sync!.resync();
    expect(r).toMatchObject({ state: 'failed', lastError: 'GET snapshot: not finished after 1 s (mqtt.snapshotTimeoutSec); download stopped' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync(download)).toBe(false);
    expect(gate.daemon.sync!.status.whitelistSeq).toBe('1');
    expect((await gate.scanId(admissible(gate)[0]!)).decision).toBe('admit');
  }, 60_000);

  it("a 401 names the gate's user, never its password", async () => {
    const { gate } = await setup({ http: (_req, res) => json(res, 401, { error: 'unauthorized' }) });
    await gate.daemon.sync!.resync();
    const err = gate.daemon.sync!.status.resync.lastError ?? '';
    expect(err).toContain(`the cloud refused this gate's credential (user "gate.${gate.siteId}.${gate.gateId}"; revoked or wrong password)`);
    expect(JSON.stringify(gate.log.lines)).not.toContain(gate.password);
    expect(JSON.stringify(gate.daemon.sync!.status)).not.toContain(gate.password);
  }, 60_000);
});

describe('sync downlink: signed commands', () => {
  /** Send a signed command to the gate and wait for its ack. */
  async function commandRunner(gate: SyncedGate, obs: Observer): Promise<(action: string) => Promise<CommandAck>> {
    const ackTopic = topics.cmdAck(gate.siteId, gate.gateId);
    const cmdTopic = topics.cmd(gate.siteId, gate.gateId);
    await obs.subscribe(ackTopic);
    return async (action) => {
      const c = command(gate, action);
      await obs.publish(cmdTopic, c);
      await waitFor(() => obs.json<CommandAck>(ackTopic).some((a) => a.cmdId === c.cmdId), `${action} acked`);
      return obs.json<CommandAck>(ackTopic).find((a) => a.cmdId === c.cmdId)!;
    };
  }

  function command(gate: SyncedGate, action: string, extra: Record<string, unknown> = {}) {
    return gate.sign({
      v: 1,
      cmdId: `cmd-${Math.random().toString(36).slice(2, 12)}`,
      site: gate.siteId,
      gate: gate.gateId,
      action,
      issuedBy: 'ops@test',
      reason: 'test',
      at: new Date(gate.now).toISOString(),
      expiresAt: new Date(gate.now + 60_000).toISOString(),
      ...extra,
    });
  }

  it('open pulses once and is acked done; a redelivery is acked duplicate without a pulse; wrong gate, expired and unsigned are refused', async () => {
    const { gate, obs } = await setup();
    const ackTopic = topics.cmdAck(gate.siteId, gate.gateId);
    const cmdTopic = topics.cmd(gate.siteId, gate.gateId);
    await obs.subscribe(ackTopic);
    const acks = () => obs.json<CommandAck>(ackTopic);
    const ackFor = (id: string) => acks().filter((x) => x.cmdId === id);

    const open = command(gate, 'open', { persons: 2 });
    await obs.publish(cmdTopic, open);
    await waitFor(() => ackFor(open.cmdId).length === 1, 'open acked');
    expect(ackFor(open.cmdId)[0]).toMatchObject({ result: 'done' });
    expect(CommandAckSchema.safeParse(ackFor(open.cmdId)[0]).success).toBe(true);
    expect(gate.relay.pulses).toBe(2);
    expect(gate.log.events('remote_open')[0]).toMatchObject({ issuedBy: 'ops@test', reason: 'test', persons: 2 });

    await obs.publish(cmdTopic, open);
    await waitFor(() => ackFor(open.cmdId).length === 2, 'redelivery acked');
    expect(ackFor(open.cmdId)[1]).toMatchObject({ result: 'duplicate' });
    expect(gate.relay.pulses).toBe(2);

    const wrongGate = command(gate, 'open', { gate: 'west-9' });
    const expired = command(gate, 'open', { expiresAt: new Date(gate.now - 1000).toISOString() });
    const unsigned = { ...command(gate, 'open'), sig: 'c1.AAAA' };
    for (const m of [wrongGate, expired, unsigned]) await obs.publish(cmdTopic, m);
    await waitFor(() => [wrongGate, expired, unsigned].every((m) => ackFor(m.cmdId).length === 1), 'refusals acked');
    expect(ackFor(wrongGate.cmdId)[0]).toMatchObject({ result: 'refused', detail: expect.stringContaining('wrong_gate') });
    expect(ackFor(expired.cmdId)[0]).toMatchObject({ result: 'refused', detail: expect.stringContaining('expired') });
    expect(ackFor(unsigned.cmdId)[0]).toMatchObject({ result: 'refused', detail: expect.stringContaining('bad_signature') });
    expect(gate.relay.pulses).toBe(2);
    expect(gate.daemon.sync!.status.commands).toEqual({ done: 1, duplicate: 1, refused: 3 });
  }, 60_000);

  it('lock refuses every scan with gate_locked until unlock; emergency-open holds the relay; reload-config asks for a restart', async () => {
    const { gate, obs } = await setup();
    const run = await commandRunner(gate, obs);
    const [a, b] = admissible(gate);

    expect((await run('lock')).result).toBe('done');
    expect((await gate.scanId(a!)).reason).toBe('gate_locked');
    expect(gate.daemon.status().locked).toBe(true);
    expect(gate.relay.pulses).toBe(0);
    expect((await run('unlock')).result).toBe('done');
    expect((await gate.scanId(a!)).decision).toBe('admit');

    expect((await run('emergency-open')).result).toBe('done');
    await waitFor(() => gate.relay.emergency, 'relay held open');
    expect((await run('emergency-clear')).result).toBe('done');
    await waitFor(() => !gate.relay.emergency, 'relay released');

    expect(await run('reload-config')).toMatchObject({ result: 'failed', detail: expect.stringContaining('restart required') });
    expect((await gate.scanId(b!)).decision).toBe('admit');
  }, 60_000);

  it('reload-config applies new ticket types from gate.yaml live (a catalogue pulled with gatectl); other changes still need a restart', async () => {
    const { gate, obs } = await setup({ configFile: true });
    const run = await commandRunner(gate, obs);
    const [a, b] = admissible(gate);
    expect((await gate.scanId(a!)).decision).toBe('admit');
    // The park makes adult tickets early-bird only (entry before 08:00); the gate's clock says noon.
    const yaml = parse(readFileSync(gate.site.configPath, 'utf8')) as { ticketTypes: { id: string; entryWindow?: unknown }[]; gate: { id: string } };
    yaml.ticketTypes = yaml.ticketTypes.map((t) => (t.id === 'adult' ? { ...t, entryWindow: { from: '00:00', to: '08:00' } } : t));
    writeFileSync(gate.site.configPath, stringify(yaml));
    expect((await run('reload-config')).result).toBe('done');
    expect(await gate.scanId(b!)).toMatchObject({ decision: 'reject', reason: 'outside_entry_window' });
    // A device or identity change is not applied live, and says so.
    writeFileSync(gate.site.configPath, stringify({ ...yaml, gate: { ...yaml.gate, id: 'renamed' } }));
    expect(await run('reload-config')).toMatchObject({ result: 'failed', detail: expect.stringContaining('restart required: gate changed') });
  }, 60_000);
});
