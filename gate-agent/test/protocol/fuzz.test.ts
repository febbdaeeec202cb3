import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GA467_PREAMBLE, Ga467Framer, encodeFrame, encodeResponse, type Ga467Frame } from '../../src/protocol/ga467.js';
import { HidPosAssembler, encodeHidPosReports } from '../../src/protocol/hid-pos.js';
import { HID_POS_LAYOUTS, LAYOUTS } from '../../src/protocol/hid-pos-layouts.js';
import { KeyboardWedgeDecoder, encodeKeyboardReports } from '../../src/protocol/keyboard-wedge.js';
import { LcusFramer, encodeRelayCommand, type LcusFrame } from '../../src/protocol/lcus-relay.js';
import { fuzzCodecs } from '../../src/protocol/fuzz.js';

const RUNS = { numRuns: 2000 };

/** Bytes biased towards the ones that matter to the framers, so headers actually occur. */
const interestingByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xaa, 0x96, 0x69, 0x00, 0xa0, 0xff));
const bytes = (maxLength: number) => fc.array(interestingByte, { maxLength }).map((a) => Buffer.from(a));
const validFrame = fc.tuple(fc.integer({ min: 0, max: 255 }), bytes(16)).map(([sw3, data]) => encodeResponse(sw3, data));
/** A valid frame with one byte flipped or cut short. */
const damagedFrame = fc.tuple(validFrame, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean()).map(([f, at, x, cut]) => {
  const b = Buffer.from(f);
  const i = at % b.length;
  if (cut) return b.subarray(0, i);
  b[i] = (b[i] ?? 0) ^ x;
  return b;
});
/** Preamble plus a plausible (small) or arbitrary LEN. */
const header = fc.integer({ min: 0, max: 0xffff }).map((len) => {
  const h = Buffer.alloc(7);
  GA467_PREAMBLE.copy(h);
  h.writeUInt16BE(len % 3 === 0 ? len : len % 40, 5);
  return h;
});
/** Byte runs mixed with valid, damaged and bogus frames and preamble fragments. */
const noisyStream = fc
  .array(fc.oneof(bytes(12), validFrame, damagedFrame, header, fc.constant(GA467_PREAMBLE.subarray(0, 3))), { maxLength: 12 })
  .map((parts) => Buffer.concat(parts));
const cuts = fc.array(fc.nat(64), { maxLength: 8 });

function chunked(input: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  for (const n of sizes) {
    out.push(input.subarray(pos, pos + n));
    pos += n;
  }
  out.push(input.subarray(pos));
  return out;
}

function accounted(items: (Ga467Frame | LcusFrame)[]): number {
  return items.reduce(
    (n, f) => n + (f.type === 'frame' ? f.payload.length + 8 : f.type === 'command' ? 4 : f.type === 'query' ? 1 : f.bytes.length),
    0,
  );
}

