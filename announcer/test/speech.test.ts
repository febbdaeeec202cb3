import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnouncerConfigSchema, type AnnouncerConfig } from '../src/config.js';
import { AbortedError, CommandSpeaker, chooseEngine, type Utterance } from '../src/speech.js';
import { HAS_ESPEAK, PLAYER, TEXT, controlKey, measureWav, playEvents, tempDir } from './helpers.js';

// The speech engines without a broker: the system espeak-ng and its Emscripten build, each rendering
// through the real CommandSpeaker to the capture player.

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const publicKey = controlKey('k').publicKey;

function config(speech: Record<string, unknown>, player?: string[]): { cfg: AnnouncerConfig; capture: string } {
  const capture = tempDir();
  dirs.push(capture);
  const cfg = AnnouncerConfigSchema.parse({
    version: 1,
    site: { id: 'park' },
    device: { id: 'pa-1' },
    mqtt: { url: 'mqtt://127.0.0.1:1883' },
    keys: { control: [{ id: 'k', publicKey }] },
    speech: { gapMs: 0, ...speech },
    player: { command: player ?? [process.execPath, PLAYER, '{file}', capture, '0'] },
  });
  return { cfg, capture };
}

const red: Utterance[] = [
  { kind: 'tts', lang: 'zh', voice: 'cmn', text: TEXT.red.zh },
  { kind: 'tts', lang: 'en', voice: 'en', text: TEXT.red.en },
];

describe('choosing the engine', () => {
  const cfg = (engine: string, espeak = 'espeak-ng') => config({ engine, espeak }).cfg;
  it('auto: espeak-ng when it is installed, else the Emscripten build, saying why', () => {
    expect(chooseEngine(cfg('auto'), () => '/usr/bin/espeak-ng')).toEqual({ engine: 'espeak-ng', reason: 'auto: /usr/bin/espeak-ng is installed', program: '/usr/bin/espeak-ng' });
    expect(chooseEngine(cfg('auto'), () => null)).toEqual({ engine: 'wasm', reason: 'auto: espeak-ng is not on PATH, so the Emscripten build (@echogarden/espeak-ng-emscripten)' });
    expect(chooseEngine(cfg('auto', '/opt/espeak-ng'), () => null).reason).toBe('auto: /opt/espeak-ng is not there, so the Emscripten build (@echogarden/espeak-ng-emscripten)');
  });
  it('an explicit engine is used whatever is installed', () => {
    expect(chooseEngine(cfg('wasm'), () => '/usr/bin/espeak-ng')).toEqual({ engine: 'wasm', reason: 'speech.engine: wasm' });
    expect(chooseEngine(cfg('espeak-ng'), () => null)).toEqual({ engine: 'espeak-ng', reason: 'speech.engine: espeak-ng' });
  });
});

describe('the Emscripten build', () => {
  it('renders Mandarin and English to WAV files the player is handed', async () => {
    const { cfg, capture } = config({ engine: 'wasm' });
    const speaker = new CommandSpeaker(cfg);
    try {
      expect(await speaker.check()).toBeNull();
      await speaker.say(red, new AbortController().signal);
    } finally {
      speaker.close();
    }
    const plays = playEvents(capture).filter((e) => e.event === 'start');
    expect(plays.map((p) => p.file.split('-').pop())).toEqual(['zh.wav', 'en.wav']);
    for (const p of plays) {
      const head = readFileSync(p.copy!).subarray(0, 12).toString('latin1');
      expect(head).toMatch(/^RIFF....WAVE$/s);
      const s = measureWav(p.copy!);
      expect(s.lengthSec).toBeGreaterThan(1);
      expect(s.rms).toBeGreaterThan(0.01);
    }
  });

  it('finds a voice by name or by language, as the espeak-ng program does (en-gb, zh)', async () => {
    const { cfg } = config({ engine: 'wasm', voices: { zh: 'zh', en: 'en-gb' } });
    const speaker = new CommandSpeaker(cfg);
    try {
      expect(await speaker.check()).toBeNull();
    } finally {
      speaker.close();
    }
  });

  it('an unknown voice is named, as with espeak-ng', async () => {
    const { cfg } = config({ engine: 'wasm', voices: { zh: 'cmn', en: 'nosuch' } });
    const speaker = new CommandSpeaker(cfg);
    try {
      expect((await speaker.check())?.message).toMatch(/voice "nosuch" for en .*voice does not exist/);
      await expect(speaker.say([{ kind: 'tts', lang: 'en', voice: 'nosuch', text: 'hello' }], new AbortController().signal)).rejects.toThrow(/voice "nosuch" does not exist/);
    } finally {
      speaker.close();
    }
  });

  it('an abort stops a render at once (the worker is terminated); the next render works', async () => {
    const { cfg, capture } = config({ engine: 'wasm' });
    const speaker = new CommandSpeaker(cfg);
    try {
      await speaker.check(); // loaded
      const long: Utterance[] = [{ kind: 'tts', lang: 'zh', voice: 'cmn', text: TEXT.red.zh.repeat(40) }];
      const ac = new AbortController();
      const saying = speaker.say(long, ac.signal);
      setTimeout(() => ac.abort(), 50);
      const t0 = Date.now();
      await expect(saying).rejects.toBeInstanceOf(AbortedError);
      console.log(`Emscripten-build render aborted ${Date.now() - t0} ms after it started`);
      expect(playEvents(capture)).toHaveLength(0); // nothing reached the player
      await speaker.say(red.slice(1), new AbortController().signal);
      expect(playEvents(capture).filter((e) => e.event === 'start')).toHaveLength(1);
    } finally {
      speaker.close();
    }
  });

  it('reads the text as text: SSML markup is not interpreted', async () => {
    const { cfg, capture } = config({ engine: 'wasm' });
    const speaker = new CommandSpeaker(cfg);
    try {
      // As SSML, <break time="5s"/> would add five seconds of silence; as text it is a few words.
      await speaker.say([{ kind: 'tts', lang: 'en', voice: 'en', text: 'Gate <break time="5s"/> one' }], new AbortController().signal);
    } finally {
      speaker.close();
    }
    const s = measureWav(playEvents(capture).find((e) => e.event === 'start')!.copy!);
    expect(s.lengthSec).toBeLessThan(5);
  });
});

