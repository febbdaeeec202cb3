/**
 * The doctor's probes of the cloud: one MQTT connection with the device's own login (under a
 * client id of its own, so the running daemon's session is left alone), and the gate's
 * whitelist HTTP API read only as far as needed to see it is there and signed.
 */
import { randomBytes } from 'node:crypto';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import {
  SnapshotDigest, TicketTypesDocumentSchema, verifySiteDocument, verifySnapshotSignature, WhitelistDeltaSchema, type DeviceMqttOptions, type TrustedKeys,
} from '@stile/config';
import { checkControlObject } from '../sync/control.js';
import { authHeaders, fetchChanges, httpError, readCapped, whitelistUrl, type CloudCredential } from '../sync/resync-http.js';
import type { BrokerResult, SignatureFinding, SnapshotResult } from './doctor-checks-cloud.js';
import { networkWords } from './doctor-probes.js';

const CONNECT_TIMEOUT_MS = 10_000;
/** After SUBACK, how long to wait for a retained message (the broker sends it right after). */
const RETAINED_WAIT_MS = 700;

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|ERR_TLS|ERR_SSL|EPROTO|HANDSHAKE/i;

/** The device's options with its own login and TLS files, but a fresh, throw-away session. */
export function doctorMqttOptions(device: DeviceMqttOptions): IClientOptions {
  const { will: _will, properties: _properties, ...rest } = device;
  return {
    ...rest,
    // "<id>.<suffix>": the broker lets a device use its own id with a dot suffix (cloud-bridge broker-acl.ts).
    clientId: `${device.clientId}.doctor-${randomBytes(3).toString('hex')}`,
    clean: true,
    reconnectPeriod: 0,
    reconnectOnConnackError: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...(device.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 0 } } : {}),
  };
}

/**
 * Connect, subscribe to `topic` (one the device always reads; a refusal there means the
 * broker's ACL is wrong) and return what it retained. `options` throws when a file it reads
 * (password, CA) is missing: that is the `file` stage.
 */
