import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { connectAsync, type IClientOptions } from 'mqtt';
import { Document, isMap, type Pair } from 'yaml';
import {
  checkBroker, checkSnapshotHead, existingConfigProblem, formatZodIssues, openBundleFor, outcomeJson, outcomeLines, readBundleText, readExistingConfig,
  StileError, StileErrorCode, TicketTypeSchema, validateGateConfig, writeProvisionFiles, type CheckLine, type ExistingConfig, type InstallFile,
  type MqttConnect, type ProvisionBundle,
} from '@stile/config';
import type { Ctx } from './commands.js';
import { CliError } from './output.js';

/*
 * `gatectl provision <bundle>`: turn the bundle `stile-cloud gates add` printed into
 * /etc/stile/gate.yaml, mqtt.pw, idhash.key (and ca.pem), then check the broker login and the
 * cloud's snapshot head with the new credential. docs/provisioning.md.
 */

const DEFAULT_CONFIG = '/etc/stile/gate.yaml';

/** Where the files go: --config, $STILE_CONFIG, else /etc/stile/gate.yaml (not ./gate.yaml: provisioning writes the system's config). */
export function provisionConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.STILE_CONFIG ?? DEFAULT_CONFIG);
}

/** gate.db under /var/lib/stile for the system config, beside the config anywhere else (a test, a bench install). */
function defaultStorePath(dir: string, site: string, siteChanged: boolean): string {
  const base = dir === '/etc/stile' ? '/var/lib/stile' : dir;
  return join(base, siteChanged ? `gate-${site}.db` : 'gate.db');
}

const HEADER = (b: ProvisionBundle, at: Date) =>
  ` gate.yaml of gate ${b.device.id} at ${b.site.id}, written by gatectl provision on ${at.toISOString()}.\n` +
  " Edit inputs and relay (and add lane) for this lane's hardware: gatectl devices lists what is plugged in.\n" +
  ' Then: gatectl config validate && systemctl restart stile-gate. Reference: docs/gate-config.md';

const INPUTS_COMMENT =
  ' The scanners and readers of this lane. A serial QR scanner as below (prefer its /dev/serial/by-id/… name),\n' +
  ' a USB HID one ({ type: qr-hid, vendorId: "0c2e", productId: "0b61" }), an ID-card reader\n' +
  ' ({ type: idcard-ga467, path: /dev/serial/by-id/… }). See docs/gate-config.md and docs/scanners.md.';

const RELAY_COMMENT =
  ' The turnstile: "log" only writes each pulse to the log. Replace it with the relay board,\n' +
  ' { type: lcus, path: /dev/serial/by-id/usb-…, channel: 1 } or { type: gpio, pin: 17 }; test with gatectl test-relay.';

/** What the bundle decides in gate.yaml; everything else of an old config is kept. */
function provisionedParts(b: ProvisionBundle, paths: { pw: string; idHash: string; ca: string | null }): Record<string, unknown> {
  return {
    site: { id: b.site.id, ...(b.site.name ? { name: b.site.name } : {}), timezone: b.site.timezone },
    gate: { id: b.device.id, zone: b.device.zone ?? 'main' },
    keys: {
      idHash: { file: paths.idHash },
      control: b.keys.control,
      offline: b.keys.offline ?? [],
    },
    mqtt: {
      url: b.broker.url,
      username: b.broker.username,
      passwordFile: paths.pw,
      ...(paths.ca ? { caFile: paths.ca } : {}),
      protocolVersion: b.broker.protocolVersion,
      snapshotUrl: b.cloudUrl,
    },
  };
}

