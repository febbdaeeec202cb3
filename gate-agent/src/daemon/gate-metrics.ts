/**
 * The gate's Prometheus figures (docs/metrics.md): counted per scan through the daemon's
 * ScanObserver, and read from the daemon's live status at each scrape (devices, relay, lane,
 * the cloud link), so nothing on the hot path waits for them. Served only with a `metrics:`
 * section in gate.yaml; prom-client is loaded then and not before.
 */
import type { Logger } from 'pino';
import { REJECT_REASONS, type GateConfig } from '@stile/config';
import { counterFrom, gaugeFrom, setTimestamp, startConfiguredMetrics, type MetricsServer, type Prom, type Registry } from '@stile/service';
import type { DeviceHealth } from '../devices/supervisor.js';
import type { DaemonStatus, GateDaemon, ScanObserver } from './gate-daemon.js';

export interface GateMetrics {
  /** Pass to startGateDaemon (DaemonOptions.observer). */
  readonly observer: ScanObserver;
  /** The daemon whose status the scrape reads (set once it has started). */
  watch(daemon: Pick<GateDaemon, 'status'>): void;
  readonly url: string;
  close(): Promise<void>;
}

/** Seconds from a scan to its relay command: a healthy lane is in the first few buckets. */
export const SCAN_TO_RELAY_BUCKETS = [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5];

/**
 * Start the metrics server of gate.yaml's `metrics:` section; undefined without one. A server
 * that cannot start (port taken, token file unreadable) is logged and left out: the lane
 * keeps admitting.
 */
export async function startGateMetrics(cfg: GateConfig, logger: Logger): Promise<GateMetrics | undefined> {
  if (!cfg.metrics) return undefined;
  const log = logger.child({ module: 'metrics' });
  let status: (() => DaemonStatus) | undefined;
  let observer: ScanObserver | undefined;
  let server: MetricsServer;
  try {
    server = await startConfiguredMetrics(cfg.metrics, log, (prom, registry) => {
      observer = defineGateMetrics(prom, registry, { site: cfg.site.id, gate: cfg.gate.id, sync: cfg.mqtt !== undefined, lane: cfg.lane !== undefined }, () => status?.());
    });
  } catch (err) {
    log.error({ event: 'metrics_unavailable', err: (err as Error).message }, 'metrics not served; the gate runs on without them');
    return undefined;
  }
  log.info({ event: 'metrics_started', url: server.url }, `metrics at ${server.url}`);
  return {
    observer: observer!,
    watch: (daemon) => {
      status = () => daemon.status();
    },
    url: server.url,
    close: () => server.close(),
  };
}

/**
 * Every gate metric on `registry`; returns the observer that counts scans. The lane's and the
 * cloud link's figures exist only when gate.yaml has a `lane` or `mqtt` section.
 */
