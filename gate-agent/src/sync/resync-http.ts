import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { basicAuthorization, gateUsername, type MqttConfig } from '@stile/config';

/**
 * The cloud's whitelist HTTP API (see docs/architecture.md, "Sync"):
 *   GET {base}/v1/sites/{site}/whitelist/changes?since=N → 200 {"v":1,"deltas":[WhitelistDelta…]} | 410 Gone
 *   GET {base}/v1/sites/{site}/whitelist/snapshot        → 200 NDJSON, first line {"snapshot":{"site","asOfSeq"}},
 *                                                          last line {"signature":{…}}
 * Every request carries the gate's one credential as HTTP Basic auth.
 */
export const HTTP_TIMEOUT_MS = 30_000;
/** A changes answer holds at most a few thousand deltas; anything near this is not one. */
export const CHANGES_MAX_BYTES = 64 * 1024 * 1024;

export type ChangesResult = { kind: 'deltas'; deltas: unknown[] } | { kind: 'gone' };

/** The gate's HTTP Basic credential (also its MQTT login). Never logged: only `username` goes into messages. */
export interface CloudCredential {
  username: string;
  password: string;
}

export interface SnapshotLimits {
  maxBytes: number;
  timeoutMs: number;
}

/**
 * user = mqtt.username, else gate.<site>.<gate>; password = the first line of the password
 * file's text (read once by the caller). No password file: no credential.
 */
export function cloudCredential(mqtt: Pick<MqttConfig, 'username'> | undefined, site: string, gate: string, passwordText: string | undefined): CloudCredential | null {
  if (passwordText === undefined) return null;
  const password = (passwordText.split('\n')[0] ?? '').replace(/\r$/, '').trim();
  return { username: mqtt?.username ?? gateUsername(site, gate), password };
}

export function authHeaders(credential: CloudCredential | null): Record<string, string> {
  return credential ? { authorization: basicAuthorization(credential.username, credential.password) } : {};
}

/** The error for a non-2xx answer; 401/403 name the credential's user, never its password. */
export function httpError(what: string, status: number, credential: CloudCredential | null): Error {
  if (status === 401 || status === 403) {
    return new Error(
      credential
        ? `${what}: HTTP ${status}: the cloud refused this gate's credential (user "${credential.username}"; revoked or wrong password)`
        : `${what}: HTTP ${status}: the cloud wants a credential and this gate has none (set mqtt.passwordFile)`,
    );
  }
  return new Error(`${what}: HTTP ${status}`);
}

export function whitelistUrl(base: string, site: string, what: 'snapshot' | 'changes'): string {
  return `${base.replace(/\/+$/, '')}/v1/sites/${encodeURIComponent(site)}/whitelist/${what}`;
}

/**
 * Read a whole response body, refusing more than `max` bytes: counted while streaming,
 * so a hostile or broken server cannot fill the gate's memory.
 */
export async function readCapped(res: Response, max: number, what: string): Promise<Buffer> {
  const tooBig = () => new Error(`${what}: response larger than ${max} bytes; not read`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel();
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let n = 0;
  if (res.body) {
    // Leaving the loop early cancels the stream (and with it the connection).
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      n += chunk.byteLength;
      if (n > max) throw tooBig();
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  }
  return Buffer.concat(chunks, n);
}

export async function fetchChanges(base: string, site: string, since: string, credential: CloudCredential | null, signal?: AbortSignal): Promise<ChangesResult> {
  const what = `GET changes?since=${since}`;
  // redirect: 'error': a redirect could lead the credential to another host or down to http.
  const res = await fetch(`${whitelistUrl(base, site, 'changes')}?since=${encodeURIComponent(since)}`, {
    headers: authHeaders(credential),
    redirect: 'error',
    signal: signal ?? AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  if (res.status === 410) {
    await res.body?.cancel();
    return { kind: 'gone' };
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw httpError(what, res.status, credential);
  }
  const text = (await readCapped(res, CHANGES_MAX_BYTES, what)).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what}: not JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof body !== 'object' || body === null || (body as { v?: unknown }).v !== 1 || !Array.isArray((body as { deltas?: unknown }).deltas)) {
    throw new Error('changes: expected {"v":1,"deltas":[…]}');
  }
  return { kind: 'deltas', deltas: (body as { deltas: unknown[] }).deltas };
}

/**
 * Stream the snapshot to `file` (created 0600: it holds every ID-card hash of the site).
 * Bounded in size (`maxBytes`) and in time over the whole download, body included, so an
 * endless or slow-drip answer cannot keep a resync (and the disk) busy forever. A failed
 * download leaves no file behind.
 */
export async function downloadSnapshot(
  base: string,
  site: string,
  file: string,
  credential: CloudCredential | null,
  limits: SnapshotLimits,
  onBytes: (n: number) => void,
): Promise<void> {
  const ctl = new AbortController();
  let stopped: Error | null = null;
  const stop = (err: Error) => {
    stopped ??= err;
    ctl.abort(err);
  };
  const deadline = setTimeout(() => stop(new Error(`GET snapshot: not finished after ${limits.timeoutMs / 1000} s (mqtt.snapshotTimeoutSec); download stopped`)), limits.timeoutMs);
  const connectMs = Math.min(HTTP_TIMEOUT_MS, limits.timeoutMs);
  const connect = setTimeout(() => stop(new Error(`GET snapshot: no answer within ${connectMs / 1000} s`)), connectMs);
  const tooBig = () => new Error(`GET snapshot: larger than ${limits.maxBytes} bytes (mqtt.snapshotMaxBytes); download stopped`);
  try {
    let res: Response;
    try {
      res = await fetch(whitelistUrl(base, site, 'snapshot'), { headers: authHeaders(credential), redirect: 'error', signal: ctl.signal });
    } catch (err) {
      throw stopped ?? err;
    } finally {
      clearTimeout(connect);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw httpError('GET snapshot', res.status, credential);
    }
    if (Number(res.headers.get('content-length') ?? NaN) > limits.maxBytes) {
      await res.body.cancel().catch(() => undefined);
      throw tooBig();
    }
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > limits.maxBytes) {
          stop(tooBig());
          return cb(stopped);
        }
        onBytes(bytes);
        cb(null, chunk);
      },
    });
    // A leftover from an earlier run would keep its mode; 'wx' makes sure this one is new.
    await rm(file, { force: true });
    try {
      await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), count, createWriteStream(file, { flags: 'wx', mode: 0o600 }), { signal: ctl.signal });
    } catch (err) {
      await rm(file, { force: true });
      throw stopped ?? err;
    }
  } finally {
    clearTimeout(deadline);
    clearTimeout(connect);
    ctl.abort();
  }
}
