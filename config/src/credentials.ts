/**
 * Device identities in the cloud's registry. One name is used as the MQTT username (the
 * broker's ACL keys on it) and as the HTTP Basic user for the gate-facing routes, with the
 * device's token as the password. Site and device ids never contain a dot, so the name
 * splits back unambiguously; Mosquitto's password file forbids ':' in names, hence dots.
 * An `announcer` (the PA, docs/provisioning.md) reads what a screen reads; older PAs use a screen credential.
 */
export const DEVICE_KINDS = ['gate', 'screen', 'kiosk', 'announcer'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export interface DeviceIdentity {
  kind: DeviceKind;
  site: string;
  id: string;
}

const PART = /^[A-Za-z0-9_-]{1,64}$/;

export function deviceUsername(d: DeviceIdentity): string {
  return `${d.kind}.${d.site}.${d.id}`;
}

/**
 * The MQTT client id a device uses by default: `stile-<site>-<gate>` for gates (kept from the
 * first release: a gate's persistent session is keyed by it), `stile-<kind>-<site>-<id>` for the
 * rest. Site and device ids may hold dashes, so two identities can share one (site `park-east`
 * gate `1` and site `park` gate `east-1`); the registry refuses to issue the second of such a
 * pair, because whoever holds the id can resume the other's persistent session.
 */
export function defaultClientId(d: DeviceIdentity): string {
  return d.kind === 'gate' ? `stile-${d.site}-${d.id}` : `stile-${d.kind}-${d.site}-${d.id}`;
}

export function gateUsername(site: string, gate: string): string {
  return deviceUsername({ kind: 'gate', site, id: gate });
}

export function kioskUsername(site: string, kiosk: string): string {
  return deviceUsername({ kind: 'kiosk', site, id: kiosk });
}

export function parseDeviceUsername(name: string): DeviceIdentity | null {
  const parts = name.split('.');
  if (parts.length !== 3) return null;
  const [kind, site, id] = parts as [string, string, string];
  if (!(DEVICE_KINDS as readonly string[]).includes(kind) || !PART.test(site) || !PART.test(id)) return null;
  return { kind: kind as DeviceKind, site, id };
}

/** `Authorization: Basic …` for a device's HTTP requests to the cloud. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** The user and password of a Basic header, or null. */
export function parseBasicAuthorization(header: string | undefined | null): { username: string; password: string } | null {
  if (!header || !/^basic /i.test(header)) return null;
  let text: string;
  try {
    text = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  } catch {
    return null;
  }
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