export function defineGateMetrics(prom: Prom, registry: Registry, has: { site: string; gate: string; sync: boolean; lane: boolean }, status: () => DaemonStatus | undefined): ScanObserver {
  const id = { site: has.site, gate: has.gate };
  const registers = [registry];
  const p = 'stile_gate_';
  new prom.Gauge({ name: `${p}info`, help: 'Always 1; labels name the site and gate this daemon serves.', labelNames: ['site', 'gate'], registers }).set(id, 1);

  // Counted per scan.
  const admissions = new prom.Counter({ name: `${p}admissions_total`, help: 'Scans admitted (one per ticket or ID-card tap, whatever its persons).', registers });
  const persons = new prom.Counter({ name: `${p}admitted_persons_total`, help: 'Persons admitted (a family ticket of 3 counts 3).', registers });
  const rejects = new prom.Counter({ name: `${p}rejects_total`, help: 'Scans refused, by reason (config/src/reasons.ts).', labelNames: ['reason'], registers });
  for (const reason of REJECT_REASONS) rejects.inc({ reason }, 0);
  const scans = new prom.Counter({ name: `${p}scans_total`, help: 'Scans decided, by credential: qr (ST1 codes), signed-qr (ST2 offline codes) or idcard (ID-card taps).', labelNames: ['credential'], registers });
  for (const credential of ['qr', 'signed-qr', 'idcard']) scans.inc({ credential }, 0);
  const latency = new prom.Histogram({
    name: `${p}scan_to_relay_seconds`,
    help: 'From the input delivering a scan to the first relay command of its admission being written (decision, durable commit, relay queue).',
    buckets: SCAN_TO_RELAY_BUCKETS,
    registers,
  });

  // Read from the daemon's status at each scrape.
  const read = <T>(fn: (st: DaemonStatus) => T): T | undefined => {
    const st = status();
    return st ? fn(st) : undefined;
  };
  const devices = (st: DaemonStatus): DeviceHealth[] => [...st.inputs, st.relay, ...(st.lane?.sensor ? [st.lane.sensor] : []), ...(st.lane?.display ? [st.lane.display] : [])];
  gaugeFrom(prom, registry, { name: `${p}device_up`, help: 'Each device: 1 while it works (state ok), 0 while it is down, reconnecting, starting or in the wrong mode.', labelNames: ['name', 'kind'] }, (set) =>
    read((st) => devices(st).forEach((d) => set({ name: d.name, kind: d.kind }, d.state === 'ok' ? 1 : 0))),
  );
  counterFrom(prom, registry, { name: `${p}device_reconnects_total`, help: 'Times a device came back after being lost.', labelNames: ['name', 'kind'] }, (set) =>
    read((st) => devices(st).forEach((d) => set({ name: d.name, kind: d.kind }, d.reconnects))),
  );
  counterFrom(prom, registry, { name: `${p}input_reads_total`, help: 'Reads each input delivered (scans, ID-card reads, lines), before the decision.', labelNames: ['name', 'kind'] }, (set) =>
    read((st) => st.inputs.forEach((d) => set({ name: d.name, kind: d.kind }, d.scans))),
  );
  counterFrom(prom, registry, { name: `${p}input_discarded_total`, help: 'Frames, reports or lines an input threw away, by reason (bad_checksum, too_long, …).', labelNames: ['name', 'reason'] }, (set) =>
    read((st) => st.inputs.forEach((d) => Object.entries(d.discarded).forEach(([reason, n]) => set({ name: d.name, reason }, n)))),
  );
  counterFrom(prom, registry, { name: `${p}relay_pulses_total`, help: 'Relay pulses given (one per person, remote opens included).' }, (set) => read((st) => set({}, st.relay.scans)));
  gaugeFrom(prom, registry, { name: `${p}locked`, help: '1 while the gate is locked by a remote command (every scan refused with gate_locked).' }, (set) => read((st) => set({}, st.locked ? 1 : 0)));
  if (has.lane) defineLaneMetrics(prom, registry, read);
  if (has.sync) defineSyncMetrics(prom, registry, read);

  return {
    scanned(o) {
      scans.inc({ credential: o.credential });
      if (o.decision === 'admit') {
        admissions.inc();
        persons.inc(o.persons);
      } else rejects.inc({ reason: o.reason ?? 'unknown' });
    },
    relayWritten(seconds) {
      latency.observe(seconds);
    },
  };
}

type Read = <T>(fn: (st: DaemonStatus) => T) => T | undefined;

/** gate.yaml `lane`: emergency hold, passage sensor. */
function defineLaneMetrics(prom: Prom, registry: Registry, read: Read): void {
  const p = 'stile_gate_';
  const lane = <T>(fn: (l: NonNullable<DaemonStatus['lane']>) => T): T | undefined => read((st) => (st.lane ? fn(st.lane) : undefined));
  gaugeFrom(prom, registry, { name: `${p}emergency_open`, help: '1 while the lane is held open for an emergency.' }, (set) => lane((l) => set({}, l.emergency.active ? 1 : 0)));
  counterFrom(prom, registry, { name: `${p}tailgates_total`, help: 'Passages the sensor saw with no admission waiting (lane.passageConfirm).' }, (set) => lane((l) => set({}, l.tailgates)));
  counterFrom(prom, registry, { name: `${p}not_passed_total`, help: 'Admissions nobody (or not everybody) walked through within the window.' }, (set) => lane((l) => set({}, l.notPassed)));
}

