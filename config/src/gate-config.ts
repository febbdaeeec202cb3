import { z } from 'zod';
import { loadYamlConfig, schemaIssues, type ConfigIssue } from './yaml-config.js';
import { InputSchema, LaneSchema, RelaySchema, type LaneConfig } from './devices.js';
import { TicketTypeSchema } from './rules.js';
import { isoDate, timeZone } from './time.js';
import { ticketId } from './ticket.js';
import { isLoopbackHost } from './net.js';
import { METRICS_PORTS, metricsSchema } from './metrics-config.js';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected lowercase letters, digits and dashes');

/** Ed25519 public key, raw 32 bytes as base64/base64url, or a PEM SPKI block. */
export const PublicKeySchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'expected 1–16 chars of [A-Za-z0-9_-]'),
    publicKey: z.string().min(40, 'expected an Ed25519 public key (base64 raw 32 bytes or PEM)'),
    notAfter: isoDate.optional(),
  })
  .strict();
export type PublicKeyConfig = z.infer<typeof PublicKeySchema>;

export const MqttSchema = z
  .object({
    url: z.string().regex(/^(mqtts?|wss?):\/\//, 'expected mqtt://, mqtts://, ws:// or wss:// URL'),
    username: z.string().optional(),
    passwordFile: z.string().optional(),
    caFile: z.string().optional(),
    certFile: z.string().optional(),
    keyFile: z.string().optional(),
    /**
     * 5 (default): MQTT v5 (session expiry, PUBACK reason codes). 4: MQTT 3.1.1 for brokers
     * without v5, such as the embedded Aedes of a single-box install or the demo; the
     * broker then keeps the gate's session until it expires by its own settings.
     */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
    /** MQTT client id; default `stile-<site>-<gate>`. */
    clientId: z.string().min(1).max(128).optional(),
    /** Entry events per published batch (DESIGN §5 rule 6). */
    batchSize: z.number().int().min(100).max(500).default(200),
    /** Outbox rows before the gate raises an `outbox_full` alert. It keeps admitting and never drops a row. */
    outboxMax: z.number().int().min(1).default(1_000_000),
    keepaliveSec: z.number().int().min(5).max(600).default(30),
    /** Reconnect backoff: doubles from min to max, plus up to 25 % jitter. */
    reconnectMinMs: z.number().int().min(10).default(1000),
    reconnectMaxMs: z.number().int().min(10).default(60_000),
    /** Session expiry on the broker, so QoS 1 deltas and commands sent during a short outage are delivered. */
    sessionExpirySec: z.number().int().min(0).default(600),
    /**
     * Base URL of the cloud's HTTP API for whitelist resyncs, e.g. https://cloud.example.
     * Must be https:// (the gate sends its credential and acts on what comes back), except
     * to a loopback host (single-box install, tests) or with `insecure: true`.
     */
    snapshotUrl: z.string().regex(/^https?:\/\//, 'expected an http:// or https:// URL').optional(),
    /**
     * Allows plain http:// in snapshotUrl to a non-loopback cloud. For closed test networks
     * only: the gate's credential would cross the network in the clear.
     */
    insecure: z.literal(true).optional(),
    /**
     * Park-local broker mode (docs/park-local-broker.md): also subscribe to the entries of
     * the site's other gates and count their admissions here at once, so a ticket used at
     * one lane is refused at the next within a second even while the cloud is unreachable.
     * Needs a broker whose ACL lets the gate read `stile/<site>/gates/+/entries`.
     */
    peers: z.boolean().optional(),
    /** A snapshot download larger than this is stopped and discarded (a 1M-ticket whitelist is ~150 MB). */
    snapshotMaxBytes: z.number().int().min(1).default(1024 ** 3),
    /** The whole snapshot download (connect and body) must finish within this many seconds. */
    snapshotTimeoutSec: z.number().int().min(1).default(900),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.snapshotUrl === undefined) return;
    const problem = plainHttpProblem(m.snapshotUrl, m.insecure === true);
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem} (or set mqtt.insecure: true on a closed test network)`, path: ['snapshotUrl'] });
  });
export type MqttConfig = z.infer<typeof MqttSchema>;

export { isLoopbackHost };

/**
 * Why `url` may not be used for the gate's cloud requests, or null when it may: https://
 * always, http:// only to a loopback host or when `insecure` is set.
 */
export function plainHttpProblem(url: string, insecure: boolean): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `"${url}" is not a valid URL`;
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol !== 'http:') return `expected an https:// URL, got ${u.protocol}//`;
  // The URL parser normalises hosts (e.g. http://2130706433/ is 127.0.0.1), so this checks what will be dialled.
  if (isLoopbackHost(u.hostname) || insecure) return null;
  return `plain http:// to ${u.hostname} would send the gate's credential and whitelist in the clear; use https://`;
}

/** Secret that may be given inline (dev) or as a file path (production). */
const SecretSchema = z
  .object({ value: z.string().min(32).optional(), file: z.string().optional() })
  .strict()
  .refine((s) => (s.value === undefined) !== (s.file === undefined), 'give exactly one of value or file');

export const GateConfigSchema = z
  .object({
    version: z.literal(1),
    site: z.object({ id: slug, name: z.string().min(1).optional(), timezone: timeZone.default('Asia/Shanghai') }).strict(),
    gate: z
      .object({ id: slug, name: z.string().min(1).optional(), zone: z.string().min(1).default('main') })
      .strict(),
    store: z.object({ path: z.string().min(1) }).strict(),
    keys: z
      .object({
        /** Site HMAC key for ID-card numbers (≥32 chars / bytes of entropy). */
        idHash: SecretSchema,
        /** Public keys that sign offline ST2 tickets; several at once during rotation. */
        offline: z.array(PublicKeySchema).default([]),
        /** Public keys that sign cloud → gate control messages (whitelist deltas, commands). Required with `mqtt`. */
        control: z.array(PublicKeySchema).default([]),
      })
      .strict(),
    /** ST2 ticket ids that must not pass even with a valid signature. */
    revokedTickets: z.array(ticketId).default([]),
    ticketTypes: z.array(TicketTypeSchema).min(1),
    inputs: z.array(InputSchema).min(1),
    relay: RelaySchema.default({ type: 'log', pulseMs: 200, gapMs: 200 }),
    /** Optional lane I/O: passage sensor, emergency input, visitor display. */
    lane: LaneSchema.optional(),
    mqtt: MqttSchema.optional(),
    /** Prometheus text on loopback (docs/metrics.md); absent: no metrics server. */
    metrics: metricsSchema(METRICS_PORTS.gate).optional(),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.ticketTypes.forEach((t, i) => {
      if (seen.has(t.id)) ctx.addIssue({ code: 'custom', message: `duplicate ticket type id "${t.id}"`, path: ['ticketTypes', i, 'id'] });
      seen.add(t.id);
    });
    const inputNames = new Set<string>();
    cfg.inputs.forEach((input, i) => {
      if (inputNames.has(input.name)) ctx.addIssue({ code: 'custom', message: `duplicate input name "${input.name}"; give each input its own name`, path: ['inputs', i, 'name'] });
      inputNames.add(input.name);
    });
    const keyIds = new Set<string>();
    cfg.keys.offline.forEach((k, i) => {
      if (keyIds.has(k.id)) ctx.addIssue({ code: 'custom', message: `duplicate key id "${k.id}"`, path: ['keys', 'offline', i, 'id'] });
      keyIds.add(k.id);
    });
    const controlIds = new Set<string>();
    cfg.keys.control.forEach((k, i) => {
      if (controlIds.has(k.id)) ctx.addIssue({ code: 'custom', message: `duplicate key id "${k.id}"`, path: ['keys', 'control', i, 'id'] });
      controlIds.add(k.id);
    });
    if (cfg.mqtt && cfg.keys.control.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'mqtt needs at least one control key to verify the cloud\'s deltas and commands', path: ['keys', 'control'] });
    }
    if (cfg.mqtt && cfg.mqtt.reconnectMaxMs < cfg.mqtt.reconnectMinMs) {
      ctx.addIssue({ code: 'custom', message: 'reconnectMaxMs must be at least reconnectMinMs', path: ['mqtt', 'reconnectMaxMs'] });
    }
    if (cfg.lane) checkLaneAgainstDevices(cfg.lane, cfg, ctx);
  });
