import type { Logger } from 'pino';
import { loadGateConfig, type GateConfig, type RejectReason, type TicketType } from '@stile/config';
import { createInput, createRelay, type InputDeviceDeps, type LaneDeviceDeps } from '../devices/create.js';
import type { Relay } from '../devices/relay.js';
import type { DeviceHealth } from '../devices/supervisor.js';
import type { Credential } from '../gate/credential.js';
import type { ScanOutcome } from '../gate/gatekeeper.js';
import { Lane, type LaneStatus } from '../lane/lane.js';
import { startGateSync, type GateSync } from '../sync/gate-sync.js';
import type { SyncStatus } from '../sync/status.js';
import type { GateStore } from '../store/gate-store.js';
import { WalCheckpointer } from '../store/wal-checkpoint.js';
import { openGate } from './gate-context.js';
import { loadIdHashKey } from './secrets.js';

export interface DaemonStatus {
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  epoch: number;
  admitted: number;
  persons: number;
  rejected: number;
  rejectsByReason: Partial<Record<RejectReason, number>>;
  inputs: DeviceHealth[];
  relay: DeviceHealth;
  /** Passage sensor, emergency and display; null without a `lane` section. */
  lane: LaneStatus | null;
  /** Locked by a signed remote `lock` command: every scan is refused with gate_locked. */
  locked: boolean;
  /** The cloud link; null without an `mqtt` section (the gate runs offline). */
  sync: SyncStatus | null;
}

export interface DaemonOptions {
  /** The gate.yaml this config came from: reload-config re-reads it. */
  configPath?: string;
  clock?: () => number;
  relay?: Relay;
  /** How lane devices reach hardware (tests: FakeSerial, fake GPIO). */
  laneDevices?: LaneDeviceDeps;
  /** How inputs reach hardware (tests and hardware-sim: a simulated HID scanner). */
  inputDevices?: InputDeviceDeps;
  /** The Prometheus figures per scan (daemon/gate-metrics.ts), when metrics are configured. */
  observer?: ScanObserver;
}

/** Told about every scan; on the hot path, so it must be cheap and must not throw. */
export interface ScanObserver {
  scanned(outcome: ScanOutcome): void;
  /** An admission's first relay command was written, `seconds` after its input delivered the scan. */
  relayWritten(seconds: number): void;
}

export interface GateDaemon {
  status(): DaemonStatus;
  /** For tests and the demo: handle a credential as if an input produced it. */
  scan(cred: Credential, input?: string): Promise<ScanOutcome & { decisionMs: number }>;
  /** The cloud link, when the config has an `mqtt` section. */
  readonly sync: GateSync | undefined;
  /** The open store (supervision's STATUS line and clock check read it). */
  readonly store: GateStore;
  stop(): Promise<void>;
}

// Also how quickly `gatectl status` sees a device come or go.
const HEARTBEAT_MS = 2000;

