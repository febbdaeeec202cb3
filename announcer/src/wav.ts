/**
 * WAV files, in plain TypeScript: written for the WASM speech engine (its samples come back
 * as 16-bit PCM) and read to measure what the PA would play — length, RMS and peak, the
 * numbers `sox FILE -n stat` prints — on a machine without sox.
 *
 * Read: RIFF/WAVE with a `fmt ` and a `data` chunk (others skipped, odd sizes padded),
 * integer PCM of 8 (unsigned), 16, 24 or 32 bits, IEEE float of 32 or 64 bits, plain or
 * WAVE_FORMAT_EXTENSIBLE. A `data` size larger than the file (a WAV written to a pipe, or
 * cut short) is read up to the last whole frame, as sox does.
 */

export interface WavFormat {
  encoding: 'pcm' | 'float';
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
}

export interface Wav extends WavFormat {
  /** Whole frames (one sample per channel) in the data chunk. */
  frames: number;
  /** Every sample, channels interleaved, scaled to [-1, 1) as sox scales them (16-bit: value / 32768). */
  samples: Float64Array;
}

export interface WavStats {
  /** frames / sampleRate (sox: "Length (seconds)"). */
  lengthSec: number;
  /** Root mean square over every sample of every channel (sox: "RMS amplitude"); silence is 0. */
  rms: number;
  /** The largest |sample| (sox: the larger of "Maximum amplitude" and -"Minimum amplitude"). */
  maxAmplitude: number;
}

export class WavError extends Error {
  override readonly name = 'WavError';
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

function tag(buf: Buffer, at: number): string {
  return buf.toString('latin1', at, at + 4);
}

/** Parse a WAV file's bytes. Throws WavError naming what is wrong. */
export function readWav(buf: Buffer): Wav {
  if (buf.length < 12 || tag(buf, 0) !== 'RIFF' || tag(buf, 8) !== 'WAVE') throw new WavError('not a WAV file (no RIFF/WAVE header)');
  let fmt: WavFormat | null = null;
  let blockAlign = 0;
  let at = 12;
  while (at + 8 <= buf.length) {
    const id = tag(buf, at);
    const size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new WavError(`fmt chunk too short (${size} bytes)`);
      let code = buf.readUInt16LE(body);
      const channels = buf.readUInt16LE(body + 2);
      const sampleRate = buf.readUInt32LE(body + 4);
      blockAlign = buf.readUInt16LE(body + 12);
      const bitsPerSample = buf.readUInt16LE(body + 14);
      if (code === WAVE_FORMAT_EXTENSIBLE) {
        if (size < 40 || body + 26 > buf.length) throw new WavError('WAVE_FORMAT_EXTENSIBLE fmt chunk too short');
        code = buf.readUInt16LE(body + 24); // the sub-format GUID starts with the format code
      }
      let encoding: WavFormat['encoding'];
      if (code === WAVE_FORMAT_PCM && [8, 16, 24, 32].includes(bitsPerSample)) encoding = 'pcm';
      else if (code === WAVE_FORMAT_IEEE_FLOAT && [32, 64].includes(bitsPerSample)) encoding = 'float';
      else throw new WavError(`unsupported WAV format ${code} with ${bitsPerSample} bits (PCM 8/16/24/32 or float 32/64 only)`);
      if (channels < 1) throw new WavError('no channels');
      if (sampleRate < 1) throw new WavError('sample rate 0');
      if (blockAlign !== channels * (bitsPerSample / 8)) throw new WavError(`block align ${blockAlign} does not match ${channels} × ${bitsPerSample} bits`);
      fmt = { encoding, sampleRate, channels, bitsPerSample };
    } else if (id === 'data') {
      if (!fmt) throw new WavError('data chunk before the fmt chunk');
      const end = Math.min(buf.length, body + size);
      const frames = Math.floor((end - body) / blockAlign);
      return { ...fmt, frames, samples: decode(buf, body, frames * fmt.channels, fmt) };
    }
    at = body + size + (size % 2); // chunks are padded to an even size
  }
  throw new WavError(fmt ? 'no data chunk' : 'no fmt chunk');
}

function decode(buf: Buffer, start: number, count: number, fmt: WavFormat): Float64Array {
  const out = new Float64Array(count);
  const bytes = fmt.bitsPerSample / 8;
  for (let i = 0, p = start; i < count; i++, p += bytes) {
    if (fmt.encoding === 'float') out[i] = bytes === 4 ? buf.readFloatLE(p) : buf.readDoubleLE(p);
    else if (bytes === 1) out[i] = (buf[p]! - 128) / 128;
    else if (bytes === 2) out[i] = buf.readInt16LE(p) / 32768;
    else if (bytes === 3) out[i] = buf.readIntLE(p, 3) / 8388608;
    else out[i] = buf.readInt32LE(p) / 2147483648;
  }
  return out;
}

/** Length, RMS and peak of a WAV file's bytes (what `sox FILE -n stat` reports). */
export function wavStats(buf: Buffer): WavStats {
  const wav = readWav(buf);
  let sum = 0;
  let peak = 0;
  for (const s of wav.samples) {
    sum += s * s;
    const a = Math.abs(s);
    if (a > peak) peak = a;
  }
  return { lengthSec: wav.frames / wav.sampleRate, rms: wav.samples.length ? Math.sqrt(sum / wav.samples.length) : 0, maxAmplitude: peak };
}

/** A mono 16-bit PCM WAV file of `samples`. */
export function encodeWav(samples: Int16Array, sampleRate: number): Buffer {
  const data = samples.length * 2;
  const buf = Buffer.alloc(44 + data);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(36 + data, 4);
  buf.write('WAVE', 8, 'latin1');
  buf.write('fmt ', 12, 'latin1');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28); // byte rate
  buf.writeUInt16LE(2, 32); // block align
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(data, 40);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i]!, 44 + i * 2);
  return buf;
}
