import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connectAsync, type MqttClient } from 'mqtt';
import { deviceUsername, topics } from '@stile/config';
import {
  BIN,
  HAS_ESPEAK,
  announce,
  controlKey,
  measureWav,
  pathWithout,
  playEvents,
  publish,
  publisher,
  sleep,
  tempDir,
  uniqueSiteId,
  waitFor,
  writeConfig,
} from './helpers.js';

// The built `stile-announcer` as a process: --dry-run, --check, and the daemon on a private
// Mosquitto with the password file and the screen ACL of docs/mqtt-security.md, restarted
// under it.

const dirs: string[] = [];
const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Proc {
  child: ChildProcess;
  stdout: string[];
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  procs.push(child);
  const stdout: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const lines = (s: NodeJS.ReadableStream, sink: (l: string) => void) => {
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        sink(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  };
  const json = (l: string) => {
    try {
      logs.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      stdout.push(l);
    }
  };
  lines(child.stdout!, json);
  lines(child.stderr!, json);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stdout, logs, exited };
}

describe('stile-announcer --dry-run', () => {
  it('prints what it would say, and for a forged message only the logged reason', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const site = uniqueSiteId();
    const keys = controlKey('ctl-1');
    const { file, capture } = writeConfig(dir, site, [{ id: 'ctl-1', publicKey: keys.publicKey }], { speech: { languages: ['en', 'zh'] } });
    const p = run(['--config', file, '--dry-run']);
    await waitFor(() => p.logs.some((l) => l.event === 'subscribed'), 'subscribed');
    const pub = await publisher();
    try {
      await publish(pub, site, 'announce', announce(site, 'red', controlKey('ctl-1').key));
      await waitFor(() => p.logs.some((l) => l.event === 'announcement_refused'), 'forged refused');
      await publish(pub, site, 'announce', announce(site, 'orange', keys.key));
      await waitFor(() => p.stdout.length === 2, 'two lines');
    } finally {
      await pub.endAsync();
    }
    expect(p.stdout).toEqual([
      'would say (en, voice en): The park is nearly full (86% of capacity). Online sales are paused.',
      'would say (zh, voice cmn): 今日游客已达最大承载量的 86%，线上售票已暂停，现场窗口限量售票。',
    ]);
    expect(p.logs.find((l) => l.event === 'announcement_refused')).toMatchObject({ reason: 'bad_signature' });
    expect(playEvents(capture)).toHaveLength(0); // nothing played
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.logs.some((l) => l.event === 'stopped')).toBe(true);
  });
});

