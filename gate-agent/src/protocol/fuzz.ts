/**
 * Deterministic fuzzing of the four device codecs, for the bench script (1,000,000 iterations)
 * and a smoke run in the tests. No fast-check here: src must not depend on test tooling, and a
 * seeded PRNG keeps a failing count reproducible from (iterations, seed) alone.
 *
 * Each iteration feeds every codec one input: random bytes, a valid frame mutated (bit flips,
 * truncation, insertions, splices), or, one time in eight, a pristine frame after `flush()`,
 * which must decode exactly (counted as a violation otherwise). Instances live across
 * iterations, so state left behind by junk is exercised too. The byte framers are also checked
 * for accounting: every input byte is in a frame, a discard, or still pending.
 */
import { performance } from 'node:perf_hooks';
import { Ga467Command, Ga467Framer, GA467_STATUS, encodeCardData, encodeIdText, encodeRequest, encodeResponse, type Ga467Frame } from './ga467.js';
import { HidPosAssembler, encodeHidPosReports, type HidPosResult } from './hid-pos.js';
import { HID_POS_LAYOUTS } from './hid-pos-layouts.js';
import { KeyboardWedgeDecoder, encodeKeyboardReports, type KeyboardWedgeResult } from './keyboard-wedge.js';
import { LcusFramer, encodeRelayCommand, encodeRelayQuery, type LcusFrame } from './lcus-relay.js';

export interface CodecCounts {
  inputs: number;
  frames: number;
  discarded: Record<string, number>;
  /** Thrown exceptions: must be 0. */
  exceptions: number;
  /** Pristine input not decoded exactly after flush, or bytes unaccounted for: must be 0. */
  violations: number;
}

export interface FuzzReport {
  iterations: number;
  seed: number;
  ms: number;
  codecs: { ga467: CodecCounts; hidPos: CodecCounts; keyboard: CodecCounts; lcus: CodecCounts };
}

type Item = { type: string; reason?: string };

/** mulberry32: tiny, fast, good enough to drive mutations. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}
type Rng = ReturnType<typeof prng>;

function counts(): CodecCounts {
  return { inputs: 0, frames: 0, discarded: {}, exceptions: 0, violations: 0 };
}

function tally(c: CodecCounts, items: readonly Item[]): void {
  for (const it of items) {
    if (it.type === 'discarded') c.discarded[it.reason ?? '?'] = (c.discarded[it.reason ?? '?'] ?? 0) + 1;
    else c.frames++;
  }
}

function randomBytes(rnd: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rnd(256);
  return b;
}

function flip(rnd: Rng, b: Buffer): void {
  if (b.length === 0) return;
  const at = rnd(b.length);
  b[at] = (b[at] ?? 0) ^ (1 << rnd(8));
}

function pick<T>(rnd: Rng, xs: readonly T[]): T {
  return xs[rnd(xs.length)] as T;
}

/** One of several structural mutations of a valid frame (or random bytes around it). */
function mutate(rnd: Rng, frame: Buffer, other: Buffer, sync: Buffer): Buffer {
  switch (rnd(7)) {
    case 0: {
      const b = Buffer.from(frame);
      for (let k = 1 + rnd(3); k > 0; k--) flip(rnd, b);
      return b;
    }
    case 1:
      return Buffer.concat([frame.subarray(0, rnd(frame.length)), other]);
    case 2: {
      const at = rnd(frame.length + 1);
      return Buffer.concat([frame.subarray(0, at), randomBytes(rnd, 1 + rnd(8)), frame.subarray(at)]);
    }
    case 3:
      return Buffer.concat([randomBytes(rnd, rnd(16)), frame, randomBytes(rnd, rnd(16))]);
    case 4:
      return Buffer.concat([sync, randomBytes(rnd, rnd(24))]);
    case 5:
      return Buffer.concat([frame, frame.subarray(rnd(frame.length))]);
    default:
      return randomBytes(rnd, rnd(48));
  }
}

/** Push `input` in 1–3 chunks, collecting results; exceptions are counted, never rethrown. */
function feed<T extends Item>(c: CodecCounts, rnd: Rng, input: Buffer, push: (b: Buffer) => T[]): T[] {
  const out: T[] = [];
  try {
    let pos = 0;
    for (let k = rnd(3); k > 0 && pos < input.length; k--) {
      const cut = pos + rnd(input.length - pos + 1);
      out.push(...push(input.subarray(pos, cut)));
      pos = cut;
    }
    out.push(...push(input.subarray(pos)));
  } catch {
    c.exceptions++;
  }
  return out;
}

