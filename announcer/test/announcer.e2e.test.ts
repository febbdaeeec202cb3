import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { signControl } from '@stile/config';
import { loadAnnouncerConfig } from '../src/config.js';
import { startAnnouncer, type AnnouncerDaemon } from '../src/daemon.js';
import { CommandSpeaker, type CommandSpeakerOptions, type EngineChoice } from '../src/speech.js';
import {
  TEXT,
  announce,
  captureLog,
  capacity,
  capturedFiles,
  controlKey,
  overlaps,
  playEvents,
  publish,
  publisher,
  measureWav,
  sleep,
  tempDir,
  toneClip,
  HAS_ESPEAK,
  uniqueSiteId,
  waitFor,
  writeConfig,
  type TestKeys,
} from './helpers.js';

// The announcer against the real Mosquitto on 127.0.0.1:1883, each test under its own site
// id. Speech is really synthesised (espeak-ng -w, or its Emscripten build) and handed to the
// configured player; the player here keeps a copy of each file, which is what the PA would
// have played, and sox (or src/wav.ts where sox is missing) measures it.

let pub: MqttClient;
const running: AnnouncerDaemon[] = [];
const dirs: string[] = [];
let keys: TestKeys;

beforeAll(async () => {
  pub = await publisher();
  keys = controlKey('ctl-1');
});
afterEach(async () => {
  while (running.length) await running.pop()!.stop();
});
afterAll(async () => {
  await pub.endAsync();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(extra: Record<string, unknown> = {}, playMs = 50, opts: CommandSpeakerOptions = {}) {
  const dir = tempDir();
  dirs.push(dir);
  const site = uniqueSiteId();
  const { file, capture } = writeConfig(dir, site, [{ id: 'ctl-1', publicKey: keys.publicKey }], extra, playMs);
  const loaded = loadAnnouncerConfig(file);
  const { log, lines } = captureLog();
  const engines: EngineChoice[] = [];
  const speaker = new CommandSpeaker(loaded.config, { onEngine: (c) => engines.push(c), ...opts });
  const daemon = startAnnouncer(loaded, log, speaker);
  running.push({ ...daemon, stop: () => daemon.stop().finally(() => speaker.close()) });
  await waitFor(() => daemon.status.subscribed, 'subscribed');
  const events = (name: string) => lines.filter((l) => l.event === name);
  return { dir, site, capture, daemon, lines, events, engines };
}

describe('a signed announcement', () => {
  for (const engine of ['auto', 'wasm'] as const) {
    it(`is spoken: Mandarin, then English, rendered (speech.engine ${engine}) and measured`, async () => {
      const a = await start({ speech: { engine } });
      await publish(pub, a.site, 'announce', announce(a.site, 'red', keys.key));
      await waitFor(() => a.events('spoken').length === 1, 'spoken');
      const plays = playEvents(a.capture).filter((e) => e.event === 'start');
      expect(plays.map((p) => p.file.replace(/.*\d-/, ''))).toEqual(['zh.wav', 'en.wav']);
      const stats = plays.map((p) => ({ part: p.file.replace(/.*\d-/, ''), ...measureWav(p.copy!) }));
      for (const s of stats) {
        expect(s.lengthSec).toBeGreaterThan(1);
        expect(s.rms).toBeGreaterThan(0.01); // silence is 0; espeak-ng speech measures ~0.09, its Emscripten build ~0.1
      }
      // The engine is chosen once, and said why.
      expect(a.engines).toHaveLength(1);
      expect(a.engines[0]!.engine).toBe(engine === 'wasm' || !HAS_ESPEAK ? 'wasm' : 'espeak-ng');
      console.log(
        `spoken red announcement (${a.engines[0]!.engine}: ${a.engines[0]!.reason}; measured by ${stats[0]!.by}): ${stats.map((s) => `${s.part} ${s.lengthSec.toFixed(2)} s, RMS ${s.rms.toFixed(5)}`).join('; ')}`,
      );
      expect(a.events('announcement')[0]).toMatchObject({ level: 'red', text: TEXT.red });
    });
  }

  it('is spoken in the configured order and voice', async () => {
    const a = await start({ speech: { languages: ['en'], voices: { en: 'en-gb' } }, repeat: { intervalSec: 0 } });
    await publish(pub, a.site, 'announce', announce(a.site, 'yellow', keys.key));
    await waitFor(() => a.events('spoken').length === 1, 'spoken');
    const plays = playEvents(a.capture).filter((e) => e.event === 'start');
    expect(plays).toHaveLength(1);
    expect(plays[0]!.file).toMatch(/en\.wav$/);
    expect(measureWav(plays[0]!.copy!).lengthSec).toBeGreaterThan(1);
  });
});

describe('what is never spoken', () => {
  it('a forged announcement (wrong key, unknown key, tampered text, unsigned, other site) produces no audio and a logged reason', async () => {
    const a = await start();
    const impostor = controlKey('ctl-1'); // same key id, another key
    const stranger = controlKey('evil');
    const tampered = { ...announce(a.site, 'red', keys.key), text: { zh: '今日闭园，请立即离开。', en: 'The park is closed. Leave now.' } };
    const { sig: _sig, ...unsigned } = announce(a.site, 'red', keys.key);
    const otherSite = signControl({ v: 1, site: 'another-park', level: 'red', text: TEXT.red, at: new Date().toISOString() }, keys.key);
    const cases: [unknown, string][] = [
      [announce(a.site, 'red', impostor.key), 'bad_signature'],
      [announce(a.site, 'red', stranger.key), 'unknown_key'],
      [tampered, 'bad_signature'],
      [unsigned, 'unsigned'],
      [otherSite, 'wrong_site'],
      ['not json at all', 'bad_json'],
      [{ v: 1, site: a.site, level: 'purple', text: TEXT.red, at: new Date().toISOString(), sig: 'ctl-1.AAAA' }, 'invalid'],
    ];
    for (const [msg] of cases) await publish(pub, a.site, 'announce', msg);
    await waitFor(() => a.events('announcement_refused').length === cases.length, 'every refusal logged');
    expect(a.events('announcement_refused').map((l) => l.reason)).toEqual(cases.map(([, r]) => r));
    for (const l of a.events('announcement_refused')) expect(typeof l.detail).toBe('string');
    await sleep(300);
    expect(a.events('speaking')).toHaveLength(0);
    expect(capturedFiles(a.capture)).toHaveLength(0);
  });

  it('a forged capacity neither stops nor starts anything', async () => {
    const a = await start({ repeat: { intervalSec: 1 } }, 50);
    await publish(pub, a.site, 'announce', announce(a.site, 'red', keys.key));
    await waitFor(() => a.events('spoken').length === 1, 'spoken');
    await publish(pub, a.site, 'capacity', capacity(a.site, 'green', controlKey('ctl-1').key));
    await waitFor(() => a.events('capacity_refused').length === 1, 'refused');
    expect(a.events('capacity_refused')[0]).toMatchObject({ reason: 'bad_signature' });
    expect(a.daemon.announcer.holding).toBe('red');
    await waitFor(() => a.events('spoken').length === 2, 'still repeating');
  });

  it('a replayed or old announcement is not spoken', async () => {
    const a = await start({ maxAgeMin: 5, repeat: { intervalSec: 0 } });
    const first = announce(a.site, 'orange', keys.key);
    await publish(pub, a.site, 'announce', first);
    await waitFor(() => a.events('spoken').length === 1, 'spoken');
    await publish(pub, a.site, 'announce', first); // the same signed message again
    await publish(pub, a.site, 'announce', announce(a.site, 'red', keys.key, { at: new Date(Date.now() - 60_000) })); // older than the last spoken
    await publish(pub, a.site, 'announce', announce(a.site, 'red', keys.key, { at: new Date(Date.now() - 6 * 60_000) })); // older than maxAgeMin
    await publish(pub, a.site, 'announce', announce(a.site, 'red', keys.key, { at: new Date(Date.now() + 60 * 60_000) })); // from the future
    await waitFor(() => a.events('announcement_refused').length === 4, 'refusals');
    expect(a.events('announcement_refused').map((l) => l.reason)).toEqual(['replayed', 'replayed', 'too_old', 'future']);
    await sleep(300);
    expect(a.events('speaking')).toHaveLength(1);
  });
});

describe('repeat', () => {
  it('repeats while the level holds and stops when it drops to green', async () => {
    const a = await start({ repeat: { intervalSec: 1 }, speech: { languages: ['en'] } }, 20);
    await publish(pub, a.site, 'capacity', capacity(a.site, 'orange', keys.key), true);
    await publish(pub, a.site, 'announce', announce(a.site, 'orange', keys.key));
    await waitFor(() => a.events('spoken').length >= 3, 'two repeats', 15_000);
    expect(a.events('speaking').map((l) => l.reason).slice(0, 3)).toEqual(['announce', 'repeat', 'repeat']);
    // Capacity updates at the same level keep it going.
    await publish(pub, a.site, 'capacity', capacity(a.site, 'orange', keys.key), true);
    await waitFor(() => a.events('spoken').length >= 4, 'another repeat', 5000);
    await publish(pub, a.site, 'capacity', capacity(a.site, 'green', keys.key), true);
    await waitFor(() => a.events('repeat_stopped').length === 1, 'stopped');
    expect(a.events('repeat_stopped')[0]).toMatchObject({ reason: 'green', level: 'orange' });
    const spoken = a.events('speaking').length;
    await sleep(2500);
    expect(a.events('speaking')).toHaveLength(spoken);
    expect(a.daemon.announcer.holding).toBeNull();
    expect(overlaps(playEvents(a.capture))).toBe(1);
    await publish(pub, a.site, 'capacity', '', true);
  });

  it('a change of level stops the repeat; the new level\'s announcement interrupts what is playing', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const long = join(dir, 'orange.wav');
    toneClip(long, 4);
    const a = await start({ repeat: { intervalSec: 1 }, clips: { orange: long } }, 4000);
    await publish(pub, a.site, 'announce', announce(a.site, 'orange', keys.key));
    await waitFor(() => playEvents(a.capture).some((e) => e.event === 'start'), 'orange clip playing');
    await sleep(300);
    // The park goes red while the orange clip plays: the capacity comes first, then the announcement.
    await publish(pub, a.site, 'capacity', capacity(a.site, 'red', keys.key), true);
    await publish(pub, a.site, 'announce', announce(a.site, 'red', keys.key));
    await waitFor(() => playEvents(a.capture).filter((e) => e.event === 'start').length === 2, 'red speech started');
    const ev = playEvents(a.capture);
    expect(ev.find((e) => e.event === 'killed')?.file).toBe(long);
    expect(ev.filter((e) => e.event === 'start').map((e) => e.file.split('/').pop())).toEqual(['orange.wav', '0-zh.wav']);
    expect(a.events('repeat_stopped')[0]).toMatchObject({ reason: 'level_changed', level: 'orange', to: 'red' });
    expect(a.events('interrupted').length).toBeGreaterThanOrEqual(1);
    expect(overlaps(ev)).toBe(1); // never two at once
    expect(a.daemon.announcer.holding).toBe('red');
    await publish(pub, a.site, 'capacity', '', true);
  });
});

describe('clips', () => {
  it('plays the level\'s recorded clip instead of the text, and repeats it', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const clip = join(dir, 'red.wav');
    toneClip(clip, 1.5);
    const a = await start({ clips: { red: clip }, repeat: { intervalSec: 1 } }, 20);
    await publish(pub, a.site, 'announce', announce(a.site, 'red', keys.key));
    await waitFor(() => a.events('spoken').length >= 2, 'clip and a repeat', 10_000);
    const plays = playEvents(a.capture).filter((e) => e.event === 'start');
    expect(plays.every((p) => p.file === clip)).toBe(true);
    expect(readFileSync(plays[0]!.copy!).equals(readFileSync(clip))).toBe(true);
    const s = measureWav(plays[0]!.copy!);
    expect(s.lengthSec).toBeGreaterThan(1);
    expect(s.rms).toBeGreaterThan(0.01);
    // Levels without a clip are still spoken.
    await publish(pub, a.site, 'announce', announce(a.site, 'green', keys.key));
    await waitFor(() => playEvents(a.capture).some((e) => e.event === 'start' && e.file.endsWith('zh.wav')), 'green spoken');
  });

  it('after a restart mid-level, resumes the clip from the retained capacity', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const clip = join(dir, 'red.wav');
    toneClip(clip, 0.5);
    const site = uniqueSiteId();
    await publish(pub, site, 'capacity', capacity(site, 'red', keys.key), true);
    const { file, capture } = writeConfig(dir, site, [{ id: 'ctl-1', publicKey: keys.publicKey }], { clips: { red: clip }, repeat: { intervalSec: 1 } }, 20);
    const loaded = loadAnnouncerConfig(file);
    const { log, lines } = captureLog();
    running.push(startAnnouncer(loaded, log, new CommandSpeaker(loaded.config)));
    await waitFor(() => lines.filter((l) => l.event === 'spoken').length >= 2, 'resumed and repeated', 10_000);
    expect(lines.find((l) => l.event === 'resume')).toMatchObject({ level: 'red' });
    expect(playEvents(capture).filter((e) => e.event === 'start').every((e) => e.file === clip)).toBe(true);
    await publish(pub, site, 'capacity', '', true); // clear the retained message
  });

  it('a live change of level waits for its announcement: the clip plays once, not twice', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const clip = join(dir, 'orange.wav');
    toneClip(clip, 0.3);
    const a = await start({ clips: { orange: clip }, repeat: { intervalSec: 60 } }, 20);
    await publish(pub, a.site, 'capacity', capacity(a.site, 'orange', keys.key), true);
    await waitFor(() => a.events('level').length === 1, 'level seen');
    await sleep(400);
    expect(playEvents(a.capture)).toHaveLength(0);
    await publish(pub, a.site, 'announce', announce(a.site, 'orange', keys.key));
    await waitFor(() => a.events('spoken').length === 1, 'spoken');
    await sleep(300);
    expect(playEvents(a.capture).filter((e) => e.event === 'start')).toHaveLength(1);
    await publish(pub, a.site, 'capacity', '', true);
  });
});

