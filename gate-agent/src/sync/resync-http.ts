import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

/**
 * The cloud's whitelist HTTP API (see docs/architecture.md, "Sync"):
 *   GET {base}/v1/sites/{site}/whitelist/changes?since=N → 200 {"v":1,"deltas":[WhitelistDelta…]} | 410 Gone
 *   GET {base}/v1/sites/{site}/whitelist/snapshot        → 200 NDJSON, first line {"snapshot":{"site","asOfSeq"}}
 */
export const HTTP_TIMEOUT_MS = 30_000;

export type ChangesResult = { kind: 'deltas'; deltas: unknown[] } | { kind: 'gone' };

export function whitelistUrl(base: string, site: string, what: 'snapshot' | 'changes'): string {
  return `${base.replace(/\/+$/, '')}/v1/sites/${encodeURIComponent(site)}/whitelist/${what}`;
}

export async function fetchChanges(base: string, site: string, since: string, signal?: AbortSignal): Promise<ChangesResult> {
  const res = await fetch(`${whitelistUrl(base, site, 'changes')}?since=${encodeURIComponent(since)}`, { signal: signal ?? AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  if (res.status === 410) {
    await res.body?.cancel();
    return { kind: 'gone' };
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`GET changes?since=${since}: HTTP ${res.status}`);
  }
  const body = (await res.json()) as unknown;
  if (typeof body !== 'object' || body === null || (body as { v?: unknown }).v !== 1 || !Array.isArray((body as { deltas?: unknown }).deltas)) {
    throw new Error('changes: expected {"v":1,"deltas":[…]}');
  }
  return { kind: 'deltas', deltas: (body as { deltas: unknown[] }).deltas };
}

/** Stream the snapshot to `file`; the whole download may take minutes, so only connecting is bounded by a timeout. */
export async function downloadSnapshot(base: string, site: string, file: string, onBytes: (n: number) => void): Promise<void> {
  const connect = new AbortController();
  const timer = setTimeout(() => connect.abort(new Error('snapshot request timed out')), HTTP_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(whitelistUrl(base, site, 'snapshot'), { signal: connect.signal });
  } finally {
    clearTimeout(timer);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`GET snapshot: HTTP ${res.status}`);
  }
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      onBytes(bytes);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), count, createWriteStream(file));
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
}