/** Wire inputs → gatekeeper → relay. Everything the gate does per scan happens here. */
export function startGateDaemon(cfg: GateConfig, logger: Logger, opts: DaemonOptions = {}): GateDaemon {
  const log = logger.child({ module: 'gate' });
  const { store, gatekeeper, ticketTypes, lock } = openGate(cfg, logger, { lock: true, ...(opts.clock ? { clock: opts.clock } : {}) });
  const epoch = store.beginEpoch();
  // WAL checkpoints after admissions and on the heartbeat, never inside an admission's commit.
  const checkpoints = new WalCheckpointer(store.db, log);
  const relay = opts.relay ?? createRelay(cfg.relay, logger);
  const idKey = loadIdHashKey(cfg);
  const lane = cfg.lane
    ? new Lane(cfg.lane, { relay, store, timeZone: cfg.site.timezone, clock: opts.clock ?? Date.now, logger, ...opts.laneDevices })
    : undefined;
  const clock = opts.clock ?? Date.now;
  let locked = store.getMeta('gate_locked') === '1';
  const st: DaemonStatus = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    heartbeatAt: new Date().toISOString(),
    epoch,
    admitted: 0,
    persons: 0,
    rejected: 0,
    rejectsByReason: {},
    inputs: [],
    relay: relay.health,
    lane: lane?.status ?? null,
    locked,
    sync: null,
  };

  /** Lane extras (display, passage tracking) must never keep the relay from moving. */
  function laneSafely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      log.error({ err: (err as Error).message, what }, 'lane handling failed');
    }
  }

  async function scan(cred: Credential, input = 'api'): Promise<ScanOutcome & { decisionMs: number }> {
    const t0 = performance.now();
    const outcome: ScanOutcome = locked
      ? { decision: 'reject', reason: 'gate_locked', persons: 0, ticketId: null, typeId: null, credential: cred.kind === 'idcard' ? 'idcard' : 'qr', dryRun: false }
      : gatekeeper.evaluate(cred, { input, unsynced: true });
    const decisionMs = performance.now() - t0;
    opts.observer?.scanned(outcome);
    // The mask never goes next to a ticket id: together they tie a person to a visit. It is
    // logged only when no ticket was found, where it is what the staff need to help.
    const who = cred.kind === 'idcard' && outcome.ticketId === null ? { idcard: cred.masked } : {};
    if (outcome.decision === 'admit') {
      // The entry is committed (a crash of this process keeps it); only now may the turnstile
      // move. The relay command goes out first and the WAL is synced to disk while the serial
      // write is under way: power lost in between loses the entry, but the relay board (powered
      // by this board) drops with it (docs/footprint.md, "scan → relay").
      const observer = opts.observer;
      const written = observer ? { written: () => observer.relayWritten((performance.now() - t0) / 1000) } : {};
      const pulsed = relay.pulse(outcome.persons, { ticketId: outcome.ticketId, ...(outcome.entry ? { seq: outcome.entry.seq } : {}), ...written });
      st.admitted++;
      st.persons += outcome.persons;
      log.info({ event: 'admit', input, ticketId: outcome.ticketId, typeId: outcome.typeId, credential: outcome.credential, persons: outcome.persons, seq: outcome.entry?.seq, decisionMs, ...who }, 'admit');
      laneSafely('admitted', () => lane?.admitted(outcome));
      try {
        await store.syncWal();
      } catch (err) {
        log.error({ event: 'admission_sync_failed', seq: outcome.entry?.seq, err: (err as Error).message }, 'admission committed but not confirmed on disk; check the storage (gatectl doctor)');
      }
      // On disk: only now does it go to the cloud.
      sync?.notify();
      checkpoints.admitted();
      await pulsed;
      laneSafely('pulsed', () => lane?.pulsed(outcome));
    } else {
      st.rejected++;
      st.rejectsByReason[outcome.reason!] = (st.rejectsByReason[outcome.reason!] ?? 0) + 1;
      log.info({ event: 'reject', input, reason: outcome.reason, detail: outcome.detail, ticketId: outcome.ticketId, credential: outcome.credential, decisionMs, ...who }, 'reject');
      laneSafely('rejected', () => lane?.rejected(outcome));
    }
    return { ...outcome, decisionMs };
  }

  const sync: GateSync | undefined = cfg.mqtt
    ? startGateSync(
        { ...cfg, mqtt: cfg.mqtt },
        {
          store,
          epoch,
          clock,
          logger,
          devices: () => [...st.inputs, relay, ...(lane ? [lane.status.sensor, lane.status.display] : [])].flatMap((d) => (d === null ? [] : ['health' in d ? d.health : d])),
          actions: {
            async open(persons, audit) {
              log.warn({ event: 'remote_open', persons, ...audit }, 'turnstile opened by remote command');
              await relay.pulse(persons, { ticketId: null });
            },
            setLocked(on, audit) {
              locked = on;
              st.locked = on;
              if (st.sync) st.sync.locked = on;
              store.setMeta('gate_locked', on ? '1' : '0');
              log.warn({ event: on ? 'gate_locked' : 'gate_unlocked', ...audit }, on ? 'gate locked by remote command: every scan is refused' : 'gate unlocked by remote command');
            },
            setEmergency(on, audit) {
              log.warn({ event: on ? 'remote_emergency_open' : 'remote_emergency_clear', ...audit }, on ? 'emergency open by remote command' : 'remote emergency cleared');
              if (lane) lane.setRemoteEmergency(on, `command ${audit.cmdId} by ${audit.issuedBy}`);
              else void relay.setEmergency(on);
            },
            resync() {
              void sync?.resync();
            },
            reloadConfig: () => Promise.resolve(reloadTicketTypes(cfg, opts.configPath, ticketTypes, store, log)),
          },
        },
      )
    : undefined;
  if (sync) {
    st.sync = sync.status;
    sync.status.locked = locked;
  }

  lane?.start();
  const inputs = cfg.inputs.map((icfg) => {
    const input = createInput(icfg, idKey, logger, opts.inputDevices);
    st.inputs.push(input.health);
    input.on('credential', (cred, name) => {
      scan(cred, name).catch((err: Error) => log.error({ err: err.message, input: name }, 'scan handling failed'));
    });
    input.start();
    return input;
  });

  function writeHeartbeat(): void {
    st.heartbeatAt = new Date().toISOString();
    try {
      // Status for gatectl, not a record: committed without an fsync of its own (the next
      // admission's or checkpoint's sync takes it along), so the heartbeat never blocks a scan for one.
      store.exclusiveUnsynced(() => store.setMeta('daemon_status', JSON.stringify(st)));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not write status heartbeat');
    }
  }
  writeHeartbeat();
  const timer = setInterval(() => {
    writeHeartbeat();
    checkpoints.tick();
  }, HEARTBEAT_MS);
  // The last snapshot's count from meta, not count(*): that reads the whole table (~85 MB
  // at 1M tickets, seconds on an SD card) and leaves it in SQLite's page cache.
  log.info({ event: 'started', site: cfg.site.id, gate: cfg.gate.id, epoch, whitelistTickets: Number(store.getMeta('whitelist_count') ?? 0), whitelistSeq: store.whitelistSeq() ?? null, inputs: cfg.inputs.map((i) => i.name) }, 'gate started');

  return {
    status: () => st,
    scan,
    sync,
    store,
    async stop() {
      clearInterval(timer);
      await Promise.all(inputs.map((input) => input.close()));
      await sync?.stop();
      await lane?.close();
      await relay.close();
      writeHeartbeat();
      store.setMeta('daemon_stopped_at', new Date().toISOString());
      checkpoints.close();
      store.close();
      lock?.release();
      log.info({ event: 'stopped' }, 'gate stopped');
    },
  };
}

