import { createPublicKey } from 'node:crypto';
import {
  DEFAULT_BUNDLE_VALID_HOURS,
  deviceUsername,
  loadSigningKey,
  plainHttpProblem,
  ProvisionContentsSchema,
  formatZodIssues,
  type DeviceKind,
  type ProvisionContents,
  type ProvisionRole,
  type PublicKeyConfig,
  type SigningKey,
} from '@stile/config';
import { gateTicketTypes, sha256Hex } from './core/catalogue.js';
import type { SiteConfig } from './core/sites.js';
import type { LoadedCloudConfig } from './config.js';

/*
 * What goes into a device's provisioning bundle, from cloud.yaml (pure: the command in
 * bin/provision-command.ts reads the files, issues the credential, signs and prints). Every
 * check that can refuse runs before the registry is touched, so a refused `add` or `rotate`
 * never leaves a device with a new token and no bundle.
 */

export interface BundleRequest {
  role: ProvisionRole;
  site: string;
  device: string;
  /** Gates: the zone (default main). */
  zone?: string;
  validHours?: number;
  /** Kiosks: the kiosk channel's API key (and a cash channel's), read from the files named on the command line. */
  apiKey?: string;
  cashApiKey?: string;
  now: Date;
}

/** The contents without the token (it is issued after every check passed), plus notes for the operator. */
export interface BundlePlan {
  contents: Omit<ProvisionContents, 'broker'> & { broker: Omit<ProvisionContents['broker'], 'token'> };
  signingKey: SigningKey;
  notes: string[];
}

export type PlanResult = { ok: true; plan: BundlePlan } | { ok: false; message: string };

/** Ids each role's own config accepts (gate.yaml and announcer.yaml want lowercase slugs; kiosk.yaml also allows _). */
const SLUG: Record<ProvisionRole, RegExp> = {
  gate: /^[a-z0-9][a-z0-9-]{0,62}$/,
  kiosk: /^[a-z0-9][a-z0-9_-]{0,62}$/,
  announcer: /^[a-z0-9][a-z0-9-]{0,62}$/,
};
const DEVICE_ID: Record<ProvisionRole, RegExp> = { gate: SLUG.gate, kiosk: SLUG.kiosk, announcer: /^[A-Za-z0-9_-]{1,64}$/ };

export const ROLE_KIND: Record<ProvisionRole, DeviceKind> = { gate: 'gate', kiosk: 'kiosk', announcer: 'announcer' };

function publicKeyOf(key: SigningKey): string {
  return createPublicKey(key.privateKey).export({ format: 'jwk' }).x as string;
}

/** The kiosk's ST2 key id: the one cloud.yaml names for it, else `<kiosk>-st2` (key ids are at most 16 characters). */
export function kioskOfflineKeyId(site: SiteConfig, kiosk: string): string {
  const listed = site.kiosks?.find((k) => k.id === kiosk)?.offlineKey.id;
  if (listed) return listed;
  const id = `${kiosk}-st2`;
  return id.length <= 16 ? id : `st2-${sha256Hex(kiosk).slice(0, 12)}`;
}

/** Offline ST2 keys a gate trusts: the site's and its kiosks', each id once. */
function offlineKeys(site: SiteConfig): PublicKeyConfig[] {
  const out = new Map<string, PublicKeyConfig>();
  for (const k of [...(site.offlineKeys ?? []), ...(site.kiosks ?? []).map((k) => k.offlineKey)]) if (!out.has(k.id)) out.set(k.id, k);
  return [...out.values()];
}

function httpUrlFor(role: ProvisionRole, devices: LoadedCloudConfig['devices']): { url?: string; field: string } {
  if (role === 'gate') return devices.gateHttpUrl ? { url: devices.gateHttpUrl, field: 'http.gatePublicUrl' } : { ...(devices.httpUrl ? { url: devices.httpUrl } : {}), field: 'http.publicUrl' };
  return { ...(devices.httpUrl ? { url: devices.httpUrl } : {}), field: 'http.publicUrl' };
}