export type GateConfig = z.infer<typeof GateConfigSchema>;

/** A lane device must not share a serial port or GPIO line with an input or the relay. */
function checkLaneAgainstDevices(
  lane: LaneConfig,
  cfg: { inputs: z.infer<typeof InputSchema>[]; relay: z.infer<typeof RelaySchema> },
  ctx: z.RefinementCtx,
): void {
  const ports = new Map<string, string>();
  cfg.inputs.forEach((input, i) => {
    if (input.type === 'qr-serial' || input.type === 'idcard-ga467') ports.set(input.path, `inputs.${i}`);
  });
  if (cfg.relay.type === 'lcus') ports.set(cfg.relay.path, 'relay');
  for (const key of ['sensor', 'display'] as const) {
    const dev = lane[key];
    if (dev?.type !== 'serial') continue;
    const owner = ports.get(dev.path);
    if (owner) ctx.addIssue({ code: 'custom', message: `${dev.path} is also used by ${owner}; each device needs its own port`, path: ['lane', key, 'path'] });
  }
  const s = lane.sensor;
  if (s?.type === 'gpio' && cfg.relay.type === 'gpio') {
    for (const pin of ['passagePin', 'emergencyPin'] as const) {
      if (s[pin] === cfg.relay.pin) ctx.addIssue({ code: 'custom', message: `GPIO line ${cfg.relay.pin} is the relay's pin`, path: ['lane', 'sensor', pin] });
    }
  }
}

