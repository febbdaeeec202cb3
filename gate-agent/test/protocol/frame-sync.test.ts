import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameSync, type FrameDiscard, type FrameRules } from '../../src/protocol/frame-sync.js';

// A toy protocol to pin the loop down apart from any real one:
//   7E | LEN (payload bytes, 1..8) | payload | SUM (of LEN and payload, & 0xFF)
// and a payload starting with 00 is well formed but unusable (dropped whole, no rescan).
type Item = { type: 'frame'; payload: number[] };
type Reason = 'bad_checksum' | 'bad_length' | 'unusable';

const toyRules: FrameRules<Item, Reason> = {
  findStart(buf, from) {
    const i = buf.indexOf(0x7e, from);
    return i < 0 ? buf.length : i;
  },
  findHeader: (buf) => buf.indexOf(0x7e, 1),
  step(buf, pos) {
    if (buf.length - pos < 2) return { kind: 'more' };
    const len = buf[pos + 1]!;
    if (len < 1 || len > 8) return { kind: 'reject', reason: 'bad_length', length: 2 };
    const length = 3 + len;
    if (buf.length - pos < length) return { kind: 'more' };
    const body = [...buf.subarray(pos + 1, pos + 2 + len)];
    if ((body.reduce((a, b) => a + b, 0) & 0xff) !== buf[pos + length - 1]) return { kind: 'reject', reason: 'bad_checksum', length };
    if (body[1] === 0) return { kind: 'drop', reason: 'unusable', length };
    return { kind: 'frame', item: { type: 'frame', payload: body.slice(1) }, length };
  },
};

function frame(payload: number[]): number[] {
  const body = [payload.length, ...payload];
  return [0x7e, ...body, body.reduce((a, b) => a + b, 0) & 0xff];
}

type Out = Item | FrameDiscard<Reason>;
const show = (items: Out[]) => items.map((i) => (i.type === 'frame' ? { frame: i.payload } : { [i.reason]: [...i.bytes] }));
const bytesOf = (items: Out[]) => items.flatMap((i) => (i.type === 'frame' ? frame(i.payload) : [...i.bytes]));

describe('FrameSync', () => {
  it('emits frames, garbage before them, and bad frames with their reason', () => {
    const sync = new FrameSync(toyRules);
    const input = [0x01, 0x02, ...frame([0x11, 0x22]), 0x7e, 0x00, ...frame([0x00, 0x05]), ...frame([0x33])];
    expect(show(sync.push(Buffer.from(input)))).toEqual([
      { garbage: [0x01, 0x02] },
      { frame: [0x11, 0x22] },
      { bad_length: [0x7e, 0x00] },
      { unusable: frame([0x00, 0x05]) },
      { frame: [0x33] },
    ]);
    expect(sync.pendingLength).toBe(0);
  });

  it('on a bad checksum drops only up to the next header inside the frame, so a frame behind it is found', () => {
    const sync = new FrameSync(toyRules);
    // A frame cut short (LEN says 4, two bytes came) runs into a good one.
    const input = [0x7e, 0x04, 0xaa, 0xbb, ...frame([0x01, 0x02, 0x03])];
    expect(show(sync.push(Buffer.from(input)))).toEqual([{ bad_checksum: [0x7e, 0x04, 0xaa, 0xbb] }, { frame: [0x01, 0x02, 0x03] }]);
  });

  it('a drop does not rescan inside the dropped bytes', () => {
    const sync = new FrameSync(toyRules);
    const unusable = frame([0x00, 0x7e]);
    expect(show(sync.push(Buffer.from(unusable)))).toEqual([{ unusable }]);
  });

  it('keeps a frame split across chunks pending, copied, until its last byte arrives', () => {
    const sync = new FrameSync(toyRules);
    const bytes = frame([0x41, 0x42, 0x43]);
    const chunk = Buffer.from(bytes.slice(0, 3));
    expect(sync.push(chunk)).toEqual([]);
    chunk.fill(0);
    expect(sync.pendingLength).toBe(3);
    expect(show(sync.push(Buffer.from(bytes.slice(3))))).toEqual([{ frame: [0x41, 0x42, 0x43] }]);
    expect(sync.pendingLength).toBe(0);
  });

  it('flush reports the pending head as truncated and still decodes a whole frame behind it', () => {
    const sync = new FrameSync(toyRules);
    // LEN 8 claims more bytes than will come; a complete frame sits inside the claimed span.
    sync.push(Buffer.from([0x7e, 0x08, ...frame([0x05])]));
    expect(show(sync.flush())).toEqual([{ truncated: [0x7e, 0x08] }, { frame: [0x05] }]);
    expect(sync.pendingLength).toBe(0);
    expect(sync.flush()).toEqual([]);
  });

  it('without findHeader, flush reports all pending bytes as one truncated discard', () => {
    const { findHeader: _unused, ...rules } = toyRules;
    const sync = new FrameSync(rules);
    sync.push(Buffer.from([0x7e, 0x08, 0x7e, 0x01]));
    expect(show(sync.flush())).toEqual([{ truncated: [0x7e, 0x08, 0x7e, 0x01] }]);
  });

  it('every byte lands in exactly one item or stays pending, however the stream is chunked', () => {
    const stream = fc.array(fc.oneof(fc.constantFrom(...[[0x7e], [0x7e, 0x00], [0x7e, 0x09]]), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }).map(frame)), { maxLength: 20 });
    fc.assert(
      fc.property(stream, fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }), (parts, cuts) => {
        const input = parts.flat();
        const sync = new FrameSync(toyRules);
        const out: Out[] = [];
        let pos = 0;
        for (let k = 0; pos < input.length; k++) {
          const n = cuts[k % cuts.length]!;
          out.push(...sync.push(Buffer.from(input.slice(pos, pos + n))));
          pos += n;
          expect(sync.pendingLength).toBeLessThanOrEqual(11);
          expect(bytesOf(out).length + sync.pendingLength).toBe(Math.min(pos, input.length));
        }
        out.push(...sync.flush());
        expect(bytesOf(out)).toEqual(input);
      }),
    );
  });
});