describe('stile-announcer --check', () => {
  it('passes a good config and names the fix for a missing espeak-ng', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const keys = controlKey('ctl-1');
    const { file } = writeConfig(dir, 'park', [{ id: 'ctl-1', publicKey: keys.publicKey }]);
    const good = spawnSync(process.execPath, [BIN, '--config', file, '--check'], { encoding: 'utf8' });
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(
      HAS_ESPEAK
        ? /valid \(site park, device pa-1\)\nspeech: espeak-ng ok \(\/\S+\/espeak-ng; auto: \S+ is installed; voices zh=cmn, en=en\)/
        : /valid \(site park, device pa-1\)\nspeech: wasm ok \(@echogarden\/espeak-ng-emscripten \d+\.\d+\.\d+; auto: espeak-ng is not on PATH/,
    );
    const bad = writeConfig(dir, 'park', [{ id: 'ctl-1', publicKey: keys.publicKey }], { speech: { espeak: '/nonexistent/espeak-ng', engine: 'espeak-ng' } });
    const r = spawnSync(process.execPath, [BIN, '--config', bad.file, '--check'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/espeak-ng not found .*: apt-get install espeak-ng/);
    const voice = writeConfig(dir, 'park', [{ id: 'ctl-1', publicKey: keys.publicKey }], { speech: { voices: { en: 'nosuch' } } });
    const v = spawnSync(process.execPath, [BIN, '--config', voice.file, '--check'], { encoding: 'utf8' });
    expect(v.status).toBe(1);
    expect(v.stderr).toMatch(/voice "nosuch" for en .*voice does not exist/);
    const usage = spawnSync(process.execPath, [BIN], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--config is required/);
  });

  it('--test speaks a test sentence in each language through the configured player', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { file, capture } = writeConfig(dir, 'park', [{ id: 'ctl-1', publicKey: controlKey('ctl-1').publicKey }]);
    const r = spawnSync(process.execPath, [BIN, '--config', file, '--test'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/saying \(zh, voice cmn\): 这是景区广播测试。\nsaying \(en, voice en\): This is a test/);
    const plays = playEvents(capture).filter((e) => e.event === 'start');
    expect(plays.map((e) => e.file.split('-').pop())).toEqual(['zh.wav', 'en.wav']);
    for (const play of plays) expect(measureWav(play.copy!).rms).toBeGreaterThan(0.01);
  });

  it('without espeak-ng on PATH: --check and --test use the Emscripten build, and the daemon says once that it does', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const site = uniqueSiteId();
    const keys = controlKey('ctl-1');
    const env = { ...process.env, PATH: pathWithout(['espeak-ng', 'espeak']) };
    const { file, capture } = writeConfig(dir, site, [{ id: 'ctl-1', publicKey: keys.publicKey }], { repeat: { intervalSec: 1 } }, 20);
    const check = spawnSync(process.execPath, [BIN, '--config', file, '--check'], { encoding: 'utf8', env });
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/\nspeech: wasm ok \(@echogarden\/espeak-ng-emscripten \d+\.\d+\.\d+; auto: espeak-ng is not on PATH, so the Emscripten build \(@echogarden\/espeak-ng-emscripten\); voices zh=cmn, en=en\)\n/);
    const test = spawnSync(process.execPath, [BIN, '--config', file, '--test'], { encoding: 'utf8', env });
    expect(test.status).toBe(0);
    expect(test.stdout).toMatch(/^speech engine: wasm \(auto: espeak-ng is not on PATH/);
    const tested = playEvents(capture).filter((e) => e.event === 'start');
    expect(tested.map((e) => e.file.split('-').pop())).toEqual(['zh.wav', 'en.wav']);
    for (const play of tested) expect(measureWav(play.copy!).rms).toBeGreaterThan(0.01);

    const p = run(['--config', file], env);
    await waitFor(() => p.logs.some((l) => l.event === 'subscribed'), 'subscribed');
    const pub = await publisher();
    try {
      await publish(pub, site, 'announce', announce(site, 'orange', keys.key));
      await waitFor(() => p.logs.filter((l) => l.event === 'spoken').length >= 2, 'spoken and repeated', 20_000);
    } finally {
      await pub.endAsync();
    }
    const engines = p.logs.filter((l) => l.event === 'speech_engine');
    expect(engines).toHaveLength(1); // once, at start
    expect(engines[0]).toMatchObject({ engine: 'wasm', reason: 'auto: espeak-ng is not on PATH, so the Emscripten build (@echogarden/espeak-ng-emscripten)' });
    expect(p.logs.some((l) => l.event === 'speech_unavailable' || l.event === 'speech_failed')).toBe(false);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('keeps running without espeak-ng and logs the fix at start', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const site = uniqueSiteId();
    const keys = controlKey('ctl-1');
    const { file } = writeConfig(dir, site, [{ id: 'ctl-1', publicKey: keys.publicKey }], { speech: { espeak: '/nonexistent/espeak-ng', engine: 'espeak-ng' } });
    const p = run(['--config', file]);
    await waitFor(() => p.logs.some((l) => l.event === 'subscribed'), 'subscribed');
    expect(p.logs.find((l) => l.event === 'speech_unavailable')).toMatchObject({ fix: 'apt-get install espeak-ng' });
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});

function binary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/sbin'])) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  throw new Error(`${name} not found: apt-get install mosquitto`);
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The ACL block of docs/mqtt-security.md, as its own test loads it. */
function aclFromDoc(): string {
  const text = readFileSync(fileURLToPath(new URL('../../docs/mqtt-security.md', import.meta.url)), 'utf8');
  const m = /<!-- acl-example[^>]*-->\s*```conf\n([\s\S]*?)```/.exec(text);
  if (!m) throw new Error('docs/mqtt-security.md: no acl-example block');
  return m[1]!;
}

describe('on a broker with per-device logins and the ACL', () => {
  it('logs in as its screen user, speaks, and keeps speaking across a broker restart', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const SITE = 'west-lake';
    const SCREEN = deviceUsername({ kind: 'screen', site: SITE, id: 'lobby' });
    const passwords = { 'stile-cloud': 'cloud-secret-1', [SCREEN]: 'screen-secret-1' };
    const passwd = join(dir, 'stile.passwd');
    writeFileSync(passwd, '', { mode: 0o600 });
    for (const [u, pw] of Object.entries(passwords)) {
      const r = spawnSync(binary('mosquitto_passwd'), ['-b', passwd, u, pw], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mosquitto_passwd: ${r.stderr}`);
    }
    writeFileSync(join(dir, 'stile.acl'), aclFromDoc(), { mode: 0o600 });
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        'per_listener_settings false',
        'allow_anonymous false',
        `password_file ${passwd}`,
        `acl_file ${join(dir, 'stile.acl')}`,
        'persistence false',
        // Started as root, Mosquitto would switch to the mosquitto user and lose access to the temp folder.
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        `listener ${port} 127.0.0.1`,
        '',
      ].join('\n'),
    );
    let broker: ChildProcess | undefined;
    const startBroker = async () => {
      broker = spawn(binary('mosquitto'), ['-c', conf], { stdio: 'ignore' });
      procs.push(broker);
      const until = Date.now() + 10_000;
      for (;;) {
        try {
          const c = await connectAsync(`mqtt://127.0.0.1:${port}`, { username: 'stile-cloud', password: passwords['stile-cloud'], reconnectPeriod: 0, connectTimeout: 1000 });
          return c;
        } catch (err) {
          if (Date.now() > until) throw err;
          await sleep(100);
        }
      }
    };
    let cloud: MqttClient = await startBroker();

    const keys = controlKey('ctl-1');
    writeFileSync(join(dir, 'pa.pw'), `${passwords[SCREEN]}\n`, { mode: 0o600 });
    const { file, capture } = writeConfig(dir, SITE, [{ id: 'ctl-1', publicKey: keys.publicKey }], {
      device: { id: 'lobby' },
      mqtt: { url: `mqtt://127.0.0.1:${port}`, passwordFile: 'pa.pw', reconnectMinMs: 100, reconnectMaxMs: 300 },
      speech: { languages: ['en'] },
      repeat: { intervalSec: 0 },
    });
    const p = run(['--config', file]);
    try {
      await waitFor(() => p.logs.some((l) => l.event === 'subscribed'), 'subscribed as the screen user', 10_000);
      expect(p.logs.find((l) => l.event === 'started')).toMatchObject({ clientId: 'stile-screen-west-lake-lobby' });
      await cloud.publishAsync(topics.announce(SITE), JSON.stringify(announce(SITE, 'orange', keys.key)), { qos: 1 });
      await waitFor(() => p.logs.filter((l) => l.event === 'spoken').length === 1, 'spoken before the restart');

      // The broker goes away (no persistence: it forgets the session and its subscriptions) and comes back.
      await cloud.endAsync(true);
      broker!.kill('SIGTERM');
      await new Promise((r) => broker!.once('exit', r));
      await waitFor(() => p.logs.some((l) => l.event === 'mqtt_disconnected'), 'disconnect noticed');
      await sleep(500);
      cloud = await startBroker();
      await waitFor(() => p.logs.filter((l) => l.event === 'subscribed').length === 2, 'subscribed again', 15_000);
      await cloud.publishAsync(topics.announce(SITE), JSON.stringify(announce(SITE, 'red', keys.key)), { qos: 1 });
      await waitFor(() => p.logs.filter((l) => l.event === 'spoken').length === 2, 'spoken after the restart');
      const plays = playEvents(capture).filter((e) => e.event === 'start');
      expect(plays).toHaveLength(2);
      for (const play of plays) expect(measureWav(play.copy!).lengthSec).toBeGreaterThan(1);
      expect(p.logs.filter((l) => l.event === 'mqtt_connected')).toHaveLength(2);
    } finally {
      await cloud.endAsync(true);
      p.child.kill('SIGTERM');
      await p.exited;
      broker?.kill('SIGTERM');
    }
  });
});