/** Validate an already-parsed object. Returns every issue, not just the first. */
export function validateGateConfig(raw: unknown): { ok: true; config: GateConfig } | { ok: false; issues: ConfigIssue[] } {
  const result = GateConfigSchema.safeParse(raw);
  return result.success ? { ok: true, config: result.data } : { ok: false, issues: schemaIssues(result.error) };
}

/**
 * Read, parse and validate a gate.yaml. Relative paths inside it resolve against the
 * file's folder, so a config works wherever the daemon is started from.
 * Throws StileError(CONFIG_UNREADABLE | CONFIG_INVALID) whose message names the file and every field.
 */
export function loadGateConfig(file: string): GateConfig {
  const { config, issues } = loadYamlConfig(file, GateConfigSchema);
  return resolveConfigPaths(config, (p) => issues.resolve(p, ['-']));
}

function resolveConfigPaths(cfg: GateConfig, abs: (p: string) => string): GateConfig {
  return {
    ...cfg,
    store: { path: abs(cfg.store.path) },
    keys: { ...cfg.keys, idHash: cfg.keys.idHash.file ? { file: abs(cfg.keys.idHash.file) } : cfg.keys.idHash },
    inputs: cfg.inputs.map((i) => ('path' in i ? { ...i, path: abs(i.path) } : i)),
    relay: 'path' in cfg.relay ? { ...cfg.relay, path: abs(cfg.relay.path) } : cfg.relay,
    ...(cfg.lane ? { lane: resolveLanePaths(cfg.lane, abs) } : {}),
    ...(cfg.mqtt ? { mqtt: resolveMqttPaths(cfg.mqtt, abs) } : {}),
    ...(cfg.metrics?.tokenFile ? { metrics: { ...cfg.metrics, tokenFile: abs(cfg.metrics.tokenFile) } } : {}),
  };
}

function resolveMqttPaths(m: MqttConfig, abs: (p: string) => string): MqttConfig {
  const out: MqttConfig = { ...m };
  for (const k of ['passwordFile', 'caFile', 'certFile', 'keyFile'] as const) {
    const v = m[k];
    if (v !== undefined) out[k] = abs(v);
  }
  return out;
}

function resolveLanePaths(lane: LaneConfig, abs: (p: string) => string): LaneConfig {
  return {
    ...lane,
    ...(lane.sensor?.type === 'serial' ? { sensor: { ...lane.sensor, path: abs(lane.sensor.path) } } : {}),
    ...(lane.display?.type === 'serial' ? { display: { ...lane.display, path: abs(lane.display.path) } } : {}),
  };
}
