import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeNotifySocket } from '../../service/test/helpers/fake-notify.js';
import { announcerStatusLine } from '../src/supervision.js';
import { BIN, announce, controlKey, publish, publisher, tempDir, uniqueSiteId, writeConfig } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the announcer’s STATUS line', () => {
  it('says whether it listens, and why not', () => {
    expect(announcerStatusLine({ connected: true, subscribed: true, lastError: null, level: null, holding: null, spoken: 0, refused: 0 })).toBe('listening; level not known yet; spoken 0; refused 0');
    expect(announcerStatusLine({ connected: false, subscribed: false, lastError: 'connect ECONNREFUSED 10.0.0.5:1883', level: 'orange', holding: 'orange', spoken: 4, refused: 1 })).toBe(
      'broker unreachable (connect ECONNREFUSED 10.0.0.5:1883); level orange (repeating); spoken 4; refused 1',
    );
    expect(announcerStatusLine({ connected: true, subscribed: false, lastError: 'subscription refused: stile/x/announce', level: null, holding: null, spoken: 0, refused: 0 })).toMatch(/^connected, not subscribed \(subscription refused/);
  });
});

describe('stile-announcer and systemd’s notify socket (real Mosquitto)', () => {
  it('READY=1 once subscribed; STATUS follows what it says; STOPPING=1 on SIGTERM', async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const site = uniqueSiteId();
    const keys = controlKey('ctl-1');
    const { file } = writeConfig(dir, site, [{ id: 'ctl-1', publicKey: keys.publicKey }], { speech: { languages: ['en'] } });
    const sock = new FakeNotifySocket();
    cleanups.push(() => sock.close());
    const child = spawn(process.execPath, [BIN, '--config', file, '--dry-run'], { env: sock.env(), stdio: ['ignore', 'ignore', 'pipe'] });
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const alive = () => (child.exitCode !== null ? `stile-announcer exited ${child.exitCode}: ${err}` : null);

    await sock.waitFor(() => sock.has('READY', '1'), 'READY=1', 30_000, alive);
    // "listening": connected and subscribed when READY went out.
    expect(sock.messages[sock.index('READY')]!.fields.STATUS).toBe('listening; level not known yet; spoken 0; refused 0');

    const pub = await publisher();
    cleanups.push(() => pub.endAsync());
    await publish(pub, site, 'announce', announce(site, 'orange', keys.key));
    await sock.waitFor(() => /^listening; level orange/.test(sock.lastStatus() ?? ''), 'STATUS with the level', 30_000, alive);

    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(sock.index('STOPPING')).toBeGreaterThan(sock.index('READY'));
  });
});