function guard<T>(c: CodecCounts, f: () => T[]): T[] {
  try {
    return f();
  } catch {
    c.exceptions++;
    return [];
  }
}

/** Bytes a framer has accounted for in its output. */
function byteSize(items: readonly (Ga467Frame | LcusFrame)[]): number {
  let n = 0;
  for (const it of items) {
    if (it.type === 'frame') n += it.payload.length + 8;
    else if (it.type === 'command') n += 4;
    else if (it.type === 'query') n += 1;
    else n += it.bytes.length;
  }
  return n;
}

const SAMPLE_CODES = ['ST1:20240501-0001', 'https://t.example.cn/q?id=AB12cd34', '票号：黄山-0042', 'x'.repeat(150)];

export function fuzzCodecs(iterations: number, seed: number, opts: { now?: () => number } = {}): FuzzReport {
  const now = opts.now ?? (() => performance.now());
  const rnd = prng(seed);
  const start = now();

  const idText = encodeIdText({
    cardType: 'resident', name: '张三', genderCode: '1', nationCode: '01', birthDate: '19900101', address: '安徽省黄山市屯溪区',
    idNumber: '11010519491231002X', authority: '黄山市公安局屯溪分局', validFrom: '20200101', validTo: '长期',
  });
  const gaPool = [
    ...Object.values(Ga467Command).map((c) => encodeRequest(c.cmd, c.para)),
    ...GA467_STATUS.map((s) => encodeResponse(s.code)),
    encodeResponse(0x9f, Buffer.alloc(4)),
    encodeResponse(0x90, Buffer.alloc(8)),
  ];
  const gaBig = encodeResponse(0x90, encodeCardData(idText, Buffer.alloc(1024)));
  // Every HID POS layout, each with its own assembler; AIM ids only where the layout has a slot.
  const hidLayouts = HID_POS_LAYOUTS.map((layout) => ({
    pool: SAMPLE_CODES.map((t, i) => ({ text: t, aim: layout !== 'newland' && i % 2 ? ']Q1' : null })).map((s) => ({ text: s.text, reports: encodeHidPosReports(s.text, { layout, aim: s.aim }) })),
    a: new HidPosAssembler({ layout, maxLength: 200, gapMs: 100 }),
  }));
  let hidClock = 0;
  // Short codes only: a keyboard wedge sends two reports per character.
  const kbPool = SAMPLE_CODES.filter((t) => /^[\x20-\x7e]{1,40}$/.test(t)).map((t) => ({ text: t, reports: encodeKeyboardReports(t) }));
  const capsToggle = [Buffer.from([0, 0, 0x39, 0, 0, 0, 0, 0]), Buffer.alloc(8)];
  const lcusPool = [1, 2, 3, 4, 8].flatMap((ch) => [encodeRelayCommand(ch, true), encodeRelayCommand(ch, false)]);

  // Caps lowered (still above every pristine sample) so the too_long paths get exercised.
  const ga = { c: counts(), f: new Ga467Framer(2048), inBytes: 0, outBytes: 0 };
  const lc = { c: counts(), f: new LcusFramer(), inBytes: 0, outBytes: 0 };
  const hid = { c: counts() };
  const kb = { c: counts(), d: new KeyboardWedgeDecoder(48) };

  for (let i = 0; i < iterations; i++) {
    const pristine = rnd(8) === 0;

    // GA/T 467
    {
      const frame = rnd(256) === 0 ? gaBig : pick(rnd, gaPool);
      ga.c.inputs++;
      if (pristine) {
        const flushed = guard(ga.c, () => ga.f.flush());
        const got = feed(ga.c, rnd, frame, (b) => ga.f.push(b));
        const only = got[0];
        if (got.length !== 1 || only?.type !== 'frame' || !only.payload.equals(frame.subarray(7, -1))) ga.c.violations++;
        ga.inBytes += frame.length;
        ga.outBytes += byteSize(flushed) + byteSize(got);
        tally(ga.c, flushed);
        tally(ga.c, got);
      } else {
        const input = mutate(rnd, frame, pick(rnd, gaPool), encodeRequest(rnd(256), rnd(256)).subarray(0, 7));
        const got = feed(ga.c, rnd, input, (b) => ga.f.push(b));
        ga.inBytes += input.length;
        ga.outBytes += byteSize(got);
        tally(ga.c, got);
      }
    }

    // LCUS relay
    {
      const cmd = rnd(16) === 0 ? encodeRelayQuery() : pick(rnd, lcusPool);
      lc.c.inputs++;
      const input = pristine ? cmd : mutate(rnd, cmd, pick(rnd, lcusPool), Buffer.from([0xa0, rnd(256)]));
      const flushed = pristine ? guard(lc.c, () => lc.f.flush()) : [];
      const got = feed(lc.c, rnd, input, (b) => lc.f.push(b));
      if (pristine && (got.length !== 1 || got[0]?.type === 'discarded')) lc.c.violations++;
      lc.inBytes += input.length;
      lc.outBytes += byteSize(flushed) + byteSize(got);
      tally(lc.c, flushed);
      tally(lc.c, got);
    }

    // HID POS
    {
      const { pool, a } = hidLayouts[i % hidLayouts.length]!;
      const sample = pick(rnd, pool);
      hid.c.inputs++;
      if (pristine) tally(hid.c, guard(hid.c, () => a.flush()));
      const reports = pristine ? sample.reports : mutateReports(rnd, sample.reports, () => hidRandomReport(rnd));
      const got: HidPosResult[] = [];
      for (const r of reports) {
        // Reports 1–8 ms apart; mutated input now and then pauses past the gap mid-code.
        hidClock += !pristine && rnd(16) === 0 ? 150 : 1 + rnd(8);
        got.push(...guard(hid.c, () => a.push(r, hidClock)));
      }
      const only = got[0];
      if (pristine && (got.length !== 1 || only?.type !== 'scan' || only.text !== sample.text)) hid.c.violations++;
      tally(hid.c, got);
    }

    // Keyboard wedge
    {
      const sample = pick(rnd, kbPool);
      kb.c.inputs++;
      if (pristine) {
        tally(kb.c, guard(kb.c, () => kb.d.flush()));
        if (kb.d.capsLock) for (const r of capsToggle) guard(kb.c, () => kb.d.push(r));
      }
      const reports = pristine ? sample.reports : mutateReports(rnd, sample.reports, () => kbRandomReport(rnd));
      const got: KeyboardWedgeResult[] = [];
      for (const r of reports) got.push(...guard(kb.c, () => kb.d.push(r)));
      const only = got[0];
      if (pristine && (got.length !== 1 || only?.type !== 'scan' || only.text !== sample.text)) kb.c.violations++;
      tally(kb.c, got);
    }
  }

  for (const fr of [ga, lc]) {
    const tail = fr.f.pendingLength;
    if (fr.inBytes !== fr.outBytes + tail) fr.c.violations++;
  }
  return { iterations, seed, ms: now() - start, codecs: { ga467: ga.c, hidPos: hid.c, keyboard: kb.c, lcus: lc.c } };
}

