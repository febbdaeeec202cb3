import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FakeNotifySocket } from '../../service/test/helpers/fake-notify.js';
import { testSite, uniqueId, waitFor } from './helpers.js';

// stile-cloud under a fake systemd ($NOTIFY_SOCKET a real unix datagram socket), against an
// Aedes broker of the test's own that refuses every subscription until the test lets it.
const BIN = fileURLToPath(new URL('../bin/stile-cloud.js', import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gatekeepingBroker(): Promise<{ url: string; refusals: () => number; allow(): void }> {
  const { Aedes } = await import('aedes');
  let allowed = false;
  let refused = 0;
  const broker = await Aedes.createBroker({
    authorizeSubscribe: (_client, sub, done) => {
      if (allowed) return done(null, sub);
      refused++;
      done(null, null); // SUBACK 0x80: refused, the connection stays
    },
  });
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    broker.handle(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => broker.close(() => r()));
      }),
  );
  return { url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, refusals: () => refused, allow: () => void (allowed = true) };
}

describe('stile-cloud and systemd’s notify socket', () => {
  it('sends READY=1 only once its subscriptions are granted, not when start gives up waiting for them; STOPPING=1 on SIGTERM', async () => {
    const broker = await gatekeepingBroker();
    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-sup-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const site = testSite(['g1']);
    const file = join(dir, 'cloud.yaml');
    writeFileSync(
      file,
      stringify({
        mqtt: { url: broker.url, protocolVersion: 4, clientId: uniqueId('sup'), sharedGroup: uniqueId('grp') },
        http: { port: 0 },
        database: { sqlitePath: join(dir, 'cloud.db') },
        sites: [{ id: site.config.id, controlKey: site.config.controlKey, gates: ['g1'] }],
      }),
    );
    const sock = new FakeNotifySocket();
    cleanups.push(() => sock.close());
    const child = spawn(process.execPath, [BIN, '--config', file], { env: sock.env({ DATABASE_URL: '', LOG_LEVEL: 'info', WATCHDOG_USEC: '2000000' }) });
    cleanups.push(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const alive = () => (child.exitCode !== null ? `stile-cloud exited ${child.exitCode}: ${err}` : null);

    // startCloudBridge stops waiting for the subscriptions after 10 s and resolves; the HTTP side serves.
    const port = await waitFor(() => alive() ?? /"httpPort":(\d+)/.exec(out)?.[1], 'the started log line', 30_000);
    expect(alive()).toBeNull();
    await waitFor(() => out.includes('subscriptions not in place after start'), 'start giving up on the subscriptions', 30_000);
    expect(broker.refusals()).toBeGreaterThanOrEqual(1);
    const before = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(before.status).toBe(503);
    // …but not READY: a cloud that takes no entries is not in service.
    expect(sock.has('READY')).toBe(false);
    expect(sock.count('WATCHDOG')).toBe(0);

    broker.allow();
    await sock.waitFor(() => sock.has('READY', '1'), 'READY=1 after the subscriptions', 30_000, alive);
    expect(sock.messages[sock.index('READY')]!.fields.STATUS).toBe(`serving 1 site on :${port}; store ok; broker ok (2 connections, subscriptions in place)`);
    const after = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await after.json()).toMatchObject({ ready: true });
    await sock.waitFor(() => sock.count('WATCHDOG') >= 1, 'a watchdog ping', 30_000, alive);

    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(sock.index('STOPPING')).toBeGreaterThan(sock.index('READY'));
  });
});