describe('Ga467Framer properties', () => {
  it('never throws, emits only frames present verbatim in the input, and accounts for every byte', () => {
    fc.assert(
      fc.property(noisyStream, cuts, (input, sizes) => {
        const f = new Ga467Framer(64);
        const out = chunked(input, sizes).flatMap((c) => f.push(c));
        for (const fr of out) if (fr.type === 'frame') expect(input.includes(encodeFrame(fr.payload))).toBe(true);
        expect(accounted(out) + f.pendingLength).toBe(input.length);
        const pending = f.pendingLength;
        expect(accounted(f.flush())).toBe(pending); // flush accounts for exactly what was held
        expect(f.pendingLength).toBe(0);
      }),
      RUNS,
    );
  });

  it('yields the same frames however the stream is chunked', () => {
    fc.assert(
      fc.property(noisyStream, cuts, (input, sizes) => {
        const payloads = (items: Ga467Frame[]) => items.flatMap((x) => (x.type === 'frame' ? [x.payload.toString('hex')] : []));
        const whole = new Ga467Framer(64);
        const split = new Ga467Framer(64);
        const a = payloads([...whole.push(input), ...whole.flush()]);
        const b = payloads([...chunked(input, sizes).flatMap((c) => split.push(c)), ...split.flush()]);
        expect(b).toEqual(a);
      }),
      RUNS,
    );
  });

  it('decodes a valid frame that follows garbage without a preamble', () => {
    const frame = fc.tuple(fc.integer({ min: 0, max: 255 }), bytes(32)).map(([sw3, data]) => encodeResponse(sw3, data));
    fc.assert(
      fc.property(bytes(64), frame, cuts, (garbage, good, sizes) => {
        fc.pre(!garbage.includes(GA467_PREAMBLE));
        const f = new Ga467Framer();
        const out = chunked(Buffer.concat([garbage, good]), sizes).flatMap((c) => f.push(c));
        const frames = out.filter((x) => x.type === 'frame');
        expect(frames).toEqual([{ type: 'frame', payload: good.subarray(7, -1) }]);
        expect(out.every((x) => x.type === 'frame' || x.reason === 'garbage')).toBe(true);
      }),
      RUNS,
    );
  });

  it('recovers after arbitrary junk once flushed', () => {
    fc.assert(
      fc.property(noisyStream, bytes(40), (junk, data) => {
        const f = new Ga467Framer();
        f.push(junk);
        f.flush();
        const good = encodeResponse(0x90, data);
        expect(f.push(good)).toEqual([{ type: 'frame', payload: good.subarray(7, -1) }]);
      }),
      RUNS,
    );
  });
});

describe('LcusFramer properties', () => {
  it('never throws, emits only commands with a valid checksum, and accounts for every byte', () => {
    fc.assert(
      fc.property(bytes(64), cuts, (input, sizes) => {
        const f = new LcusFramer();
        const out = chunked(input, sizes).flatMap((c) => f.push(c));
        for (const c of out) if (c.type === 'command') expect(input.includes(encodeRelayCommand(c.channel, c.on))).toBe(true);
        expect(accounted(out) + f.pendingLength).toBe(input.length);
      }),
      RUNS,
    );
  });

  it('decodes a command that follows garbage without a header byte', () => {
    fc.assert(
      fc.property(bytes(32), fc.integer({ min: 1, max: 255 }), fc.boolean(), cuts, (garbage, channel, on, sizes) => {
        fc.pre(!garbage.includes(0xa0));
        const f = new LcusFramer();
        const out = chunked(Buffer.concat([garbage, encodeRelayCommand(channel, on)]), sizes).flatMap((c) => f.push(c));
        expect(out.filter((x) => x.type === 'command')).toEqual([{ type: 'command', channel, on }]);
      }),
      RUNS,
    );
  });
});