function freshConfig(b: ProvisionBundle, parts: Record<string, unknown>, store: string, types: unknown[] | undefined, at: Date): Document {
  const doc = new Document({
    version: 1,
    site: parts.site,
    gate: parts.gate,
    store: { path: store },
    keys: parts.keys,
    ...(types ? { ticketTypes: types } : {}),
    inputs: [{ type: 'qr-serial', name: 'scanner', path: '/dev/ttyACM0' }],
    relay: { type: 'log' },
    mqtt: parts.mqtt,
    // Provisioned gates are production gates: Prometheus on loopback (docs/metrics.md).
    metrics: {},
    log: { level: 'info' },
  });
  doc.commentBefore = HEADER(b, at);
  if (isMap(doc.contents)) {
    for (const p of doc.contents.items as Pair<{ value: unknown; commentBefore?: string }>[]) {
      if (p.key.value === 'inputs') p.key.commentBefore = INPUTS_COMMENT;
      if (p.key.value === 'relay') p.key.commentBefore = RELAY_COMMENT;
    }
  }
  return doc;
}

/** The old config with the bundle's parts put in: inputs, relay, lane, store, log, metrics and MQTT tuning stay. */
function mergedConfig(old: Document, parts: Record<string, unknown>, types: unknown[] | undefined, store: string | null): Document {
  const doc = old.clone();
  for (const k of ['site', 'gate'] as const) doc.set(k, doc.createNode(parts[k]));
  const keys = parts.keys as Record<string, unknown>;
  for (const k of ['idHash', 'control', 'offline']) doc.setIn(['keys', k], doc.createNode(keys[k]));
  const mqtt = parts.mqtt as Record<string, unknown>;
  if (!isMap(doc.get('mqtt', true))) doc.set('mqtt', doc.createNode({}));
  for (const k of ['url', 'username', 'passwordFile', 'caFile', 'protocolVersion', 'snapshotUrl']) {
    if (mqtt[k] === undefined) doc.deleteIn(['mqtt', k]);
    else doc.setIn(['mqtt', k], mqtt[k]);
  }
  // The default client id follows the gate; one written for another gate would be refused by the broker.
  doc.deleteIn(['mqtt', 'clientId']);
  if (types) doc.set('ticketTypes', doc.createNode(types));
  if (store) doc.setIn(['store', 'path'], store);
  return doc;
}

/** The bundle's ticket types as this gate version validates them (the cloud may be newer). */
function bundleTypes(b: ProvisionBundle): unknown[] | undefined {
  if (!b.ticketTypes) return undefined;
  const parsed = TicketTypeSchema.array().min(1).safeParse(b.ticketTypes);
  if (!parsed.success) throw new StileError(StileErrorCode.UsageError, `the bundle's ticket types are not valid for this gate's software (${formatZodIssues(parsed.error.issues, { limit: 1 })}): update the gate software; nothing was changed`);
  return b.ticketTypes;
}

const connect: MqttConnect = (url, options) => connectAsync(url, options as IClientOptions);

export interface GateProvisionPlan {
  files: InstallFile[];
  notes: string[];
  /** True when gate.yaml still lacks something only a person can add (ticket types of a site without a catalogue). */
  incomplete: boolean;
}

