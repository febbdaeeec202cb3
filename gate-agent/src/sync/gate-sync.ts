import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { connect, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { EntriesAckSchema, loadTrustedKeys, localClock, topics, type GateConfig, type GateStatus, type MqttConfig } from '@stile/config';
import type { DeviceHealth } from '../devices/supervisor.js';
import type { GateStore } from '../store/index.js';
import { CommandHandler, type GateActions } from './commands.js';
import { checkControl } from './control.js';
import { mqttOptions, nextReconnectMs } from './mqtt-options.js';
import { OutboxDrain } from './outbox-drain.js';
import { PeerEntries, type PeerStats } from './peer-entries.js';
import { cloudCredential } from './resync-http.js';
import { bump, newSyncStatus, type SyncStatus } from './status.js';
import { WhitelistSync } from './whitelist-sync.js';

export interface GateSyncDeps {
  store: GateStore;
  epoch: number;
  clock: () => number;
  logger: Logger;
  /** The gate's devices, for the status message. */
  devices(): DeviceHealth[];
  actions: GateActions;
}

export interface GateSync {
  readonly status: SyncStatus;
  /** Park-local mode (`mqtt.peers`): what the site's other gates' entries did here; null otherwise. */
  readonly peers: PeerStats | null;
  /** An admission (or not-passed event) was written: drain soon. */
  notify(): void;
  /** Start a whitelist resync (the `resync` command). */
  resync(): Promise<void>;
  /** Publish the status now (something the status shows changed). */
  statusChanged(): void;
  /** Flush what is in flight (bounded), publish offline status, disconnect. */
  stop(): Promise<void>;
}

const STATUS_EVERY_MS = 10_000;
const OUTBOX_POLL_MS = 200;
const STOP_FLUSH_MS = 3_000;

/**
 * The gate's link to the cloud over MQTT (DESIGN §5): entries uplink from the outbox,
 * retained status with Last Will, signed whitelist deltas and commands downlink.
 * Everything here is best effort around the gate: nothing in it can stop an admission.
 */
export function startGateSync(cfg: GateConfig & { mqtt: MqttConfig }, deps: GateSyncDeps): GateSync {
  const log = deps.logger.child({ module: 'sync' });
  const site = cfg.site.id;
  const gate = cfg.gate.id;
  const { store } = deps;
  const status = newSyncStatus(cfg.mqtt.url.replace(/\/\/[^@/]*@/, '//'));
  const trusted = loadTrustedKeys(cfg.keys.control);
  const today = () => localClock(cfg.site.timezone, deps.clock()).date;
  // Read once at start: the same credential for the broker and the cloud's HTTP API. Never logged.
  const credential = cloudCredential(cfg.mqtt, site, gate, cfg.mqtt.passwordFile !== undefined ? readFileSync(cfg.mqtt.passwordFile, 'utf8') : undefined);
  const t = {
    entries: topics.entries(site, gate),
    entriesAck: topics.entriesAck(site, gate),
    status: topics.status(site, gate),
    cmd: topics.cmd(site, gate),
    cmdAck: topics.cmdAck(site, gate),
    delta: topics.whitelistDelta(site),
    head: topics.whitelistHead(site),
  };

  const offline: GateStatus = { v: 1, state: 'offline', epoch: deps.epoch, at: new Date().toISOString() };
  const client: MqttClient = connect(cfg.mqtt.url, mqttOptions(cfg, { topic: t.status, payload: JSON.stringify(offline) }));
  let reconnectMs = cfg.mqtt.reconnectMinMs;
  let stopping = false;

  const publishStatus = (): void => {
    if (!client.connected || stopping) return;
    client.publishAsync(t.status, JSON.stringify(gateStatus()), { qos: 1, retain: true }).catch((err: Error) => log.debug({ err: err.message }, 'status not published'));
  };

  const drain = new OutboxDrain({
    store,
    site,
    gate,
    batchSize: cfg.mqtt.batchSize,
    outboxMax: cfg.mqtt.outboxMax,
    status,
    log,
    publish: async (message) => {
      await client.publishAsync(t.entries, JSON.stringify(message), { qos: 1 });
    },
    onAlert: publishStatus,
  });
  const dbPath = store.db.memory ? join(tmpdir(), `stile-${site}-${gate}-${process.pid}`) : store.db.name;
  const whitelist = new WhitelistSync({
    store,
    site,
    trusted,
    today,
    snapshotUrl: cfg.mqtt.snapshotUrl,
    credential,
    snapshotLimits: { maxBytes: cfg.mqtt.snapshotMaxBytes, timeoutMs: cfg.mqtt.snapshotTimeoutSec * 1000 },
    downloadPath: join(dirname(dbPath), `${dbPath.split('/').pop() ?? 'gate.db'}.snapshot-download`),
    status,
    log,
    onChange: publishStatus,
  });
  const commands = new CommandHandler({
    store,
    site,
    gate,
    trusted,
    today,
    now: deps.clock,
    actions: deps.actions,
    status,
    log,
    ack: (ack) => {
      client.publishAsync(t.cmdAck, JSON.stringify(ack), { qos: 1 }).catch((err: Error) => log.warn({ event: 'ack_not_published', cmdId: ack.cmdId, err: err.message }, 'command ack not published'));
    },
  });
  // Park-local broker mode: the site's other gates' entries count here too.
  const peers = cfg.mqtt.peers
    ? new PeerEntries({ store, site, gate, timeZone: cfg.site.timezone, offlineKeys: loadTrustedKeys(cfg.keys.offline), clock: deps.clock, status, log })
    : undefined;
  // One command at a time, in arrival order.
  let commandQueue: Promise<void> = Promise.resolve();

  function gateStatus(): GateStatus {
    const devices = deps.devices().map((d) => ({
      name: d.name,
      kind: d.kind,
      state: d.state === 'ok' || d.state === 'wrong_mode' ? d.state : d.state === 'starting' || d.state === 'reconnecting' ? ('reconnecting' as const) : ('failed' as const),
      ...(d.error !== undefined ? { error: d.error.slice(0, 200) } : {}),
    }));
    const degraded = status.outboxFull || devices.some((d) => d.state !== 'ok');
    const seq = store.whitelistSeq();
    return {
      v: 1,
      state: degraded ? 'degraded' : 'online',
      epoch: deps.epoch,
      at: new Date().toISOString(),
      ...(seq !== undefined ? { whitelistSeq: seq } : {}),
      outboxDepth: status.outboxDepth,
      devices,
    };
  }

  // On every connect (a broker restored from persistence may not hold them), checked against
  // the SUBACK and retried: without its subscriptions a gate hears no delta, command or receipt.
  let retrySubscribe: NodeJS.Timeout | undefined;
  const subscribe = (): void => {
    clearTimeout(retrySubscribe);
    const wanted = { [t.delta]: { qos: 1 as const }, [t.head]: { qos: 1 as const }, [t.cmd]: { qos: 1 as const }, [t.entriesAck]: { qos: 1 as const }, ...(peers ? { [peers.filter]: { qos: 1 as const } } : {}) };
    client.subscribeAsync(wanted).then(
      (granted) => {
        const refused = granted.filter((g) => g.qos >= 0x80);
        status.subscribed = refused.length === 0;
        if (refused.length === 0) {
          if (status.lastError?.startsWith('subscription')) status.lastError = null;
          return;
        }
        status.lastError = `subscription refused by the broker: ${refused.map((g) => g.topic).join(', ')}`;
        log.error({ event: 'subscribe_refused', topics: refused.map((g) => g.topic) }, 'broker refused a subscription; retrying in 5 s');
        if (!stopping) retrySubscribe = setTimeout(subscribe, 5000).unref();
      },
      (err: Error) => {
        status.subscribed = false;
        status.lastError = `subscription refused or failed: ${err.message}`;
        log.error({ event: 'subscribe_failed', err: err.message }, 'could not subscribe; retrying in 5 s');
        if (!stopping && client.connected) retrySubscribe = setTimeout(subscribe, 5000).unref();
      },
    );
  };
  client.on('connect', (connack) => {
    // Small messages both ways: without this, Nagle plus the broker's delayed ACK held
    // packets back ~40 ms (delta to all gates p50 48 ms → 29 ms in bench/sync.js).
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    reconnectMs = cfg.mqtt.reconnectMinMs;
    client.options.reconnectPeriod = reconnectMs;
    status.connected = true;
    status.subscribed = false;
    status.connectedAt = new Date().toISOString();
    status.lastError = null;
    log.info({ event: 'mqtt_connected', broker: status.broker, sessionPresent: connack.sessionPresent }, 'connected to the cloud');
    subscribe();
    drain.refreshDepth(true);
    publishStatus();
    drain.connected();
    if (store.whitelistSeq() === undefined && cfg.mqtt.snapshotUrl) void whitelist.resync('fresh_gate');
  });
  client.on('close', () => {
    drain.disconnected();
    // Our own stop() closes the connection too: not worth a warning.
    if (status.connected && !stopping) {
      status.disconnects++;
      log.warn({ event: 'mqtt_disconnected' }, 'lost the cloud connection; entries stay in the outbox');
    }
    status.connected = false;
    status.subscribed = false;
    // mqtt.js has already scheduled this reconnect; the new period applies to the next one.
    reconnectMs = nextReconnectMs(reconnectMs, cfg.mqtt.reconnectMinMs, cfg.mqtt.reconnectMaxMs);
    client.options.reconnectPeriod = reconnectMs;
  });
  client.on('reconnect', () => log.debug({ event: 'mqtt_reconnect', afterMs: client.options.reconnectPeriod }, 'reconnecting'));
  client.on('error', (err) => {
    status.lastError = err.message;
    log.warn({ event: 'mqtt_error', err: err.message }, 'mqtt error');
  });
  client.on('message', (topic, payload) => {
    try {
      if (topic === t.entriesAck) handleReceipt(payload);
      else if (topic === t.delta) whitelist.handleDelta(payload);
      else if (topic === t.head) whitelist.handleHead(payload);
      else if (topic === t.cmd) {
        commandQueue = commandQueue.then(() => commands.handle(payload)).catch((err: Error) => log.error({ event: 'command_crashed', err: err.message }, 'command handling failed'));
      } else if (peers?.matches(topic)) peers.handle(topic, payload);
    } catch (err) {
      log.error({ event: 'message_failed', topic, err: (err as Error).message }, 'message handling failed; dropped');
    }
  });

  /**
   * The cloud's receipt: only these rows leave the outbox. It must be signed by the site's
   * control key, name this gate, and name the eventIds the journal holds at `from` and
   * `to`, so neither a foreign publisher nor a receipt replayed after a database reset
   * (seqs start again at 1) can delete entries the cloud never stored.
   */
  function handleReceipt(payload: Buffer): void {
    const c = checkControl(payload, EntriesAckSchema, trusted, today());
    if (!c.ok) return dropReceipt(c.reason === 'invalid' || c.reason === 'bad_json' ? 'invalid_receipt' : c.reason, c.detail);
    const r = c.msg;
    if (r.site !== site || r.gate !== gate) return dropReceipt('wrong_gate', `receipt is for ${r.site}/${r.gate}`);
    const from = Number(r.from);
    const to = Number(r.to);
    const first = store.eventIdAt(from);
    const last = store.eventIdAt(to);
    if (first !== r.firstEventId || last !== r.lastEventId) {
      return dropReceipt('receipt_mismatch', `seq ${r.from}..${r.to} holds ${first ?? 'nothing'}..${last ?? 'nothing'}, receipt names ${r.firstEventId}..${r.lastEventId}`);
    }
    drain.receipt(from, to);
  }

  function dropReceipt(reason: string, detail: string): void {
    bump(status.dropped, reason);
    log.warn({ event: 'message_dropped', topic: t.entriesAck, reason, detail }, 'entries receipt dropped');
  }

  let lastSeq = safe(() => store.lastSeq(), 0);
  const poll = setInterval(() => {
    const s = safe(() => store.lastSeq(), lastSeq);
    if (s !== lastSeq) {
      lastSeq = s;
      drain.kick();
    }
  }, OUTBOX_POLL_MS);
  let lastStatusKey = '';
  const statusTimer = setInterval(() => {
    drain.refreshDepth(true);
    publishStatus();
  }, STATUS_EVERY_MS);
  // "On change": device states and the alert, checked cheaply every second.
  const changeTimer = setInterval(() => {
    const s = gateStatus();
    const key = JSON.stringify([s.state, s.devices, s.whitelistSeq]);
    if (key !== lastStatusKey) {
      lastStatusKey = key;
      publishStatus();
    }
  }, 1000);

  return {
    status,
    peers: peers?.stats ?? null,
    notify: () => drain.kick(),
    resync: () => whitelist.resync('command'),
    statusChanged: publishStatus,
    async stop() {
      clearInterval(poll);
      clearInterval(statusTimer);
      clearInterval(changeTimer);
      await whitelist.close();
      await commandQueue;
      if (client.connected) {
        const bye: GateStatus = { v: 1, state: 'offline', epoch: deps.epoch, at: new Date().toISOString() };
        await withTimeout(client.publishAsync(t.status, JSON.stringify(bye), { qos: 1, retain: true }), STOP_FLUSH_MS).catch(() => undefined);
      }
      stopping = true;
      drain.disconnected();
      // A clean end waits for in-flight batches; a dead broker must not keep the gate from stopping.
      const ended = await withTimeout(client.endAsync(false), STOP_FLUSH_MS).then(
        () => true,
        () => false,
      );
      if (!ended) await client.endAsync(true).catch(() => undefined);
      status.connected = false;
      log.info({ event: 'sync_stopped', outboxDepth: safe(() => store.outboxDepth(), -1) }, 'cloud sync stopped');
    },
  };
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