/** gate.yaml `mqtt`: the cloud link. Unknown values (no head heard yet) are NaN, never a made-up 0. */
function defineSyncMetrics(prom: Prom, registry: Registry, read: Read): void {
  const p = 'stile_gate_';
  const sync = <T>(fn: (s: NonNullable<DaemonStatus['sync']>) => T): T | undefined => read((st) => (st.sync ? fn(st.sync) : undefined));
  gaugeFrom(prom, registry, { name: `${p}cloud_connected`, help: '1 while connected to the broker with every subscription in place.' }, (set) => sync((s) => set({}, s.connected && s.subscribed ? 1 : 0)));
  gaugeFrom(prom, registry, { name: `${p}outbox_depth`, help: 'Entries waiting to be stored by the cloud.' }, (set) => sync((s) => set({}, s.outboxDepth)));
  gaugeFrom(prom, registry, { name: `${p}outbox_full`, help: '1 while the outbox holds more than mqtt.outboxMax rows (the gate keeps admitting).' }, (set) => sync((s) => set({}, s.outboxFull ? 1 : 0)));
  gaugeFrom(prom, registry, { name: `${p}whitelist_seq`, help: "The whitelist's seq on this gate." }, (set) => sync((s) => set({}, Number(s.whitelistSeq ?? 0))));
  gaugeFrom(prom, registry, { name: `${p}whitelist_head_seq`, help: "The cloud's whitelist seq as last announced to the gate." }, (set) => sync((s) => set({}, s.headSeq !== null ? Number(s.headSeq) : NaN)));
  gaugeFrom(prom, registry, { name: `${p}whitelist_seq_lag`, help: "Whitelist changes the gate is behind the cloud's last announced head (0 when up to date)." }, (set) =>
    sync((s) => set({}, s.headSeq !== null ? Math.max(0, Number(s.headSeq) - Number(s.whitelistSeq ?? 0)) : NaN)),
  );
  gaugeFrom(prom, registry, { name: `${p}last_receipt_timestamp_seconds`, help: "When the cloud last confirmed it stored this gate's entries (Unix time; NaN until the first since start)." }, (set) => sync((s) => setTimestamp(set, s.lastReceiptAt)));
  gaugeFrom(prom, registry, { name: `${p}last_delta_timestamp_seconds`, help: 'When the last whitelist change was applied (Unix time; NaN until the first since start).' }, (set) => sync((s) => setTimestamp(set, s.lastDeltaAt ?? s.resync.lastDoneAt)));
  counterFrom(prom, registry, { name: `${p}entries_sent_total`, help: 'Entry events the broker acknowledged.' }, (set) => sync((s) => set({}, s.eventsSent)));
  counterFrom(prom, registry, { name: `${p}resyncs_total`, help: 'Whitelist resyncs completed (changes or snapshot).' }, (set) => sync((s) => set({}, s.resync.count)));
  gaugeFrom(prom, registry, { name: `${p}resync_failing`, help: '1 while the last whitelist resync failed (it is retried every minute).' }, (set) => sync((s) => set({}, s.resync.state === 'failed' ? 1 : 0)));
  counterFrom(prom, registry, { name: `${p}control_dropped_total`, help: 'Cloud messages refused, by reason (bad_signature, wrong_site, …).', labelNames: ['reason'] }, (set) => sync((s) => Object.entries(s.dropped).forEach(([reason, n]) => set({ reason }, n))));
}
