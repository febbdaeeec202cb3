import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CctalkFramer, cctalkChecksum, encodeCctalk, type CctalkFramerItem } from '../src/protocol/cctalk.js';

const RUNS = { numRuns: 2000 };

/** Bytes biased towards addresses and lengths, so frame starts actually occur in the noise. */
const interestingByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x28, 0xfc, 0xfd, 0xff));
const bytes = (maxLength: number) => fc.array(interestingByte, { maxLength }).map((a) => Buffer.from(a));
const validFrame = fc
  .tuple(fc.constantFrom(1, 2, 3, 40), fc.constantFrom(1, 2, 3, 40), fc.integer({ min: 0, max: 255 }), bytes(12))
  .map(([dest, src, header, data]) => encodeCctalk({ dest, src, header, data }));
/** A valid frame with one byte changed or cut short. */
const damagedFrame = fc.tuple(validFrame, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean()).map(([f, at, x, cut]) => {
  const b = Buffer.from(f);
  const i = at % b.length;
  if (cut) return b.subarray(0, i);
  b[i] = (b[i] ?? 0) ^ x;
  return b;
});
const noisyStream = fc.array(fc.oneof(bytes(10), validFrame, damagedFrame), { maxLength: 12 }).map((parts) => Buffer.concat(parts));
const cuts = fc.array(fc.nat(40), { maxLength: 8 });
const accept = fc.option(fc.subarray([1, 2, 3, 40], { minLength: 1 }), { nil: undefined });

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

const size = (items: CctalkFramerItem[]) => items.reduce((n, i) => n + (i.type === 'frame' ? i.raw.length : i.bytes.length), 0);

describe('CctalkFramer properties', () => {
  it('never throws, never emits a frame with a bad checksum or a refused address, and accounts for every byte', () => {
    fc.assert(
      fc.property(noisyStream, cuts, accept, (input, sizes, acc) => {
        const f = new CctalkFramer(acc === undefined ? {} : { accept: acc });
        const out = chunked(input, sizes).flatMap((c) => f.push(c));
        expect(size(out) + f.pendingLength).toBe(input.length);
        const all = [...out, ...f.flush()];
        expect(size(all)).toBe(input.length);
        expect(f.pendingLength).toBe(0);
        for (const item of all) {
          if (item.type !== 'frame') continue;
          expect(cctalkChecksum(item.raw, 0, item.raw.length - 1)).toBe(item.raw[item.raw.length - 1]);
          expect(item.raw.length).toBe(item.data.length + 5);
          expect(input.includes(item.raw)).toBe(true);
          if (acc) expect(acc).toContain(item.dest);
        }
      }),
      RUNS,
    );
  });

  it('decodes a clean stream exactly, however it is chunked', () => {
    fc.assert(
      fc.property(fc.array(validFrame, { maxLength: 8 }), cuts, (list, sizes) => {
        const f = new CctalkFramer();
        const out = chunked(Buffer.concat(list), sizes).flatMap((c) => f.push(c));
        expect(out.map((i) => (i.type === 'frame' ? i.raw.toString('hex') : `x${i.reason}`))).toEqual(list.map((b) => b.toString('hex')));
      }),
      RUNS,
    );
  });

  it('finds every answer to the host behind noise that holds no host address', () => {
    const noise = fc.array(fc.integer({ min: 0, max: 255 }).filter((b) => b !== 1), { maxLength: 10 }).map((a) => Buffer.from(a));
    const answer = fc.tuple(fc.constantFrom(2, 3, 40), fc.integer({ min: 0, max: 6 }), bytes(11)).map(([src, header, data]) => encodeCctalk({ dest: 1, src, header, data }));
    fc.assert(
      fc.property(fc.array(fc.tuple(noise, answer), { maxLength: 6 }), cuts, (pairs, sizes) => {
        const f = new CctalkFramer({ accept: [1] });
        const input = Buffer.concat(pairs.flat());
        const out = [...chunked(input, sizes).flatMap((c) => f.push(c)), ...f.flush()];
        expect(out.filter((i) => i.type === 'frame').map((i) => (i.type === 'frame' ? i.raw.toString('hex') : ''))).toEqual(pairs.map(([, a]) => a.toString('hex')));
      }),
      RUNS,
    );
  });
});