describe('faults', () => {
  it('without espeak-ng (speech.engine: espeak-ng) it logs the fix and keeps running; clips still play', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const clip = join(dir, 'red.wav');
    toneClip(clip, 0.3);
    const a = await start({ speech: { espeak: join(dir, 'no-such', 'espeak-ng'), engine: 'espeak-ng' }, clips: { red: clip }, repeat: { intervalSec: 0 } });
    await publish(pub, a.site, 'announce', announce(a.site, 'orange', keys.key));
    await waitFor(() => a.events('speech_failed').length === 1, 'speech failed');
    expect(a.events('speech_failed')[0]).toMatchObject({ level: 'orange', fix: 'apt-get install espeak-ng' });
    expect(String(a.events('speech_failed')[0]!.err)).toMatch(/espeak-ng not found.*apt-get install espeak-ng/);
    await publish(pub, a.site, 'announce', announce(a.site, 'red', keys.key, { at: new Date(Date.now() + 1) }));
    await waitFor(() => a.events('spoken').length === 1, 'red clip played');
    expect(a.daemon.status.connected).toBe(true);
  });

  it('without espeak-ng (speech.engine: auto) it speaks with the Emscripten build, and says so once', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const missing = join(dir, 'no-such', 'espeak-ng');
    const a = await start({ speech: { espeak: missing, languages: ['en'] }, repeat: { intervalSec: 1 } }, 20);
    await publish(pub, a.site, 'announce', announce(a.site, 'orange', keys.key));
    await waitFor(() => a.events('spoken').length >= 2, 'spoken and repeated', 15_000);
    expect(a.events('speech_failed')).toHaveLength(0);
    expect(a.engines).toEqual([{ engine: 'wasm', reason: `auto: ${missing} is not there, so the Emscripten build (@echogarden/espeak-ng-emscripten)` }]);
    const s = measureWav(playEvents(a.capture).find((e) => e.event === 'start')!.copy!);
    expect(s.lengthSec).toBeGreaterThan(1);
    expect(s.rms).toBeGreaterThan(0.01);
  });

  it('with neither espeak-ng nor the Emscripten build it logs one error naming both fixes and keeps running; clips still play', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const clip = join(dir, 'red.wav');
    toneClip(clip, 0.3);
    const a = await start({ speech: { espeak: join(dir, 'no-such', 'espeak-ng') }, clips: { red: clip }, repeat: { intervalSec: 0 } }, 50, { wasmPackage: '@stile/no-such-espeak-wasm' });
    await publish(pub, a.site, 'announce', announce(a.site, 'orange', keys.key));
    await waitFor(() => a.events('speech_failed').length === 1, 'speech failed');
    const failed = a.events('speech_failed')[0]!;
    expect(failed).toMatchObject({ level: 'orange', fix: 'apt-get install espeak-ng, or npm ci in the checkout (it installs @echogarden/espeak-ng-emscripten)' });
    expect(String(failed.err)).toMatch(/^no speech engine: espeak-ng not found .*and the Emscripten build did not load \(@stile\/no-such-espeak-wasm is not installed/);
    await publish(pub, a.site, 'announce', announce(a.site, 'red', keys.key, { at: new Date(Date.now() + 1) }));
    await waitFor(() => a.events('spoken').length === 1, 'red clip played');
    expect(a.daemon.status.connected).toBe(true);
  });
});
