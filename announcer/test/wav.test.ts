import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnouncerConfigSchema } from '../src/config.js';
import { CommandSpeaker } from '../src/speech.js';
import { WavError, encodeWav, readWav, wavStats } from '../src/wav.js';
import { HAS_SOX, PLAYER, TEXT, controlKey, playEvents, sine, soxStat, tempDir, toneClip } from './helpers.js';

// The WAV reader the tests measure speech with where sox is missing: generated files with
// known numbers, then (where sox is installed) the same files measured by both.

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Spec {
  code?: number; // 1 PCM, 3 float, 0xfffe extensible
  sub?: number; // the extensible sub-format
  bits: number;
  channels?: number;
  rate?: number;
  /** Interleaved samples in [-1, 1]. */
  samples: number[];
  /** Chunks before `data` (id, body). */
  before?: [string, Buffer][];
  /** Override the data chunk's size field. */
  dataSize?: number;
  /** Bytes after the data. */
  tail?: Buffer;
}

/** A WAV file written by hand, byte by byte, independent of src/wav.ts. */
function wavBytes(s: Spec): Buffer {
  const channels = s.channels ?? 1;
  const rate = s.rate ?? 8000;
  const bytes = s.bits / 8;
  const float = (s.code ?? 1) === 3 || s.sub === 3;
  const data = Buffer.alloc(s.samples.length * bytes);
  s.samples.forEach((v, i) => {
    const p = i * bytes;
    if (float) {
      if (bytes === 4) data.writeFloatLE(v, p);
      else data.writeDoubleLE(v, p);
    } else if (bytes === 1) data[p] = Math.round(v * 128) + 128;
    else if (bytes === 2) data.writeInt16LE(Math.round(v * 32767), p);
    else if (bytes === 3) data.writeIntLE(Math.round(v * 8388607), p, 3);
    else data.writeInt32LE(Math.round(v * 2147483647), p);
  });
  const ext = s.code === 0xfffe;
  const fmt = Buffer.alloc(ext ? 40 : 16);
  fmt.writeUInt16LE(s.code ?? 1, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * channels * bytes, 8);
  fmt.writeUInt16LE(channels * bytes, 12);
  fmt.writeUInt16LE(s.bits, 14);
  if (ext) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(s.bits, 18);
    fmt.writeUInt16LE(s.sub ?? 1, 24); // GUID 0000000X-0000-0010-8000-00aa00389b71
    Buffer.from('000000001000800000aa00389b71', 'hex').copy(fmt, 26);
  }
  const chunk = (id: string, body: Buffer, size = body.length) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'latin1');
    head.writeUInt32LE(size, 4);
    return Buffer.concat([head, body, body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const body = Buffer.concat([Buffer.from('WAVE', 'latin1'), chunk('fmt ', fmt), ...(s.before ?? []).map(([id, b]) => chunk(id, b)), chunk('data', data, s.dataSize), s.tail ?? Buffer.alloc(0)]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** `seconds` of a sine at `amp`, `freq` Hz (whole periods: its RMS is amp/√2). */
function tone(seconds: number, amp: number, freq = 1000, rate = 8000): number[] {
  return Array.from({ length: seconds * rate }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));
}

describe('readWav / wavStats on generated files', () => {
  it('16-bit PCM: length, RMS (amp/√2 for a sine) and peak', () => {
    const s = wavStats(wavBytes({ bits: 16, samples: tone(1, 0.5) }));
    expect(s.lengthSec).toBe(1);
    expect(s.rms).toBeCloseTo(0.5 / Math.SQRT2, 4);
    expect(s.maxAmplitude).toBeCloseTo(0.5, 4);
  });

  it.each([
    ['8-bit unsigned PCM', { bits: 8 }, 2],
    ['24-bit PCM', { bits: 24 }, 5],
    ['32-bit PCM', { bits: 32 }, 5],
    ['32-bit float', { code: 3, bits: 32 }, 6],
    ['64-bit float', { code: 3, bits: 64 }, 9],
    ['extensible, 16-bit PCM', { code: 0xfffe, sub: 1, bits: 16 }, 4],
    ['extensible, 32-bit float', { code: 0xfffe, sub: 3, bits: 32 }, 6],
  ] as [string, Omit<Spec, 'samples'>, number][])('%s', (_name, spec, digits) => {
    const wav = readWav(wavBytes({ ...spec, samples: tone(0.5, 0.8, 500) }));
    expect(wav.encoding).toBe(spec.code === 3 || spec.sub === 3 ? 'float' : 'pcm');
    expect(wav.bitsPerSample).toBe(spec.bits);
    expect(wav.frames).toBe(4000);
    const s = wavStats(wavBytes({ ...spec, samples: tone(0.5, 0.8, 500) }));
    expect(s.lengthSec).toBe(0.5);
    expect(s.rms).toBeCloseTo(0.8 / Math.SQRT2, digits);
    expect(s.maxAmplitude).toBeCloseTo(0.8, digits);
  });

  it('stereo: frames count both channels once, RMS is over every sample', () => {
    const left = tone(1, 0.25);
    const samples = left.flatMap((l) => [l, -0.5]);
    const wav = readWav(wavBytes({ code: 3, bits: 32, channels: 2, samples }));
    expect(wav).toMatchObject({ channels: 2, frames: 8000, sampleRate: 8000 });
    const s = wavStats(wavBytes({ code: 3, bits: 32, channels: 2, samples }));
    expect(s.lengthSec).toBe(1);
    expect(s.rms).toBeCloseTo(Math.sqrt((0.25 ** 2 / 2 + 0.25) / 2), 6);
    expect(s.maxAmplitude).toBeCloseTo(0.5, 6);
  });

  it('silence measures 0; an empty data chunk is 0 s long', () => {
    expect(wavStats(wavBytes({ bits: 16, samples: new Array(800).fill(0) }))).toEqual({ lengthSec: 0.1, rms: 0, maxAmplitude: 0 });
    expect(wavStats(wavBytes({ bits: 16, samples: [] }))).toEqual({ lengthSec: 0, rms: 0, maxAmplitude: 0 });
  });

  it('skips other chunks, odd-sized ones padded', () => {
    const s = wavStats(wavBytes({ bits: 16, samples: tone(1, 0.5), before: [['LIST', Buffer.from('INFOISFT\x05\0\0\0odd!\0', 'latin1')], ['fact', Buffer.from([1, 2, 3])]] }));
    expect(s.lengthSec).toBe(1);
    expect(s.rms).toBeCloseTo(0.5 / Math.SQRT2, 4);
  });

  it('a data size past the end of the file (a WAV written to a pipe) is read to the last whole frame', () => {
    const wav = readWav(wavBytes({ bits: 16, channels: 2, samples: tone(0.1, 0.5).flatMap((v) => [v, v]), dataSize: 0xffffffff, tail: Buffer.from([1, 2, 3]) }));
    // 800 frames of 4 bytes, then 3 stray bytes: not a whole frame.
    expect(wav.frames).toBe(800);
  });

  it('names what is wrong with a file it cannot read', () => {
    expect(() => readWav(Buffer.from('ID3\x04 an mp3, not a wav'))).toThrow(WavError);
    expect(() => readWav(Buffer.from('ID3\x04 an mp3, not a wav'))).toThrow(/not a WAV file/);
    const noData = wavBytes({ bits: 16, samples: [] }).subarray(0, 36);
    noData.writeUInt32LE(28, 4);
    expect(() => readWav(noData)).toThrow(/no data chunk/);
    const adpcm = wavBytes({ code: 2, bits: 16, samples: [0] });
    expect(() => readWav(adpcm)).toThrow(/unsupported WAV format 2 with 16 bits/);
    const badAlign = wavBytes({ bits: 16, samples: [0] });
    badAlign.writeUInt16LE(3, 32);
    expect(() => readWav(badAlign)).toThrow(/block align 3/);
    const dataFirst = Buffer.concat([Buffer.from('RIFF\x10\0\0\0WAVEdata\x02\0\0\0\0\0', 'latin1')]);
    expect(() => readWav(dataFirst)).toThrow(/data chunk before the fmt chunk/);
  });

  it('encodeWav writes mono 16-bit PCM that reads back sample for sample', () => {
    const samples = sine(0.25, 440, 0.5, 16000);
    const wav = readWav(encodeWav(samples, 16000));
    expect(wav).toMatchObject({ encoding: 'pcm', sampleRate: 16000, channels: 1, bitsPerSample: 16, frames: samples.length });
    expect(Array.from(wav.samples, (v) => Math.round(v * 32768))).toEqual(Array.from(samples));
  });
});

describe.skipIf(!HAS_SOX)('the same files measured by sox and by src/wav.ts', () => {
  const dir = tempDir();
  dirs.push(dir);
  const sox = (...args: string[]) => {
    const r = spawnSync('sox', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sox ${args.join(' ')}: ${r.stderr}`);
  };
  const agree = (file: string) => {
    const a = soxStat(file);
    const b = wavStats(readFileSync(file));
    // sox prints six decimals.
    expect(Math.abs(a.lengthSec - b.lengthSec)).toBeLessThan(2e-6);
    expect(Math.abs(a.rms - b.rms)).toBeLessThan(2e-6);
    expect(Math.abs(a.maxAmplitude - b.maxAmplitude)).toBeLessThan(2e-6);
    return { sox: a, js: b };
  };

  it('a tone clip, and sox\'s own files in 8, 16, 24 and 32-bit PCM and float, stereo', () => {
    const clip = join(dir, 'tone.wav');
    toneClip(clip, 1.5);
    expect(agree(clip).js.rms).toBeCloseTo(0.5 / Math.SQRT2, 3);
    for (const [name, opts] of [
      ['u8', ['-e', 'unsigned-integer', '-b', '8']],
      ['s16', ['-e', 'signed-integer', '-b', '16']],
      ['s24', ['-e', 'signed-integer', '-b', '24']],
      ['s32', ['-e', 'signed-integer', '-b', '32']],
      ['f32', ['-e', 'floating-point', '-b', '32']],
      ['f64', ['-e', 'floating-point', '-b', '64']],
    ] as const) {
      const f = join(dir, `${name}.wav`);
      sox('-n', '-r', '16000', '-c', '2', ...opts, f, 'synth', '0.7', 'sine', '300', 'sine', '1200', 'vol', '0.6');
      agree(f);
    }
  });

  it('speech from each engine', async () => {
    const capture = tempDir();
    dirs.push(capture);
    for (const engine of ['wasm', 'auto'] as const) {
      const cfg = AnnouncerConfigSchema.parse({
        version: 1,
        site: { id: 'park' },
        device: { id: 'pa-1' },
        mqtt: { url: 'mqtt://127.0.0.1:1883' },
        keys: { control: [{ id: 'k', publicKey: controlKey('k').publicKey }] },
        speech: { engine, gapMs: 0 },
        player: { command: [process.execPath, PLAYER, '{file}', capture, '0'] },
      });
      const speaker = new CommandSpeaker(cfg);
      try {
        await speaker.say(
          [
            { kind: 'tts', lang: 'zh', voice: 'cmn', text: TEXT.orange.zh },
            { kind: 'tts', lang: 'en', voice: 'en', text: TEXT.orange.en },
          ],
          new AbortController().signal,
        );
      } finally {
        speaker.close();
      }
    }
    const files = playEvents(capture).filter((e) => e.event === 'start');
    expect(files).toHaveLength(4);
    for (const f of files) {
      const { js } = agree(f.copy!);
      expect(js.lengthSec).toBeGreaterThan(1);
      // And converted by sox to float and to 8-bit, the reader still agrees with it.
      for (const [name, opts] of [
        ['f32', ['-e', 'floating-point', '-b', '32']],
        ['u8', ['-e', 'unsigned-integer', '-b', '8']],
      ] as const) {
        const out = `${f.copy!}.${name}.wav`;
        sox(f.copy!, ...opts, out);
        agree(out);
      }
    }
  });
});
