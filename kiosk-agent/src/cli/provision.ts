/**
 * `kioskctl provision <bundle>`: kiosk.yaml, the broker token, the channel API key(s), the
 * site's ID hash key and the kiosk's own ST2 key pair (made here, the private half never
 * leaves the kiosk) from the bundle `stile-cloud kiosks add` printed; then the broker login and
 * the channel API are checked. docs/provisioning.md.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { connectAsync, type IClientOptions } from 'mqtt';
import { Document, isMap, type Pair } from 'yaml';
import {
  checkBroker, checkChannelApi, existingConfigProblem, formatZodIssues, generateSigningKeyPair, localClock, openBundleFor, outcomeJson, outcomeLines,
  readBundleText, readExistingConfig, StileError, StileErrorCode, writeProvisionFiles, type CheckLine, type ExistingConfig, type InstallFile,
  type MqttConnect, type ProvisionBundle,
} from '@stile/config';
import { CliError } from '@stile/gate-agent';
import { KioskConfigSchema } from '../config.js';
import type { Ctx } from './commands.js';

const DEFAULT_CONFIG = '/etc/stile/kiosk.yaml';
const PHONE = /^1\d{10}$/;

export function provisionConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.STILE_KIOSK_CONFIG ?? DEFAULT_CONFIG);
}

const HEADER = (b: ProvisionBundle, at: Date) =>
  ` kiosk.yaml of kiosk ${b.device.id} at ${b.site.id}, written by kioskctl provision on ${at.toISOString()}.\n` +
  ' Edit devices (printer, cash, scanners) and sale.methods for this machine, then restart stile-kiosk.\n' +
  ' Reference: docs/kiosk.md';

const DEVICES_COMMENT =
  ' The machine\'s devices: the ticket printer (usblp /dev/usb/lp0 or a serial one), the ccTalk bill\n' +
  ' validator and hopper (cash), a payment-code scanner and an ID-card reader (docs/kiosk.md).';

/** The ST2 key pair: an existing private key is kept (its public half is what cloud.yaml lists); otherwise a new one. */
function offlineKey(path: string, keyId: string): { publicKey: string; pem: string | null } {
  if (existsSync(path)) {
    const pem = readFileSync(path, 'utf8');
    try {
      return { publicKey: createPublicKey(pem).export({ format: 'jwk' }).x as string, pem: null };
    } catch (err) {
      throw new StileError(StileErrorCode.KeyInvalid, `${path}: the kiosk's offline key there cannot be read (${(err as Error).message}); move it aside and run again; nothing was changed`);
    }
  }
  const pair = generateSigningKeyPair(keyId);
  return { publicKey: pair.publicKey, pem: pair.privateKeyPem };
}

function methodsFor(payment: 'partner' | 'provider', cash: boolean): string[] {
  if (payment === 'partner') return ['cash'];
  return cash ? ['cash', 'qr'] : ['qr'];
}

export interface KioskProvisionPlan {
  files: InstallFile[];
  notes: string[];
}

