import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Document, isMap, parseDocument } from 'yaml';
import { basicAuthorization } from './credentials.js';
import { StileError, StileErrorCode } from './errors.js';
import { backupSuffix, installFiles, stileOwner, type InstallFile, type InstallResult } from './provision-files.js';
import { openBundle, signerFingerprint, type ProvisionBundle, type ProvisionRole } from './provision-bundle.js';

/*
 * What `gatectl provision`, `kioskctl provision` and `stile-announcer provision` share: read
 * the bundle (argument or stdin), refuse it with one line when it is not for this machine,
 * find the config already there, write the files, check the connection. Each role brings its
 * own config file (built from the bundle and what it keeps of an old config).
 */

export type { Document as YamlDocument } from 'yaml';

/** A new YAML document for a role's config (for packages that do not depend on yaml themselves), with a header comment. */
export function yamlDocument(value: unknown, header?: string): Document {
  const doc = new Document(value);
  if (header) doc.commentBefore = header;
  return doc;
}

/** The config already on this machine, as far as provisioning cares. */
export interface ExistingConfig {
  path: string;
  text: string;
  /** The parsed document (comments kept), or null when it is not valid YAML. */
  doc: Document | null;
  siteId: string | null;
  deviceId: string | null;
}

/** The config at `path`, or null when there is none; `deviceKey` is the section naming the device (gate, kiosk, device). */
export function readExistingConfig(path: string, deviceKey: string): ExistingConfig | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StileError(StileErrorCode.ConfigUnreadable, `${path}: cannot read the config already there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing was changed`);
  }
  const parsed = parseDocument(text);
  const doc = parsed.errors.length === 0 && isMap(parsed.contents) ? parsed : null;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return { path, text, doc, siteId: str(doc?.getIn(['site', 'id'])), deviceId: str(doc?.getIn([deviceKey, 'id'])) };
}

/**
 * Why the bundle may not replace the config already there (null: it may). Without --force a
 * configured machine is never re-provisioned; the line names both sites when they differ.
 */
export function existingConfigProblem(existing: ExistingConfig | null, bundle: ProvisionBundle, opts: { force: boolean; now: Date }): string | null {
  if (!existing || opts.force) return null;
  const name = basename(existing.path);
  const keep = `use --force to re-provision, the old config is kept as ${name}.${backupSuffix(opts.now)}`;
  if (existing.siteId !== null && existing.siteId !== bundle.site.id) {
    return `this machine is configured for site ${existing.siteId}; the bundle is for ${bundle.site.id}: ${keep}`;
  }
  const what = existing.siteId === null ? 'an unreadable config' : `site ${existing.siteId}, ${bundle.role} ${existing.deviceId ?? '?'}`;
  return `this machine is already provisioned (${existing.path}: ${what}); the bundle is for ${bundle.role} ${bundle.device.id} at ${bundle.site.id}: ${keep}; nothing was changed`;
}