describe('HidPosAssembler properties', () => {
  const junkReport = fc.oneof(
    bytes(72),
    fc.tuple(fc.integer({ min: 0, max: 80 }), bytes(59), fc.integer({ min: 0, max: 255 })).map(([n, body, flags]) => {
      const r = Buffer.alloc(64);
      r[0] = 0x02;
      r[1] = n;
      body.copy(r, 2);
      r[63] = flags;
      return r;
    }),
  );

  const layout = fc.constantFrom(...HID_POS_LAYOUTS);

  it('never throws on junk and only emits well-formed text, in every layout and with gaps', () => {
    fc.assert(
      fc.property(layout, fc.array(fc.tuple(junkReport, fc.integer({ min: 0, max: 300 })), { maxLength: 10 }), (layout, reports) => {
        const a = new HidPosAssembler({ layout, maxLength: 128 });
        let t = 0;
        for (const r of [...reports.flatMap(([x, dt]) => a.push(x, (t += dt))), ...a.expire(t + 1000), ...a.flush()]) {
          if (r.type === 'scan') {
            expect(Buffer.from(r.text, 'utf8').toString('utf8')).toBe(r.text); // no lone surrogates
            expect(Buffer.byteLength(r.text)).toBeLessThanOrEqual(128);
          }
        }
      }),
      RUNS,
    );
  });

  it('round-trips any text at any report size, and recovers after junk once flushed', () => {
    fc.assert(
      fc.property(layout, fc.array(junkReport, { maxLength: 5 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 56 }), (layout, junk, text, capacity) => {
        const a = new HidPosAssembler({ layout });
        for (const r of junk) a.push(r);
        a.flush();
        const reportSize = LAYOUTS[layout].dataAt + LAYOUTS[layout].tail + capacity;
        const aim = layout === 'newland' ? null : ']E0';
        const out = encodeHidPosReports(text, { layout, reportSize, aim }).flatMap((r) => a.push(r));
        expect(out).toEqual([{ type: 'scan', text, aim }]);
      }),
      RUNS,
    );
  });

  it('a code cut short by a gap is never glued onto the next one', () => {
    fc.assert(
      fc.property(layout, fc.string({ minLength: 60, maxLength: 200 }), fc.string({ minLength: 1, maxLength: 200 }), fc.nat(), (layout, lost, next, cut) => {
        const a = new HidPosAssembler({ layout, gapMs: 100 });
        const first = encodeHidPosReports(lost, { layout });
        const partial = first.slice(0, 1 + (cut % (first.length - 1)));
        let t = 0;
        const out = [...partial.flatMap((r) => a.push(r, (t += 5))), ...encodeHidPosReports(next, { layout }).flatMap((r, i) => a.push(r, (t += i === 0 ? 101 : 5)))];
        expect(out.map((r) => r.type + ':' + (r.type === 'scan' ? r.text : r.reason))).toEqual(['discarded:gap_timeout', `scan:${next}`]);
      }),
      RUNS,
    );
  });
});

describe('KeyboardWedgeDecoder properties', () => {
  const junkReport = fc.oneof(
    bytes(10),
    fc.array(fc.integer({ min: 0, max: 0x70 }), { minLength: 8, maxLength: 8 }).map((a) => Buffer.from(a)),
  );
  const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 60 });

  it('never throws on junk reports', () => {
    fc.assert(
      fc.property(fc.array(junkReport, { maxLength: 30 }), (reports) => {
        const d = new KeyboardWedgeDecoder(32);
        for (const r of [...reports.flatMap((x) => d.push(x)), ...d.flush()]) {
          if (r.type === 'scan') expect(r.text.length).toBeLessThanOrEqual(32);
        }
      }),
      RUNS,
    );
  });

  it('round-trips printable ASCII, and recovers after junk once flushed', () => {
    const capsToggle = [Buffer.from([0, 0, 0x39, 0, 0, 0, 0, 0]), Buffer.alloc(8)];
    fc.assert(
      fc.property(fc.array(junkReport, { maxLength: 10 }), printable, (junk, text) => {
        const d = new KeyboardWedgeDecoder();
        for (const r of junk) d.push(r);
        d.flush();
        if (d.capsLock) for (const r of capsToggle) d.push(r);
        expect(encodeKeyboardReports(text).flatMap((r) => d.push(r))).toEqual([{ type: 'scan', text, unknownKeys: 0 }]);
      }),
      RUNS,
    );
  });
});

describe('fuzzCodecs', () => {
  it('is deterministic for a seed and finds no exceptions or violations', () => {
    let t = 0;
    const clock = () => (t += 5);
    const a = fuzzCodecs(5000, 1234, { now: clock });
    const b = fuzzCodecs(5000, 1234, { now: clock });
    expect(a.ms).toBe(5);
    expect({ ...a, ms: 0 }).toEqual({ ...b, ms: 0 });
    for (const c of Object.values(a.codecs)) {
      expect(c.exceptions).toBe(0);
      expect(c.violations).toBe(0);
      expect(c.inputs).toBe(5000);
      expect(c.frames).toBeGreaterThan(0);
    }
    expect(a.codecs.ga467.discarded).toMatchObject({ garbage: expect.any(Number), bad_checksum: expect.any(Number) });
    expect(fuzzCodecs(5000, 4321, { now: clock }).codecs.ga467.frames).not.toBe(a.codecs.ga467.frames);
  });
});