describe('the Mandarin check of the system espeak-ng', () => {
  /** A stand-in espeak-ng printing `phonemes` for -x (the real one's output for "你好"). */
  function fakeEspeak(phonemes: string): string {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir, 'espeak-ng');
    writeFileSync(file, `#!/bin/sh\ncase "$*" in *--version*) echo "eSpeak NG text-to-speech: 1.51  Data at: /x";; *) cat >/dev/null; echo "${phonemes}";; esac\n`);
    chmodSync(file, 0o755);
    return file;
  }

  it('warns when espeak-ng reads Chinese characters as English pinyin (espeak-ng 1.51, Debian 12)', async () => {
    const espeak = fakeEspeak("(en)nI55Tr'i:55_| h,eI55@55Tr'i:55(cmn)_|");
    const w = await new CommandSpeaker(config({ engine: 'espeak-ng', espeak }).cfg).mandarinWarning();
    expect(w).toMatch(/espeak-ng 1\.51 reads Mandarin wrongly .*set speech\.engine: wasm$/);
  });

  it('auto: Mandarin goes to the Emscripten build when the system espeak-ng reads it wrongly', async () => {
    const espeak = fakeEspeak("(en)nI55Tr'i:55_| h,eI55@55Tr'i:55(cmn)_|");
    const calls = `${espeak}.calls`;
    writeFileSync(espeak, readFileSync(espeak, 'utf8').replace('#!/bin/sh\n', `#!/bin/sh\necho "$*" >> ${calls}\n`));
    const { cfg, capture } = config({ engine: 'auto', espeak, languages: ['zh'] });
    const speaker = new CommandSpeaker(cfg);
    try {
      expect(await speaker.mandarinWarning()).toBeNull(); // auto handles it: nothing for the technician to do
      await speaker.say([{ kind: 'tts', lang: 'zh', voice: cfg.speech.voices.zh, text: TEXT.red.zh }], new AbortController().signal);
    } finally {
      speaker.close();
    }
    const rendered = readFileSync(calls, 'utf8');
    expect(rendered).toContain('-x'); // asked once how it reads Mandarin…
    expect(rendered).not.toContain('-w'); // …and never asked to render it
    const played = playEvents(capture).filter((e) => e.event === 'start');
    expect(played).toHaveLength(1);
    expect(measureWav(played[0]!.copy!).lengthSec).toBeGreaterThan(1);
  });

  it('is quiet when it reads Mandarin, when zh is not spoken, and with the Emscripten build', async () => {
    const good = fakeEspeak("n'i214_| x'Au214_|");
    expect(await new CommandSpeaker(config({ engine: 'espeak-ng', espeak: good }).cfg).mandarinWarning()).toBeNull();
    const bad = fakeEspeak("(en)nI55Tr'i:55(cmn)_|");
    expect(await new CommandSpeaker(config({ engine: 'espeak-ng', espeak: bad, languages: ['en'] }).cfg).mandarinWarning()).toBeNull();
    expect(await new CommandSpeaker(config({ engine: 'wasm', espeak: bad }).cfg).mandarinWarning()).toBeNull();
  });
});

describe('render time of each engine', () => {
  // Numbers printed, not asserted: the red announcement (zh + en) rendered three times each,
  // handed to `true` as the player (so the time is the rendering's).
  it('prints how long each engine takes', async () => {
    const lines: string[] = [];
    for (const engine of HAS_ESPEAK ? (['espeak-ng', 'wasm'] as const) : (['wasm'] as const)) {
      const { cfg } = config({ engine }, ['true', '{file}']);
      const speaker = new CommandSpeaker(cfg);
      try {
        const t0 = performance.now();
        if (engine === 'wasm') await speaker.check();
        const load = performance.now() - t0;
        const runs: string[] = [];
        for (let i = 0; i < 3; i++) {
          for (const u of red) {
            const t = performance.now();
            await speaker.say([u], new AbortController().signal);
            runs.push(`${(u as { lang: string }).lang} ${Math.round(performance.now() - t)}`);
          }
        }
        lines.push(`${engine}: ${engine === 'wasm' ? `load ${Math.round(load)} ms, ` : ''}render ms ${runs.join(', ')}`);
      } finally {
        speaker.close();
      }
    }
    console.log(`render time (red announcement, 3 rounds):\n  ${lines.join('\n  ')}`);
  });
});