/** The bundle from the argument, or from stdin when it is "-" or absent (a secret is better kept out of the shell history). */
export async function readBundleText(arg: string | undefined, stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  if (arg !== undefined && arg !== '-') return arg;
  if ((stdin as { isTTY?: boolean }).isTTY) process.stderr.write('paste the bundle (one line starting STILE1-), then Enter and Ctrl-D:\n');
  let text = '';
  for await (const chunk of stdin) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

/** Open the bundle for `role`, or throw StileError(USAGE) with its one-line refusal. */
export function openBundleFor(text: string, role: ProvisionRole, now: Date): ProvisionBundle {
  const r = openBundle(text, { role, now });
  if (!r.ok) throw new StileError(StileErrorCode.UsageError, `bundle refused (${r.problem}): ${r.message}; nothing was changed`);
  return r.bundle;
}

/** One line about the bundle: who it is for, its window, the key that signed it (for the technician to compare). */
export function bundleSummary(b: ProvisionBundle): string {
  const s = signerFingerprint(b);
  return `bundle: ${b.role} ${b.device.id} at ${b.site.id}${b.site.name ? ` (${b.site.name})` : ''}, issued ${b.issuedAt}, expires ${b.expiresAt}; signed by control key ${s.keyId} (fingerprint ${s.fingerprint})`;
}

/* ---------------------------------------------------------------------------------------- */

export interface CheckLine {
  /** The doctor's check ids: broker, snapshot, cloud. */
  check: string;
  ok: boolean;
  detail: string;
}

export function formatCheck(c: CheckLine): string {
  return `check ${c.check}: ${c.ok ? 'pass' : 'FAIL'} — ${c.detail}`;
}

/** The smallest part of mqtt.js's connectAsync the broker check needs (so @stile/config does not depend on mqtt). */
export type MqttConnect = (url: string, options: Record<string, unknown>) => Promise<{ endAsync(force?: boolean): Promise<unknown> }>;

const CONNECT_TIMEOUT_MS = 10_000;

/** Why a connection failed, in words a technician acts on. */
export function brokerFailure(err: unknown, url: string, username: string): string {
  const e = err as { code?: string | number; message?: string };
  const code = e?.code;
  if (code === 5 || code === 4 || code === 134 || code === 135) return `${url} refused the login of ${username} (not authorized): the credential was revoked or rotated, or the broker does not know it yet (Mosquitto: add it to the password file and reload)`;
  if (code === 2 || code === 133) return `${url} refused the client id of ${username}`;
  if (code === 'ECONNREFUSED') return `nothing listens at ${url} (connection refused): is the broker running, and is the port right?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host of ${url} (${code}): check DNS and the network`;
  if (typeof code === 'string' && /CERT|SELF_SIGNED|TLS|SSL/.test(code)) return `TLS to ${url} failed (${code}): the bundle's CA does not match the broker's certificate, or the name in the URL is not the certificate's`;
  return `cannot connect to ${url}: ${e?.message ?? String(err)}`;
}

/**
 * Log in to the broker with the bundle's credential (a clean session under a client id of its
 * own beside the daemon's, so a running daemon's session is not taken over) and wait for the CONNACK.
 */
export async function checkBroker(b: ProvisionBundle, connect: MqttConnect, clientId: string, caPem?: string): Promise<CheckLine> {
  const url = b.broker.url;
  let timer: NodeJS.Timeout | undefined;
  try {
    const client = await Promise.race([
      connect(url, {
        clientId,
        username: b.broker.username,
        password: b.broker.token,
        protocolVersion: b.broker.protocolVersion,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: CONNECT_TIMEOUT_MS,
        ...(caPem ? { ca: Buffer.from(caPem) } : {}),
      }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS + 1000))),
    ]);
    await client.endAsync(true).catch(() => undefined);
    return { check: 'broker', ok: true, detail: `${url} accepted ${b.broker.username}` };
  } catch (err) {
    return { check: 'broker', ok: false, detail: brokerFailure(err, url, b.broker.username) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A gate's credential against the cloud: the whitelist snapshot's head (its `x-stile-as-of-seq`
 * header; the body is not read). 404 means the credential passed and the site has no whitelist yet.
 */
export async function checkSnapshotHead(b: ProvisionBundle): Promise<CheckLine> {
  const url = `${b.cloudUrl!.replace(/\/+$/, '')}/v1/sites/${encodeURIComponent(b.site.id)}/whitelist/snapshot`;
  try {
    const res = await fetch(url, { headers: { authorization: basicAuthorization(b.broker.username, b.broker.token) }, redirect: 'error', signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) });
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 200) return { check: 'snapshot', ok: true, detail: `${b.cloudUrl} accepted ${b.broker.username}; whitelist head seq ${res.headers.get('x-stile-as-of-seq') ?? '?'}` };
    if (res.status === 404) return { check: 'snapshot', ok: true, detail: `${b.cloudUrl} accepted ${b.broker.username}; the site has no whitelist yet` };
    if (res.status === 401 || res.status === 403) return { check: 'snapshot', ok: false, detail: `${b.cloudUrl} refused ${b.broker.username} (HTTP ${res.status}): revoked or rotated; make a new bundle` };
    return { check: 'snapshot', ok: false, detail: `${url}: HTTP ${res.status}` };
  } catch (err) {
    return { check: 'snapshot', ok: false, detail: `cannot reach ${b.cloudUrl}: ${(err as Error).message}` };
  }
}

/** A kiosk's channel API key against the cloud: today's availability. */
export async function checkChannelApi(b: ProvisionBundle, apiKey: string, today: string): Promise<CheckLine> {
  const url = `${b.cloudUrl!.replace(/\/+$/, '')}/v1/channel/availability?date=${today}`;
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` }, redirect: 'error', signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) });
    await res.body?.cancel().catch(() => undefined);
    if (res.ok) return { check: 'cloud', ok: true, detail: `${b.cloudUrl} accepted the kiosk channel's API key` };
    if (res.status === 401 || res.status === 403) return { check: 'cloud', ok: false, detail: `${b.cloudUrl} refused the kiosk channel's API key (HTTP ${res.status})` };
    return { check: 'cloud', ok: false, detail: `${url}: HTTP ${res.status}` };
  } catch (err) {
    return { check: 'cloud', ok: false, detail: `cannot reach ${b.cloudUrl}: ${(err as Error).message}` };
  }
}

/* ---------------------------------------------------------------------------------------- */

export interface ProvisionOutcome {
  bundle: ProvisionBundle;
  install: InstallResult;
  /** What the technician does next, and anything worth knowing (one line each). */
  notes: string[];
  checks: CheckLine[];
}

/** Write the files; the result lines for the terminal and for --json. */
export function writeProvisionFiles(files: InstallFile[], tool: string, now: Date): InstallResult {
  return installFiles(files, { owner: stileOwner(), now, tool });
}

export function outcomeLines(o: ProvisionOutcome): string[] {
  const owner = stileOwner();
  const modes = owner ? '0640 root:stile' : '0600';
  const lines = [bundleSummary(o.bundle)];
  if (o.install.written.length > 0) lines.push(`wrote ${o.install.written.join(', ')} (${modes})`);
  if (o.install.unchanged.length > 0) lines.push(`unchanged ${o.install.unchanged.join(', ')}`);
  for (const b of o.install.backedUp) lines.push(`kept the old ${basename(b.path)} as ${b.backup}`);
  lines.push(...o.notes);
  lines.push(...o.checks.map(formatCheck));
  return lines;
}

/** For --json: the outcome without secrets. */
export function outcomeJson(o: ProvisionOutcome): Record<string, unknown> {
  const s = signerFingerprint(o.bundle);
  return {
    role: o.bundle.role,
    site: o.bundle.site.id,
    device: o.bundle.device.id,
    expiresAt: o.bundle.expiresAt,
    signedBy: s,
    written: o.install.written,
    unchanged: o.install.unchanged,
    backedUp: o.install.backedUp,
    notes: o.notes,
    checks: o.checks,
    ok: o.checks.every((c) => c.ok),
  };
}
