import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isStileError } from '@stile/config';
import { loadAnnouncerConfig } from '../src/config.js';
import { clientIdOf, mqttOptions } from '../src/daemon.js';
import { espeakArgv, planFor, playerArgv } from '../src/speech.js';
import { controlKey, tempDir } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function write(text: string): string {
  const dir = tempDir();
  dirs.push(dir);
  const file = join(dir, 'announcer.yaml');
  writeFileSync(file, text);
  return file;
}

function problems(file: string): string[] {
  try {
    loadAnnouncerConfig(file);
  } catch (err) {
    if (isStileError(err)) return err.message.split('\n');
    throw err;
  }
  throw new Error('expected the config to be refused');
}

const key = controlKey('ctl-1').publicKey;

describe('announcer.yaml', () => {
  it('reports every mistake at once, each with its field', () => {
    const file = write(`version: 1
site: { id: West Lake, timezone: Mars/Olympus }
mqtt: { url: http://broker, passwordFile: missing.pw, reconnectMinMs: 5000, reconnectMaxMs: 100 }
keys: { control: [] }
speech: { languages: [zh, fr], speed: 9, engine: festival }
clips: { red: red.ogg, orange: nowhere.wav }
player: { command: [aplay, -q] }
repeat: { intervalSec: -1, levels: [green, red] }
volume: 11
`);
    const lines = problems(file);
    const expected = [
      'site.id',
      'site.timezone',
      'device',
      'mqtt.url',
      'keys.control',
      'speech.languages[1]',
      'speech.speed',
      'speech.engine',
      'clips.red',
      'player.command',
      'repeat.intervalSec',
      'repeat.levels',
      '(root)', // volume: unknown key
      'mqtt.passwordFile',
      'clips.orange',
    ];
    for (const path of expected) expect(lines.some((l) => l.startsWith(`${file}: ${path}: `)), `${path} in\n${lines.join('\n')}`).toBe(true);
    expect(lines.find((l) => l.includes('clips.orange'))).toMatch(/cannot read nowhere\.wav: ENOENT/);
    expect(lines.find((l) => l.includes('keys.control'))).toMatch(/speaks nothing it cannot verify/);
    expect(lines.find((l) => l.includes('speech.engine'))).toMatch(/"auto"\|"espeak-ng"\|"wasm"/);
  });

  it('names a bad control key and a syntax error by line', () => {
    expect(problems(write(`version: 1\nsite: { id: park }\ndevice: { id: pa-1 }\nmqtt: { url: mqtt://127.0.0.1 }\nkeys: { control: [{ id: ctl-1, publicKey: "${'A'.repeat(40)}" }] }\n`))[0]).toMatch(
      /keys\.control\[0\]\.publicKey: control key "ctl-1": not an Ed25519 public key/,
    );
    expect(problems(write('version: 1\nsite: { id: park\n'))[0]).toMatch(/line \d+:\d+/);
  });

  it('fills the defaults and resolves paths against its folder', () => {
    const file = write(`version: 1
site: { id: west-lake }
device: { id: pa-1 }
mqtt: { url: mqtts://mqtt.example.cn:8883, passwordFile: pa.pw }
keys: { control: [{ id: ctl-1, publicKey: ${key} }] }
clips: { red: clips/red.mp3 }
`);
    const dir = join(file, '..');
    writeFileSync(join(dir, 'pa.pw'), 'token-123\n');
    mkdirSync(join(dir, 'clips'));
    writeFileSync(join(dir, 'clips', 'red.mp3'), '');
    const { config, trusted } = loadAnnouncerConfig(file);
    expect(config.site.timezone).toBe('Asia/Shanghai');
    expect(config.speech).toMatchObject({ languages: ['zh', 'en'], voices: { zh: 'cmn', en: 'en' }, espeak: 'espeak-ng', engine: 'auto' });
    expect(config.repeat).toEqual({ intervalSec: 300, levels: ['yellow', 'orange', 'red'] });
    expect(config.maxAgeMin).toBe(10);
    expect(config.clips.red).toBe(join(dir, 'clips', 'red.mp3'));
    expect(config.mqtt.passwordFile).toBe(join(dir, 'pa.pw'));
    expect(trusted.has('ctl-1')).toBe(true);
    // Its broker login is the registry's screen credential, with a client id the broker's ACL allows a screen.
    const o = mqttOptions(config);
    expect(o).toMatchObject({ username: 'screen.west-lake.pa-1', password: 'token-123', clientId: 'stile-screen-west-lake-pa-1', clean: false, resubscribe: false });
    expect(clientIdOf(config)).toBe('stile-screen-west-lake-pa-1');
    // The red clip replaces the text; other levels speak both languages, Mandarin first.
    expect(planFor(config, 'red', { zh: '满', en: 'full' })).toEqual([{ kind: 'clip', file: config.clips.red }]);
    expect(planFor(config, 'yellow', { zh: '多', en: 'busy' })).toEqual([
      { kind: 'tts', lang: 'zh', voice: 'cmn', text: '多' },
      { kind: 'tts', lang: 'en', voice: 'en', text: 'busy' },
    ]);
    // The text goes on stdin: never parsed as an option or as SSML.
    expect(espeakArgv(config, 'cmn', '/tmp/x.wav')).toEqual(['espeak-ng', '-v', 'cmn', '-s', '150', '-a', '100', '-b', '1', '-w', '/tmp/x.wav', '--stdin']);
  });

  it('chooses a player: the configured command, aplay or paplay for WAV, mpg123 for MP3, or names the package', () => {
    const cfg = { player: {} };
    expect(playerArgv({ player: { command: ['aplay', '-D', 'plughw:1,0', '{file}'] } }, '/a.wav')).toEqual(['aplay', '-D', 'plughw:1,0', '/a.wav']);
    expect(playerArgv(cfg, '/a.wav', (p) => (p === 'aplay' ? '/usr/bin/aplay' : null))).toEqual(['aplay', '-q', '/a.wav']);
    expect(playerArgv(cfg, '/a.wav', (p) => (p === 'paplay' ? '/usr/bin/paplay' : null))).toEqual(['paplay', '/a.wav']);
    expect(playerArgv(cfg, '/a.mp3', () => '/usr/bin/mpg123')).toEqual(['mpg123', '-q', '/a.mp3']);
    expect(() => playerArgv(cfg, '/a.wav', () => null)).toThrow(/aplay not found.*apt-get install alsa-utils/);
    expect(() => playerArgv(cfg, '/a.mp3', () => null)).toThrow(/mpg123 not found.*apt-get install mpg123/);
  });

  it('the example in examples/announcer.yaml is valid once its key and token are filled in', () => {
    const example = readFileSync(fileURLToPath(new URL('../examples/announcer.yaml', import.meta.url)), 'utf8');
    const file = write(example.replace('REPLACE-WITH-THE-SITE-CONTROL-PUBLIC-KEY', key).replace('/etc/stile/announcer.pw', 'announcer.pw'));
    writeFileSync(join(file, '..', 'announcer.pw'), 'token\n');
    const { config } = loadAnnouncerConfig(file);
    expect(config).toMatchObject({ site: { id: 'west-lake' }, device: { id: 'pa-1' }, repeat: { intervalSec: 300 }, player: {} });
  });
});
