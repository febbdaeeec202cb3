import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import { stringify } from 'yaml';
import { connectAsync, type MqttClient } from 'mqtt';
import { generateSigningKeyPair, loadSigningKey, localClock, signControl, topics, type SigningKey } from '@stile/config';
import { which } from '../src/speech.js';
import { encodeWav, wavStats, type WavStats } from '../src/wav.js';

/**
 * A PATH without some programs: a folder of links to everything on `path` except `names`
 * (the first of a name on PATH wins, as for the shell). One folder per `names` and `path`,
 * kept in the temp folder and reused (test processes are killed without exit handlers).
 */
export function pathWithout(names: readonly string[], path = process.env.PATH ?? ''): string {
  const dir = join(tmpdir(), `stile-path-${createHash('sha256').update(JSON.stringify([names, path])).digest('hex').slice(0, 16)}`);
  if (existsSync(dir)) return dir;
  const tmp = mkdtempSync(`${dir}.tmp-`);
  const seen = new Set(names);
  for (const d of path.split(delimiter)) {
    if (!d || !isAbsolute(d)) continue;
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (seen.has(name)) continue;
      seen.add(name);
      symlinkSync(join(d, name), join(tmp, name));
    }
  }
  try {
    renameSync(tmp, dir); // atomic: a test process running at the same time made the same folder, or this one
  } catch {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

// STILE_TEST_WITHOUT="espeak-ng sox" runs these tests as on a machine without those programs:
// every test process (and all it spawns) gets a PATH without them. The tests pass either way:
// speech comes from the Emscripten build, and WAV files are measured by src/wav.ts instead of sox.
const WITHOUT = (process.env.STILE_TEST_WITHOUT ?? '').split(/[\s,]+/).filter(Boolean);
if (WITHOUT.length) process.env.PATH = pathWithout(WITHOUT);

/** sox is on PATH: WAV files are measured with it (else with src/wav.ts). */
export const HAS_SOX = which('sox') !== null;
/** espeak-ng is on PATH: `speech.engine: auto` uses it (else the Emscripten build). */
export const HAS_ESPEAK = which('espeak-ng') !== null;

export const BROKER = process.env.STILE_TEST_MQTT ?? 'mqtt://127.0.0.1:1883';
export const PLAYER = fileURLToPath(new URL('./fixtures/capture-player.mjs', import.meta.url));
export const BIN = fileURLToPath(new URL('../bin/stile-announcer.js', import.meta.url));

let counter = 0;
/** A site id no other test run uses, so retained messages and sessions never collide. */
export function uniqueSiteId(): string {
  return `ann-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}

export async function waitFor(cond: () => boolean, what = 'condition', timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface TestKeys {
  key: SigningKey;
  publicKey: string;
}

export function controlKey(keyId = 'ctl-1'): TestKeys {
  const pair = generateSigningKeyPair(keyId);
  return { key: loadSigningKey(keyId, pair.privateKeyPem), publicKey: pair.publicKey };
}

export type LevelName = 'green' | 'yellow' | 'orange' | 'red';

export const TEXT: Record<LevelName, { zh: string; en: string }> = {
  green: { zh: '今日入园人数正常，欢迎游览。', en: 'Visitor numbers are normal today. Welcome!' },
  yellow: { zh: '今日游客较多，已达最大承载量的 72%，即将满员，请合理安排游览。', en: 'The park is almost full today (72% of capacity). Please plan your visit.' },
  orange: { zh: '今日游客已达最大承载量的 86%，线上售票已暂停，现场窗口限量售票。', en: 'The park is nearly full (86% of capacity). Online sales are paused.' },
  red: { zh: '今日游客已满，已停止售票；持今日门票的游客仍可凭票入园。', en: 'The park is full for today: ticket sales have stopped.' },
};

/** A signed announcement as the cloud's capacity monitor publishes it. */
export function announce(site: string, level: LevelName, key: SigningKey, opts: { at?: Date; text?: { zh: string; en: string } } = {}): Record<string, unknown> {
  return signControl({ v: 1, site, level, text: opts.text ?? TEXT[level], at: (opts.at ?? new Date()).toISOString() }, key);
}

/** A signed retained capacity message. */
export function capacity(site: string, level: LevelName, key: SigningKey, opts: { at?: Date; date?: string } = {}): Record<string, unknown> {
  const at = opts.at ?? new Date();
  const percent = { green: 40, yellow: 72, orange: 86, red: 100 }[level];
  return signControl(
    { v: 1, site, date: opts.date ?? localClock('Asia/Shanghai', at.getTime()).date, level, load: percent * 10, capacity: 1000, percent, at: at.toISOString() },
    key,
  );
}

export async function publisher(): Promise<MqttClient> {
  return connectAsync(BROKER, { protocolVersion: 5, clientId: `ann-test-pub-${process.pid}-${++counter}`, reconnectPeriod: 0 });
}

export async function publish(c: MqttClient, site: string, kind: 'announce' | 'capacity', msg: unknown, retain = false): Promise<void> {
  await c.publishAsync(kind === 'announce' ? topics.announce(site) : topics.capacity(site), typeof msg === 'string' ? msg : JSON.stringify(msg), { qos: 1, retain });
}

/** A pino logger whose lines land in `lines`. */
export function captureLog(level = 'debug'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

export function tempDir(prefix = 'stile-ann-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An announcer.yaml in `dir` whose player keeps a copy of everything it plays in `dir/capture`. */
export function writeConfig(dir: string, site: string, keys: { id: string; publicKey: string }[], extra: Record<string, unknown> = {}, playMs = 50): { file: string; capture: string } {
  const capture = join(dir, 'capture');
  mkdirSync(capture, { recursive: true });
  const cfg = {
    version: 1,
    site: { id: site, timezone: 'Asia/Shanghai' },
    device: { id: 'pa-1' },
    mqtt: { url: BROKER, clientId: `stile-screen-${site}-pa-1`, reconnectMinMs: 100, reconnectMaxMs: 500 },
    keys: { control: keys },
    player: { command: [process.execPath, PLAYER, '{file}', capture, String(playMs)] },
    ...extra,
  };
  const file = join(dir, 'announcer.yaml');
  writeFileSync(file, stringify(cfg));
  return { file, capture };
}

export interface PlayEvent {
  event: 'start' | 'end' | 'killed';
  pid: number;
  file: string;
  copy?: string;
  t: number;
}

export function playEvents(capture: string): PlayEvent[] {
  const f = join(capture, 'events.ndjson');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PlayEvent);
}

export function capturedFiles(capture: string): string[] {
  return readdirSync(capture).filter((f) => f !== 'events.ndjson');
}

/** `sox FILE -n stat`: the numbers it prints on stderr (maxAmplitude: the larger of its maximum and -minimum). */
export function soxStat(file: string): WavStats {
  const r = spawnSync('sox', [file, '-n', 'stat'], { encoding: 'utf8' });
  if (r.error) throw new Error(`sox: ${r.error.message} (apt-get install sox)`);
  const num = (label: string) => {
    const m = new RegExp(`^${label}:\\s+(-?[\\d.]+)`, 'm').exec(r.stderr);
    if (!m) throw new Error(`sox stat: no "${label}" in ${r.stderr}`);
    return Number(m[1]);
  };
  return { lengthSec: num('Length \\(seconds\\)'), rms: num('RMS\\s+amplitude'), maxAmplitude: Math.max(num('Maximum amplitude'), -num('Minimum amplitude')) };
}

/** What the PA would have played, measured: with sox where it is installed, else with the WAV reader of src/wav.ts (the same numbers; wav.test.ts checks they agree). */
export function measureWav(file: string): WavStats & { by: 'sox' | 'js' } {
  return HAS_SOX ? { ...soxStat(file), by: 'sox' } : { ...wavStats(readFileSync(file)), by: 'js' };
}

/** A mono 16-bit sine `seconds` long at `amplitude` (0–1), as `sox -n -r RATE -b 16 FILE synth SECONDS sine FREQ vol AMPLITUDE` makes it. */
export function sine(seconds: number, freq = 660, amplitude = 0.5, sampleRate = 22050): Int16Array {
  const out = new Int16Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * freq * i) / sampleRate));
  return out;
}

/** A tone clip (a recorded announcement stands in): a WAV file of `sine(seconds, freq)`. */
export function toneClip(file: string, seconds: number, freq = 660): void {
  writeFileSync(file, encodeWav(sine(seconds, freq), 22050));
}

/** No two plays overlap: every start comes after the previous play's end or kill. */
export function overlaps(events: PlayEvent[]): number {
  let open = 0;
  let worst = 0;
  for (const e of [...events].sort((a, b) => a.t - b.t || (a.event === 'start' ? 1 : -1))) {
    open += e.event === 'start' ? 1 : -1;
    worst = Math.max(worst, open);
  }
  return worst;
}