/** Files and notes for a gate bundle (pure over the bundle and the old config; reads only whether key files exist). */
export function planGateFiles(b: ProvisionBundle, configPath: string, existing: ExistingConfig | null, at: Date): GateProvisionPlan {
  const dir = dirname(configPath);
  const paths = { pw: join(dir, 'mqtt.pw'), idHash: join(dir, 'idhash.key'), ca: b.broker.caPem ? join(dir, 'ca.pem') : null };
  const notes: string[] = [];
  const files: InstallFile[] = [{ path: paths.pw, content: `${b.broker.token}\n` }];
  const siteChanged = existing?.siteId != null && existing.siteId !== b.site.id;
  if (b.keys.idHash) files.push({ path: paths.idHash, content: `${b.keys.idHash}\n` });
  else if (siteChanged || !existsSync(paths.idHash)) {
    files.push({ path: paths.idHash, content: `${randomBytes(32).toString('hex')}\n` });
    notes.push(`note: the site has no ID hash key in the cloud's config: ${paths.idHash} holds a random one, so ID cards match no ticket until the site's key is put there`);
  }
  if (b.broker.caPem && paths.ca) files.push({ path: paths.ca, content: b.broker.caPem.endsWith('\n') ? b.broker.caPem : `${b.broker.caPem}\n` });
  const types = bundleTypes(b);
  const parts = provisionedParts(b, paths);
  const oldDoc = existing?.doc ?? null;
  const oldStore = oldDoc?.getIn(['store', 'path']);
  const hasOldTypes = oldDoc !== null && Array.isArray((oldDoc.toJS() as { ticketTypes?: unknown }).ticketTypes);
  let doc: Document;
  if (oldDoc) {
    const store = siteChanged || typeof oldStore !== 'string' ? defaultStorePath(dir, b.site.id, siteChanged) : null;
    doc = mergedConfig(oldDoc, parts, types, store);
    if (siteChanged && !types) doc.delete('ticketTypes'); // another site's rules must not stay
    if (siteChanged && typeof oldStore === 'string') notes.push(`note: the gate database of site ${existing!.siteId} (${oldStore}) is left as it was; this site's is ${store}`);
    notes.push(`kept inputs, relay, lane and the other settings of ${configPath}; next: gatectl config validate && systemctl restart stile-gate`);
  } else {
    doc = freshConfig(b, parts, defaultStorePath(dir, b.site.id, false), types, at);
    notes.push(`next: edit inputs and relay in ${configPath} for this lane (gatectl devices lists what is plugged in), then gatectl config validate && systemctl restart stile-gate`);
  }
  const raw = doc.toJS() as Record<string, unknown>;
  const missingTypes = !types && !(hasOldTypes && !siteChanged);
  // Checked before anything is written: everything but ticket types must already be valid.
  const check = validateGateConfig(missingTypes ? { ...raw, ticketTypes: [{ id: 'placeholder' }] } : raw);
  if (!check.ok) {
    const lines = check.issues.filter((i) => !i.path.startsWith('ticketTypes')).map((i) => `${i.path}: ${i.message}`);
    if (lines.length > 0) throw new StileError(StileErrorCode.ConfigInvalid, `the gate.yaml this bundle makes would not be valid; nothing was changed:\n${lines.join('\n')}`);
  }
  if (missingTypes) notes.push(`${configPath} has no ticketTypes: the site has no catalogue in the cloud, so write them by hand (docs/gate-config.md), then gatectl config validate`);
  files.push({ path: configPath, content: doc.toString({ lineWidth: 0 }) });
  return { files, notes, incomplete: missingTypes };
}

export async function provision(ctx: Ctx): Promise<void> {
  if (ctx.args.length > 1) throw new CliError('usage: gatectl provision [<bundle> | -] [--config /etc/stile/gate.yaml] [--force] [--no-check]', 2);
  const configPath = provisionConfigPath(typeof ctx.flags.config === 'string' ? ctx.flags.config : undefined);
  const at = new Date();
  const bundle = openBundleFor(await readBundleText(ctx.args[0]), 'gate', at);
  const existing = readExistingConfig(configPath, 'gate');
  const refused = existingConfigProblem(existing, bundle, { force: ctx.flags.force === true, now: at });
  if (refused) throw new CliError(refused, 1, 'ALREADY_PROVISIONED');
  const plan = planGateFiles(bundle, configPath, existing, at);
  const installed = writeProvisionFiles(plan.files, 'gatectl', at);
  const checks: CheckLine[] = [];
  if (ctx.flags['no-check'] !== true) {
    checks.push(await checkBroker(bundle, connect, `stile-${bundle.site.id}-${bundle.device.id}.provision`, bundle.broker.caPem));
    checks.push(await checkSnapshotHead(bundle));
  }
  const outcome = { bundle, install: installed, notes: plan.notes, checks };
  ctx.out.result(outcomeJson(outcome), () => outcomeLines(outcome));
  if (plan.incomplete || checks.some((c) => !c.ok)) process.exitCode = 1;
}
