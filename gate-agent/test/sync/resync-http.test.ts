import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { basicAuthorization } from '@stile/config';
import { CHANGES_MAX_BYTES, cloudCredential, downloadSnapshot, fetchChanges, type CloudCredential } from '../../src/sync/resync-http.js';
import { startHttp } from '../helpers/mqtt.js';

// The gate's HTTP client against a local fake cloud: credential, size and time bounds.
type Http = Awaited<ReturnType<typeof startHttp>>;
const servers: Http[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function cloud(handler: Parameters<typeof startHttp>[0]): Promise<Http> {
  const http = await startHttp(handler);
  servers.push(http);
  return http;
}

const cred: CloudCredential = { username: 'gate.west-lake.north-2', password: 's3cret-password-value' };
const roomy = { maxBytes: 1024 * 1024, timeoutMs: 10_000 };
const file = () => join(mkdtempSync(join(tmpdir(), 'stile-dl-')), 'gate.db.snapshot-download');

/** Write `chunk` every `everyMs` until the client goes away. */
function drip(res: ServerResponse, chunk: string, everyMs: number): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write(chunk);
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

/** Write as fast as the client reads, forever. */
function endless(res: ServerResponse, chunk: string, first = ''): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  res.write(first);
  const pump = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

describe('the gate credential', () => {
  it('user is mqtt.username or gate.<site>.<gate>; the password is the first line of the password file', () => {
    expect(cloudCredential(undefined, 'west-lake', 'north-2', 'pw-one\r\nsecond line\n')).toEqual({ username: 'gate.west-lake.north-2', password: 'pw-one' });
    expect(cloudCredential({ username: 'custom' }, 'west-lake', 'north-2', 'pw\n')).toEqual({ username: 'custom', password: 'pw' });
    expect(cloudCredential({}, 'west-lake', 'north-2', undefined)).toBeNull();
  });

  it('changes and snapshot send Basic auth; 401/403 name the user, never the password', async () => {
    const http = await cloud((req, res) => {
      if (req.headers.authorization !== basicAuthorization(cred.username, cred.password)) return res.writeHead(req.url?.includes('changes') ? 401 : 403).end();
      if (req.url?.includes('changes')) return res.writeHead(200).end('{"v":1,"deltas":[]}');
      res.writeHead(200).end('{"snapshot":{"site":"west-lake","asOfSeq":"1"}}\n');
    });
    expect(await fetchChanges(http.url, 'west-lake', '5', cred)).toEqual({ kind: 'deltas', deltas: [] });
    const out = file();
    await downloadSnapshot(http.url, 'west-lake', out, cred, roomy, () => undefined);
    expect(readFileSync(out, 'utf8')).toContain('asOfSeq');
    expect(http.authorizations).toEqual([basicAuthorization(cred.username, cred.password), basicAuthorization(cred.username, cred.password)]);

    const wrong = { ...cred, password: 'revoked-password' };
    const e1 = (await fetchChanges(http.url, 'west-lake', '5', wrong).catch((e: unknown) => e)) as Error;
    expect(e1.message).toBe(`GET changes?since=5: HTTP 401: the cloud refused this gate's credential (user "${cred.username}"; revoked or wrong password)`);
    const e2 = (await downloadSnapshot(http.url, 'west-lake', file(), wrong, roomy, () => undefined).catch((e: unknown) => e)) as Error;
    expect(e2.message).toBe(`GET snapshot: HTTP 403: the cloud refused this gate's credential (user "${cred.username}"; revoked or wrong password)`);
    expect(`${e1.message}${e2.message}`).not.toContain('revoked-password');
    const e3 = (await fetchChanges(http.url, 'west-lake', '5', null).catch((e: unknown) => e)) as Error;
    expect(e3.message).toMatch(/HTTP 401: the cloud wants a credential and this gate has none \(set mqtt\.passwordFile\)/);
  });

  it('does not follow a redirect (it could carry the credential elsewhere or down to http)', async () => {
    const other = await cloud((_req, res) => res.writeHead(200).end('{"v":1,"deltas":[]}'));
    const http = await cloud((_req, res) => res.writeHead(302, { location: `${other.url}/steal` }).end());
    await expect(fetchChanges(http.url, 'west-lake', '5', cred)).rejects.toThrow();
    await expect(downloadSnapshot(http.url, 'west-lake', file(), cred, roomy, () => undefined)).rejects.toThrow();
    expect(other.requests).toEqual([]);
  });
});

describe('snapshot download bounds', () => {
  it('creates the file 0600, also over a leftover with a wider mode', async () => {
    const http = await cloud((_req, res) => res.writeHead(200).end('{"snapshot":{"site":"s","asOfSeq":"1"}}\n'));
    const out = file();
    writeFileSync(out, 'leftover', { mode: 0o644 });
    await downloadSnapshot(http.url, 's', out, cred, roomy, () => undefined);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, 'utf8')).not.toContain('leftover');
  });

  it('an endless response stops at maxBytes and leaves no file', async () => {
    const http = await cloud((_req, res) => endless(res, `${JSON.stringify({ ticketId: 'ENDLESS000001', typeId: 'adult', visitDate: '2026-11-25' })}\n`.repeat(100)));
    const out = file();
    let seen = 0;
    const err = (await downloadSnapshot(http.url, 's', out, cred, { maxBytes: 2 * 1024 * 1024, timeoutMs: 30_000 }, (n) => (seen = n)).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(`GET snapshot: larger than ${2 * 1024 * 1024} bytes (mqtt.snapshotMaxBytes); download stopped`);
    expect(seen).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(seen).toBeGreaterThan(1024 * 1024);
    expect(existsSync(out)).toBe(false);
  });

  it('a declared Content-Length over maxBytes is refused before reading', async () => {
    const http = await cloud((_req, res) => {
      res.writeHead(200, { 'content-length': String(5 * 1024 * 1024) });
      res.write('x'.repeat(1024));
    });
    const out = file();
    await expect(downloadSnapshot(http.url, 's', out, cred, { maxBytes: 1024 * 1024, timeoutMs: 30_000 }, () => undefined)).rejects.toThrow(/larger than 1048576 bytes/);
    expect(existsSync(out)).toBe(false);
  });

  it('a slow-drip response stops at the deadline over the whole body, and leaves no file', async () => {
    // A byte every 20 ms: never idle long enough for an idle timeout, never done.
    const http = await cloud((_req, res) => drip(res, '{', 20));
    const out = file();
    let seen = 0;
    const err = (await downloadSnapshot(http.url, 's', out, cred, { maxBytes: 1024 * 1024, timeoutMs: 400 }, (n) => (seen = n)).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('GET snapshot: not finished after 0.4 s (mqtt.snapshotTimeoutSec); download stopped');
    expect(seen).toBeGreaterThan(0); // the body had started: this is not a connect timeout
    expect(existsSync(out)).toBe(false);
  });

  it('a changes answer is read only up to its cap', async () => {
    const http = await cloud((_req, res) => endless(res, '0,'.repeat(32 * 1024), '{"v":1,"deltas":['));
    await expect(fetchChanges(http.url, 's', '1', cred)).rejects.toThrow(`GET changes?since=1: response larger than ${CHANGES_MAX_BYTES} bytes; not read`);
  }, 30_000);
});
