import type { Logger } from 'pino';
import type { GateConfig, RejectReason } from '@stile/config';
import { createInput, createRelay, type LaneDeviceDeps } from '../devices/create.js';
import type { Relay } from '../devices/relay.js';
import type { DeviceHealth } from '../devices/supervisor.js';
import type { Credential } from '../gate/credential.js';
import type { ScanOutcome } from '../gate/gatekeeper.js';
import { Lane, type LaneStatus } from '../lane/lane.js';
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
}

export interface DaemonOptions {
  clock?: () => number;
  relay?: Relay;
  /** How lane devices reach hardware (tests: FakeSerial, fake GPIO). */
  laneDevices?: LaneDeviceDeps;
}

export interface GateDaemon {
  status(): DaemonStatus;
  /** For tests and the demo: handle a credential as if an input produced it. */
  scan(cred: Credential, input?: string): Promise<ScanOutcome & { decisionMs: number }>;
  stop(): Promise<void>;
}

// Also how quickly `gatectl status` sees a device come or go.
const HEARTBEAT_MS = 2000;

/** Wire inputs → gatekeeper → relay. Everything the gate does per scan happens here. */
export function startGateDaemon(cfg: GateConfig, logger: Logger, opts: DaemonOptions = {}): GateDaemon {
  const log = logger.child({ module: 'gate' });
  const { store, gatekeeper } = openGate(cfg, logger, opts.clock ? { clock: opts.clock } : {});
  const epoch = store.beginEpoch();
  const relay = opts.relay ?? createRelay(cfg.relay, logger);
  const idKey = loadIdHashKey(cfg);
  const lane = cfg.lane
    ? new Lane(cfg.lane, { relay, store, timeZone: cfg.site.timezone, clock: opts.clock ?? Date.now, logger, ...opts.laneDevices })
    : undefined;
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
    const outcome = gatekeeper.evaluate(cred, { input });
    const decisionMs = performance.now() - t0;
    const who = cred.kind === 'idcard' ? { idcard: cred.masked } : {};
    if (outcome.decision === 'admit') {
      st.admitted++;
      st.persons += outcome.persons;
      log.info({ event: 'admit', input, ticketId: outcome.ticketId, typeId: outcome.typeId, credential: outcome.credential, persons: outcome.persons, seq: outcome.entry?.seq, decisionMs, ...who }, 'admit');
      laneSafely('admitted', () => lane?.admitted(outcome));
      // The entry is committed; only now may the turnstile move.
      await relay.pulse(outcome.persons, { ticketId: outcome.ticketId, ...(outcome.entry ? { seq: outcome.entry.seq } : {}) });
      laneSafely('pulsed', () => lane?.pulsed(outcome));
    } else {
      st.rejected++;
      st.rejectsByReason[outcome.reason!] = (st.rejectsByReason[outcome.reason!] ?? 0) + 1;
      log.info({ event: 'reject', input, reason: outcome.reason, detail: outcome.detail, ticketId: outcome.ticketId, credential: outcome.credential, decisionMs, ...who }, 'reject');
      laneSafely('rejected', () => lane?.rejected(outcome));
    }
    return { ...outcome, decisionMs };
  }

  lane?.start();
  const inputs = cfg.inputs.map((icfg) => {
    const input = createInput(icfg, idKey, logger);
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
      store.setMeta('daemon_status', JSON.stringify(st));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not write status heartbeat');
    }
  }
  writeHeartbeat();
  const timer = setInterval(writeHeartbeat, HEARTBEAT_MS);
  log.info({ event: 'started', site: cfg.site.id, gate: cfg.gate.id, epoch, tickets: store.ticketCount(), inputs: cfg.inputs.map((i) => i.name) }, 'gate started');

  return {
    status: () => st,
    scan,
    async stop() {
      clearInterval(timer);
      await Promise.all(inputs.map((input) => input.close()));
      await lane?.close();
      await relay.close();
      writeHeartbeat();
      store.setMeta('daemon_stopped_at', new Date().toISOString());
      store.close();
      log.info({ event: 'stopped' }, 'gate stopped');
    },
  };
}
