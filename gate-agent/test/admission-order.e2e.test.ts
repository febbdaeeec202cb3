import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startSimGate, type SimGate } from '../../hardware-sim/src/index.js';
import { startGateDaemon, type GateDaemon } from '../src/daemon/gate-daemon.js';
import { WalCheckpointer } from '../src/store/wal-checkpoint.js';
import { GateStore, openDatabase } from '../src/store/index.js';
import { captureLog, RecordingRelay } from './helpers/lane.js';
import { GateProcess } from './helpers/processes.js';
import { makeSite, noonShanghai, silent, type TestSite } from './helpers/site.js';

/**
 * The admission path since issue #18 (docs/footprint.md, "scan → relay"): commit, relay
 * command, then the fsync of the WAL while the serial write is under way. A commit that
 * fails never moves the relay; a crash of the process right after the relay command keeps
 * the entry (the commit is in the OS's hands before the command goes out).
 */
let site: TestSite;
beforeAll(async () => {
  site = await makeSite(400);
});
afterAll(() => site?.cleanup());

describe('in-process daemon', () => {
  let daemon: GateDaemon | undefined;
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  function start() {
    const log = captureLog();
    const relay = new RecordingRelay(log.log);
    const now = noonShanghai(site.today);
    daemon = startGateDaemon({ ...site.cfg, inputs: [] }, log.log, { clock: () => now, relay });
    return { daemon, relay, log };
  }
  const adult = (n: number) => site.sample.ids.filter((_, i) => i % 8 < 3)[n]!;

  it('sends the relay command within the scan call, before the admission is synced to disk', async () => {
    const { daemon: d, relay, log } = start();
    const done = d.scan({ kind: 'qr', text: `ST1:${adult(0)}` }, 'test');
    // Nothing awaited yet: the relay has been told, the admission is logged, the sync is pending.
    expect(relay.drives).toEqual([true]);
    expect(log.events('admit')).toHaveLength(1);
    await expect(done).resolves.toMatchObject({ decision: 'admit' });
    expect(relay.drives).toEqual([true, false]);
  });

  it('a write the database refuses (a full or read-only disk) rejects with gate_fault and the relay stays still', async () => {
    const { daemon: d, relay, log } = start();
    await d.scan({ kind: 'qr', text: `ST1:${adult(1)}` }, 'test');
    const entries = d.store.entryCount();
    relay.drives.length = 0;
    d.store.db.pragma('query_only = 1');
    const out = await d.scan({ kind: 'qr', text: `ST1:${adult(2)}` }, 'test');
    d.store.db.pragma('query_only = 0');
    expect(out).toMatchObject({ decision: 'reject', reason: 'gate_fault' });
    expect(relay.drives).toEqual([]);
    expect(d.store.entryCount()).toBe(entries);
    expect(log.events('admit')).toHaveLength(1);
    // The ticket was not used up: it admits once the disk takes writes again.
    await expect(d.scan({ kind: 'qr', text: `ST1:${adult(2)}` }, 'test')).resolves.toMatchObject({ decision: 'admit' });
  });

  it('admissions commit without the automatic checkpoint; the daemon checkpoints after enough writes, or now and then when quiet', async () => {
    const store = new GateStore(openDatabase(join(site.dir, 'checkpoints.db')));
    try {
      let now = 0;
      const cp = new WalCheckpointer(store.db, silent, { everyChanges: 3, idleMs: 1_000 }, () => now);
      const autocheckpoint = () => store.db.pragma('wal_autocheckpoint', { simple: true });
      let inside: unknown;
      store.exclusiveUnsynced(() => (inside = autocheckpoint()));
      expect(inside).toBe(0);
      // Every other commit keeps it, and an import's 0 is left alone.
      expect(autocheckpoint()).toBe(1000);
      store.db.pragma('wal_autocheckpoint = 0');
      store.exclusiveUnsynced(() => store.setMeta('during-import', '1'));
      expect(autocheckpoint()).toBe(0);
      store.db.pragma('wal_autocheckpoint = 1000');
      cp.checkpoint();
      cp.checkpoints = 0;
      // One row: waits for the quiet interval.
      store.setMeta('a', '1');
      now = 500;
      cp.tick();
      expect(cp.checkpoints).toBe(0);
      now = 1_000;
      cp.tick();
      expect(cp.checkpoints).toBe(1);
      // Nothing written since: nothing to do, however long it is quiet.
      now = 9_000;
      cp.tick();
      expect(cp.checkpoints).toBe(1);
      // Enough rows: at the next heartbeat, or on the turn after an admission.
      for (const k of ['b', 'c', 'd']) store.setMeta(k, '1');
      cp.tick();
      expect(cp.checkpoints).toBe(2);
      for (const k of ['e', 'f', 'g']) store.setMeta(k, '1');
      cp.admitted();
      expect(cp.checkpoints).toBe(2);
      await new Promise((r) => setImmediate(r));
      expect(cp.checkpoints).toBe(3);
      // What it did: the WAL holds nothing the database does not.
      const [r] = store.db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
      expect(r!.checkpointed).toBe(r!.log);
    } finally {
      store.close();
    }
  });
});