/**
 * reload-config: re-read gate.yaml and apply new ticket types (a catalogue change pulled
 * with `gatectl config pull-types`) without a restart. Anything else that changed — devices,
 * keys, MQTT — is wired in at start, so it is refused with what changed, and nothing is applied.
 */
export function reloadTicketTypes(
  current: GateConfig,
  configPath: string | undefined,
  ticketTypes: Map<string, TicketType>,
  store: { saveTicketTypes(types: TicketType[]): void },
  log: Logger,
): { ok: true } | { ok: false; detail: string } {
  if (!configPath) return { ok: false, detail: 'restart required: the gate was started without a config file to re-read' };
  let next: GateConfig;
  try {
    next = loadGateConfig(configPath);
  } catch (err) {
    return { ok: false, detail: `config not reloaded: ${(err as Error).message.split('\n')[0]}` };
  }
  const others = (Object.keys(next) as (keyof GateConfig)[]).filter((k) => k !== 'ticketTypes' && JSON.stringify(next[k]) !== JSON.stringify(current[k]));
  const gone = (Object.keys(current) as (keyof GateConfig)[]).filter((k) => !(k in next));
  if (others.length + gone.length > 0) return { ok: false, detail: `restart required: ${[...others, ...gone].join(', ')} changed; only ticketTypes reload live` };
  store.saveTicketTypes(next.ticketTypes);
  ticketTypes.clear();
  for (const t of next.ticketTypes) ticketTypes.set(t.id, t);
  current.ticketTypes = next.ticketTypes;
  log.info({ event: 'config_reloaded', ticketTypes: next.ticketTypes.map((t) => t.id) }, 'ticket types reloaded from gate.yaml');
  return { ok: true };
}