/** Files and notes for a kiosk bundle (reads only the existing offline key). */
export function planKioskFiles(b: ProvisionBundle, configPath: string, existing: ExistingConfig | null, opts: { contactPhone?: string; at: Date }): KioskProvisionPlan {
  const k = b.kiosk!;
  const dir = dirname(configPath);
  const data = dir === '/etc/stile' ? '/var/lib/stile' : dir;
  const old = existing?.doc ?? null;
  const oldPath = (v: unknown) => (typeof v === 'string' && v !== '' ? (isAbsolute(v) ? v : join(dir, v)) : undefined);
  const paths = {
    pw: join(dir, 'kiosk-mqtt.pw'),
    apiKey: join(dir, 'kiosk.key'),
    cashKey: join(dir, 'kiosk-cash.key'),
    idHash: join(dir, 'idhash.key'),
    ca: join(dir, 'ca.pem'),
    offline: oldPath(old?.getIn(['sync', 'offlineKey', 'file'])) ?? join(dir, 'kiosk-offline.pem'),
  };
  const phone = opts.contactPhone ?? (old?.getIn(['cloud', 'contactPhone']) as string | undefined);
  if (phone === undefined) throw new CliError('kiosk.yaml needs the park office\'s phone number (orders placed by the kiosk carry it): give --contact-phone 1xxxxxxxxxx; nothing was changed', 2);
  if (!PHONE.test(String(phone))) throw new CliError(`--contact-phone ${phone}: an 11-digit mainland mobile number (the park office's)`, 2);
  const key = offlineKey(paths.offline, k.offlineKeyId);
  const files: InstallFile[] = [
    { path: paths.pw, content: `${b.broker.token}\n` },
    { path: paths.apiKey, content: `${k.apiKey}\n` },
    ...(k.cashApiKey ? [{ path: paths.cashKey, content: `${k.cashApiKey}\n` }] : []),
    { path: paths.idHash, content: `${b.keys.idHash!}\n` },
    ...(b.broker.caPem ? [{ path: paths.ca, content: b.broker.caPem.endsWith('\n') ? b.broker.caPem : `${b.broker.caPem}\n` }] : []),
    ...(key.pem ? [{ path: paths.offline, content: key.pem }] : []),
  ];
  const cloud = { url: b.cloudUrl!, apiKeyFile: paths.apiKey, payment: k.payment, ...(k.cashApiKey ? { cashApiKeyFile: paths.cashKey } : {}), contactPhone: String(phone) };
  const sync = {
    url: b.broker.url,
    protocolVersion: b.broker.protocolVersion,
    username: b.broker.username,
    passwordFile: paths.pw,
    ...(b.broker.caPem ? { caFile: paths.ca } : {}),
    offlineKey: { id: k.offlineKeyId, file: paths.offline },
    control: b.keys.control,
    idHashKeyFile: paths.idHash,
  };
  const notes: string[] = [];
  let doc: Document;
  if (old) {
    doc = old.clone();
    if (existing!.siteId !== b.site.id) doc.set('site', doc.createNode({ id: b.site.id, timezone: b.site.timezone }));
    else doc.setIn(['site', 'timezone'], b.site.timezone);
    doc.setIn(['kiosk', 'id'], b.device.id);
    for (const [f, v] of Object.entries(cloud)) doc.setIn(['cloud', f], v);
    if (!k.cashApiKey) doc.deleteIn(['cloud', 'cashApiKeyFile']);
    if (!isMap(doc.get('sync', true))) doc.set('sync', doc.createNode({ outbox: join(data, 'kiosk-outbox.db') }));
    for (const [f, v] of Object.entries(sync)) doc.setIn(['sync', f], doc.createNode(v));
    if (!b.broker.caPem) doc.deleteIn(['sync', 'caFile']);
    notes.push(`kept devices, sale and the other settings of ${configPath}; next: systemctl restart stile-kiosk`);
  } else {
    doc = new Document({
      version: 1,
      site: { id: b.site.id, timezone: b.site.timezone },
      kiosk: { id: b.device.id, mode: 'kiosk' },
      cloud,
      devices: {
        ...(methodsFor(k.payment, k.cashApiKey !== undefined).includes('cash') ? { cash: { path: '/dev/ttyUSB0' } } : {}),
        printer: { transport: 'usblp', path: '/dev/usb/lp0' },
      },
      journal: { path: join(data, 'kiosk-journal.db') },
      sale: { methods: methodsFor(k.payment, k.cashApiKey !== undefined) },
      sync: { ...sync, outbox: join(data, 'kiosk-outbox.db') },
      metrics: {},
      log: { level: 'info' },
    });
    doc.commentBefore = HEADER(b, opts.at);
    if (isMap(doc.contents)) for (const p of doc.contents.items as Pair<{ value: unknown; commentBefore?: string }>[]) if (p.key.value === 'devices') p.key.commentBefore = DEVICES_COMMENT;
    notes.push(`next: set the printer, cash devices and sale.methods in ${configPath} for this machine, then systemctl restart stile-kiosk`);
  }
  const checked = KioskConfigSchema.safeParse(doc.toJS());
  if (!checked.success) throw new StileError(StileErrorCode.ConfigInvalid, `the kiosk.yaml this bundle makes would not be valid (${formatZodIssues(checked.error.issues, { limit: 3 })}); nothing was changed`);
  files.push({ path: configPath, content: doc.toString({ lineWidth: 0 }) });
  notes.push(
    `offline cash sales: the cloud must know this kiosk's ST2 key. In cloud.yaml, sites (${b.site.id}), kiosks: ` +
      `- { id: ${b.device.id}, channel: ${k.channel}, offlineCap: <persons a day>, offlineKey: { id: ${k.offlineKeyId}, publicKey: ${key.publicKey} } }` +
      ` (restart stile-cloud); the gates trust it after their next bundle (stile-cloud gates rotate, then gatectl provision --force)`,
  );
  return { files, notes };
}

const connect: MqttConnect = (url, options) => connectAsync(url, options as IClientOptions);

export async function provision(ctx: Ctx): Promise<void> {
  if (ctx.args.length > 1) throw new CliError('usage: kioskctl provision [<bundle> | -] [--config /etc/stile/kiosk.yaml] [--contact-phone N] [--force] [--no-check]', 2);
  const configPath = provisionConfigPath(typeof ctx.flags.config === 'string' ? ctx.flags.config : undefined);
  const at = new Date();
  const bundle = openBundleFor(await readBundleText(ctx.args[0]), 'kiosk', at);
  const existing = readExistingConfig(configPath, 'kiosk');
  const refused = existingConfigProblem(existing, bundle, { force: ctx.flags.force === true, now: at });
  if (refused) throw new CliError(refused, 1, 'ALREADY_PROVISIONED');
  const phone = typeof ctx.flags['contact-phone'] === 'string' ? ctx.flags['contact-phone'] : undefined;
  const plan = planKioskFiles(bundle, configPath, existing, { ...(phone ? { contactPhone: phone } : {}), at });
  const installed = writeProvisionFiles(plan.files, 'kioskctl', at);
  const checks: CheckLine[] = [];
  if (ctx.flags['no-check'] !== true) {
    checks.push(await checkBroker(bundle, connect, `stile-kiosk-${bundle.site.id}-${bundle.device.id}.provision`, bundle.broker.caPem));
    checks.push(await checkChannelApi(bundle, bundle.kiosk!.apiKey, localClock(bundle.site.timezone, at.getTime()).date));
  }
  const outcome = { bundle, install: installed, notes: plan.notes, checks };
  ctx.out.result(outcomeJson(outcome), () => outcomeLines(outcome));
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}