/** Report-stream mutations: bit flips, drops, duplicates, reorders, and random reports. */
function mutateReports(rnd: Rng, reports: readonly Buffer[], random: () => Buffer): Buffer[] {
  const out = reports.slice();
  switch (rnd(5)) {
    case 0: {
      const at = rnd(out.length);
      const b = Buffer.from(out[at] ?? random());
      flip(rnd, b);
      out[at] = b;
      return out;
    }
    case 1:
      out.splice(rnd(out.length), 1);
      return out;
    case 2: {
      const at = rnd(out.length);
      out.splice(at, 0, out[at] ?? random());
      return out;
    }
    case 3:
      return out.reverse();
    default:
      return Array.from({ length: 1 + rnd(4) }, random);
  }
}

function hidRandomReport(rnd: Rng): Buffer {
  const r = randomBytes(rnd, rnd(4) === 0 ? rnd(72) : 64);
  if (r.length > 1 && rnd(4) !== 0) {
    r[0] = 0x02;
    r[1] = rnd(64);
  }
  return r;
}

function kbRandomReport(rnd: Rng): Buffer {
  if (rnd(16) === 0) return randomBytes(rnd, rnd(12));
  const r = Buffer.alloc(8);
  r[0] = rnd(4) === 0 ? rnd(256) : 0;
  for (let i = 2; i < 8 && rnd(3) === 0; i++) r[i] = rnd(8) === 0 ? rnd(256) : rnd(0x66);
  if (r[2] === 0 && rnd(2) === 0) r[2] = rnd(0x66);
  return r;
}