describe('kill -9 the moment the relay board is told to switch', () => {
  let sim: SimGate | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('the entry survives, and the restarted gate refuses the ticket', async () => {
    sim = await startSimGate({ dir: join(site.dir, 'sim'), idCard: false, sensor: false, display: false });
    const cfg = parse(readFileSync(site.configPath, 'utf8')) as Record<string, unknown>;
    const devices = parse(sim.gateYaml()) as { inputs: unknown; relay: Record<string, unknown> };
    writeFileSync(join(site.dir, 'kill.yaml'), stringify({ ...cfg, store: { path: site.dbPath }, inputs: devices.inputs, relay: { ...devices.relay, pulseMs: 50, gapMs: 0 } }));
    const ids = site.sample.ids.filter((_, i) => i % 8 < 3).slice(10, 15);
    for (const id of ids) {
      const gate = new GateProcess(join(site.dir, 'kill.yaml'));
      await gate.waitFor((l) => l.filter((x) => x.event === 'device_ok').length >= 2);
      const on = once(sim.relay.events, 'on');
      const exited = once(gate.proc, 'exit');
      await sim.scanner.scan(`ST1:${id}`);
      await on;
      // The relay board has the ON command: kill now, while the gate may still be syncing the WAL.
      gate.proc.kill('SIGKILL');
      await exited;
      sim.relay.clear();
    }
    const db = new Database(site.dbPath, { readonly: true });
    try {
      const recorded = db.prepare(`SELECT ticket_id AS id FROM entries WHERE kind = 'admit' AND ticket_id IN (${ids.map(() => '?').join(', ')})`).all(...ids) as { id: string }[];
      expect(recorded.map((r) => r.id).sort()).toEqual([...ids].sort());
      const outbox = db.prepare('SELECT count(*) AS n FROM outbox o JOIN entries e USING (seq) WHERE e.ticket_id IN (' + ids.map(() => '?').join(', ') + ')').get(...ids) as { n: number };
      expect(outbox.n).toBe(ids.length);
    } finally {
      db.close();
    }
    // A clean start: every one of them is used, and the turnstile does not move for them.
    const gate = new GateProcess(join(site.dir, 'kill.yaml'));
    try {
      await gate.waitFor((l) => l.filter((x) => x.event === 'device_ok').length >= 2);
      // The last kill left the contact closed (the board keeps its state); the restart opened it.
      await new Promise((r) => setTimeout(r, 200));
      sim.relay.clear();
      const moved: unknown[] = [];
      sim.relay.events.on('on', (...a: unknown[]) => moved.push(a));
      for (const id of ids) await sim.scanner.scan(`ST1:${id}`);
      await gate.waitFor((l) => l.filter((x) => x.event === 'reject').length >= ids.length);
      expect(new Set(gate.events('reject').map((r) => r.reason))).toEqual(new Set(['entries_exhausted']));
      expect(gate.events('admit')).toEqual([]);
      expect(moved).toEqual([]);
      expect(sim.relay.pulses).toEqual([]);
    } finally {
      await gate.stop();
    }
  }, 60_000);
});