export async function probeBroker(url: string, options: () => DeviceMqttOptions, topic: string): Promise<{ result: BrokerResult; retained: Buffer | null }> {
  let opts: IClientOptions;
  try {
    opts = doctorMqttOptions(options());
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { result: { ok: false, stage: 'file', file: e.path ?? '?', message: e.code ?? e.message }, retained: null };
  }
  const protocol = (opts.protocolVersion === 5 ? 5 : 4) as 4 | 5;
  let client: MqttClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no CONNACK within ${CONNECT_TIMEOUT_MS / 1000} s`), { code: 'TIMEOUT' })), CONNECT_TIMEOUT_MS + 500);
    });
    client = await Promise.race([connectAsync(url, opts, false), timeout]);
    const c = client;
    let retained: Buffer | null = null;
    c.on('message', (t, payload, packet) => {
      if (t === topic && packet.retain && payload.length > 0) retained = payload;
    });
    const granted = await Promise.race([c.subscribeAsync(topic, { qos: 1 }), timeout]);
    // MQTT 3.1.1: 0x80 is a refusal; MQTT 5: any reason code ≥ 0x80.
    const ok = granted.length > 0 && granted.every((g) => g.qos < 0x80);
    if (ok) await new Promise((r) => setTimeout(r, RETAINED_WAIT_MS));
    return { result: { ok: true, protocol, granted: ok }, retained };
  } catch (err) {
    return { result: brokerFailure(err, protocol), retained: null };
  } finally {
    clearTimeout(timer);
    await client?.endAsync(true).catch(() => undefined);
  }
}

function brokerFailure(err: unknown, protocol: 4 | 5): BrokerResult {
  const e = err as Error & { code?: string | number };
  if (typeof e.code === 'number') return { ok: false, stage: 'connack', protocol, code: e.code, message: e.message };
  const code = String(e.code ?? '');
  if (code === 'TIMEOUT' || /timeout/i.test(e.message)) return { ok: false, stage: 'timeout', message: e.message };
  if (TLS_CODES.test(code) || TLS_CODES.test(e.message)) return { ok: false, stage: 'tls', code, message: e.message };
  return { ok: false, stage: 'network', code, message: code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message };
}

/** A snapshot this small is read whole and its own signature checked; a larger one only its first line. */
export const SNAPSHOT_PEEK_BYTES = 1024 * 1024;

export interface SnapshotProbe {
  result: SnapshotResult;
  /** The cloud's head seq as the snapshot names it (x-stile-as-of-seq or its first line). */
  headSeq: string | null;
}

/**
 * GET the snapshot with the gate's credential and read at most SNAPSHOT_PEEK_BYTES of it.
 * Signed by a trusted control key? Checked on the snapshot itself when it ended within that,
 * else on the newest delta (GET changes?since=head-1), else on the signed ticket types.
 */
export async function probeSnapshot(base: string, site: string, credential: CloudCredential | null, trusted: TrustedKeys, today: string): Promise<SnapshotProbe> {
  const url = whitelistUrl(base, site, 'snapshot');
  let res: Response;
  try {
    res = await fetch(url, { headers: authHeaders(credential), redirect: 'error', signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    return { result: { ok: false, stage: 'network', message: networkWords(err) }, headSeq: null };
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    return { result: { ok: false, stage: 'http', status: res.status, message: httpError('GET snapshot', res.status, credential).message }, headSeq: null };
  }
  const { text, complete } = await readUpTo(res, SNAPSHOT_PEEK_BYTES);
  const lines = text.split('\n');
  if (complete && lines.at(-1) === '') lines.pop();
  const header = parseHeader(lines[0] ?? '');
  const headSeq = res.headers.get('x-stile-as-of-seq') ?? header.value?.asOfSeq ?? null;
  if (!header.value) return { result: { ok: true, header: null, headerError: header.error, signature: { via: 'none', why: 'no header' } }, headSeq };
  let signature: SignatureFinding;
  if (complete) {
    signature = snapshotSignature(lines, header.value, site, trusted, today);
  } else {
    signature = await deltaSignature(base, site, credential, headSeq, trusted, today);
    if (signature.via === 'none') signature = await ticketTypesSignature(base, site, credential, trusted, today, signature.why);
  }
  return { result: { ok: true, header: header.value, headerError: null, signature }, headSeq };
}

async function readUpTo(res: Response, max: number): Promise<{ text: string; complete: boolean }> {
  const chunks: Buffer[] = [];
  let n = 0;
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: Buffer.concat(chunks).toString('utf8'), complete: true };
      chunks.push(Buffer.from(value));
      n += value.byteLength;
      if (n > max) return { text: Buffer.concat(chunks).toString('utf8'), complete: false };
    }
  } finally {
    // Stop the download here: the cloud streams page by page and stops too.
    await reader.cancel().catch(() => undefined);
  }
}

function parseHeader(line: string): { value: { site: string | null; asOfSeq: string | null } | null; error: string } {
  try {
    const h = (JSON.parse(line) as { snapshot?: { site?: unknown; asOfSeq?: unknown } }).snapshot;
    if (!h || typeof h !== 'object') return { value: null, error: 'the first line is not {"snapshot":{…}}' };
    return { value: { site: typeof h.site === 'string' ? h.site : null, asOfSeq: typeof h.asOfSeq === 'string' ? h.asOfSeq : null }, error: '' };
  } catch {
    return { value: null, error: `the first line is not JSON (${JSON.stringify(line.slice(0, 40))}…)` };
  }
}

function snapshotSignature(lines: string[], header: { site: string | null; asOfSeq: string | null }, site: string, trusted: TrustedKeys, today: string): SignatureFinding {
  const last = lines.at(-1);
  let trailer: unknown;
  try {
    trailer = (JSON.parse(last ?? '') as { signature?: unknown }).signature;
  } catch {
    trailer = undefined;
  }
  if (lines.length < 2 || trailer === undefined) return { via: 'snapshot', ok: false, reason: 'unsigned', detail: 'no signature line at the end' };
  const digest = new SnapshotDigest();
  for (const l of lines.slice(1, -1)) digest.line(l);
  const v = verifySnapshotSignature(trailer, { site: header.site ?? site, asOfSeq: header.asOfSeq, tickets: digest.tickets, sha256: digest.hex() }, trusted, today);
  return v.ok ? { via: 'snapshot', ok: true } : { via: 'snapshot', ok: false, reason: v.reason, detail: v.detail };
}

async function deltaSignature(base: string, site: string, credential: CloudCredential | null, headSeq: string | null, trusted: TrustedKeys, today: string): Promise<SignatureFinding> {
  if (!headSeq || !/^\d+$/.test(headSeq) || BigInt(headSeq) === 0n) return { via: 'none', why: 'no delta yet (seq 0)' };
  try {
    const r = await fetchChanges(base, site, String(BigInt(headSeq) - 1n), credential, AbortSignal.timeout(15_000));
    const newest = r.kind === 'deltas' ? r.deltas.at(-1) : undefined;
    if (!newest) return { via: 'none', why: r.kind === 'gone' ? 'the newest delta is no longer kept' : 'no delta returned' };
    const c = checkControlObject(newest, WhitelistDeltaSchema, trusted, today);
    return c.ok ? { via: 'delta', ok: true } : { via: 'delta', ok: false, reason: c.reason, detail: c.detail };
  } catch (err) {
    return { via: 'none', why: `changes: ${(err as Error).message}` };
  }
}

async function ticketTypesSignature(base: string, site: string, credential: CloudCredential | null, trusted: TrustedKeys, today: string, before: string): Promise<SignatureFinding> {
  const url = `${base.replace(/\/+$/, '')}/v1/sites/${encodeURIComponent(site)}/ticket-types`;
  try {
    const res = await fetch(url, { headers: authHeaders(credential), redirect: 'error', signal: AbortSignal.timeout(15_000) });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return { via: 'none', why: `${before}; ticket types: HTTP ${res.status}` };
    }
    const body: unknown = JSON.parse((await readCapped(res, 4 * 1024 * 1024, 'GET ticket-types')).toString('utf8'));
    const v = verifySiteDocument(body, TicketTypesDocumentSchema, site, trusted, today);
    return v.ok ? { via: 'ticket-types', ok: true } : { via: 'ticket-types', ok: false, reason: v.reason, detail: v.detail };
  } catch (err) {
    return { via: 'none', why: `${before}; ticket types: ${networkWords(err)}` };
  }
}