/** Everything a bundle for `req` needs, or the one line saying what is missing in cloud.yaml or on the command line. */
export function planBundle(loaded: LoadedCloudConfig, configFile: string, req: BundleRequest): PlanResult {
  const no = (message: string): PlanResult => ({ ok: false, message });
  const site = loaded.options.sites.find((s) => s.id === req.site);
  if (!site) return no(`unknown site "${req.site}" (not in ${configFile})`);
  if (!SLUG[req.role].test(req.site)) return no(`site id "${req.site}" cannot be used in ${req.role === 'kiosk' ? 'kiosk' : req.role}.yaml (lowercase letters, digits and dashes): rename the site`);
  if (!DEVICE_ID[req.role].test(req.device)) return no(`${req.role} id "${req.device}": ${req.role === 'announcer' ? '1–64 letters, digits, _ and -' : `lowercase letters, digits${req.role === 'kiosk' ? ', _' : ''} and dashes, at most 63`}`);
  const hours = req.validHours ?? DEFAULT_BUNDLE_VALID_HOURS;
  if (!Number.isInteger(hours) || hours < 1 || hours > 720) return no(`--valid-hours ${req.validHours}: a whole number of hours from 1 to 720`);
  const d = loaded.devices;
  if (!d.mqttUrl) return no(`${configFile}: mqtt.publicUrl is not set: devices need the broker address they dial (e.g. mqtts://mqtt.park.example:8883); add it and run again (docs/provisioning.md)`);
  const http = httpUrlFor(req.role, d);
  if (req.role !== 'announcer') {
    if (!http.url) return no(`${configFile}: ${http.field} is not set: a ${req.role} needs the cloud's address (e.g. https://cloud.park.example); add it and run again (docs/provisioning.md)`);
    const problem = plainHttpProblem(http.url, false);
    if (problem) return no(`${configFile}: ${http.field}: ${problem}`);
  }
  const signingKey = loadSigningKey(site.controlKey.id, site.controlKey.privateKeyPem);
  const catalogue = site.sales?.catalogue;
  const notes: string[] = [];
  const kind = ROLE_KIND[req.role];
  const contents: BundlePlan['contents'] = {
    v: 1,
    role: req.role,
    site: { id: site.id, ...(catalogue?.name ? { name: catalogue.name['zh-CN'] || catalogue.name.en } : {}), timezone: catalogue?.timeZone ?? 'Asia/Shanghai' },
    device: { id: req.device, ...(req.role === 'gate' ? { zone: req.zone ?? 'main' } : {}) },
    issuedAt: req.now.toISOString(),
    expiresAt: new Date(req.now.getTime() + hours * 3_600_000).toISOString(),
    broker: { url: d.mqttUrl, username: deviceUsername({ kind, site: site.id, id: req.device }), protocolVersion: loaded.options.mqttProtocol ?? 5, ...(d.caPem ? { caPem: d.caPem } : {}) },
    ...(req.role !== 'announcer' ? { cloudUrl: http.url! } : {}),
    keys: { control: [{ id: signingKey.keyId, publicKey: publicKeyOf(signingKey) }] },
  };
  if (req.role === 'gate') {
    const offline = offlineKeys(site);
    if (offline.length > 0) contents.keys.offline = offline;
    if (site.sales) contents.keys.idHash = site.sales.idHashKey;
    else notes.push(`site ${site.id} has no sales section in ${configFile}: the bundle carries no ID hash key (the gate makes a random one: ID cards then match no ticket) and no ticket types (write them into gate.yaml by hand)`);
    if (catalogue) contents.ticketTypes = gateTicketTypes(catalogue);
  }
  if (req.role === 'kiosk') {
    if (!site.sales || !catalogue) return no(`site ${site.id} has no sales section in ${configFile}: a kiosk sells through the channel API of a site with a catalogue`);
    if (!req.apiKey) return no('a kiosk bundle carries the kiosk channel\'s API key: give --api-key-file FILE (the key whose SHA-256 is the channel\'s apiKeySha256 in the catalogue)');
    const channelOf = (key: string) => catalogue.channels.find((c) => c.apiKeySha256 === sha256Hex(key));
    const channel = channelOf(req.apiKey);
    if (!channel) return no(`the key in --api-key-file is no channel's key in site ${site.id}'s catalogue (its SHA-256 matches no apiKeySha256)`);
    if (channel.kind !== 'kiosk') return no(`the key in --api-key-file is channel "${channel.id}"'s, a channel of kind ${channel.kind}: a kiosk needs a channel of kind kiosk`);
    let cash: typeof channel | undefined;
    if (req.cashApiKey) {
      cash = channelOf(req.cashApiKey);
      if (!cash || cash.kind !== 'kiosk' || cash.payment !== 'partner') return no('the key in --cash-api-key-file must be the key of a kiosk channel with payment: partner (cash)');
      if (channel.payment !== 'provider') return no(`--cash-api-key-file is for a kiosk whose main channel is paid through the providers; "${channel.id}" takes cash itself (payment: partner)`);
    }
    const listed = site.kiosks?.find((k) => k.id === req.device);
    if (listed && listed.channel !== channel.id) notes.push(`${configFile} lists kiosk ${req.device} on channel "${listed.channel}", but the key given is "${channel.id}"'s`);
    contents.keys.idHash = site.sales.idHashKey;
    contents.kiosk = {
      channel: channel.id,
      apiKey: req.apiKey,
      payment: channel.payment,
      ...(req.cashApiKey ? { cashApiKey: req.cashApiKey } : {}),
      offlineKeyId: kioskOfflineKeyId(site, req.device),
    };
    if (!listed) notes.push(`kiosk ${req.device} is not in ${configFile} sites[${site.id}].kiosks: it sells online now; for offline cash sales add it there with the public key kioskctl provision prints`);
  }
  // The same schema the device reads with: a plan that passes here makes a bundle the device accepts.
  const check = ProvisionContentsSchema.safeParse({ ...contents, broker: { ...contents.broker, token: 'x'.repeat(43) } });
  if (!check.success) return no(`cannot make a bundle: ${formatZodIssues(check.error.issues, { limit: 2 })}`);
  return { ok: true, plan: { contents, signingKey, notes } };
}
