import { describe, expect, it } from 'vitest';
import {
  GA467_STATUS,
  Ga467Command,
  Ga467Framer,
  encodeCardData,
  encodeFrame,
  encodeRequest,
  encodeResponse,
  ga467Status,
  parseCardData,
  parseResponse,
  type Ga467Frame,
} from '../../src/protocol/ga467.js';

// Reference vectors: the hex literals public reader drivers match against, consistent with GA/T 467.
const FIND_CARD = Buffer.from([
  0xaa, 0xaa, 0xaa, 0x96, 0x69, // preamble
  0x00, 0x03, //                   LEN = 3: CMD, PARA, checksum
  0x20, 0x01, //                   CMD 20 PARA 01: find card
  0x22, //                         XOR of 00 03 20 01
]);
const CARD_FOUND = Buffer.from([
  0xaa, 0xaa, 0xaa, 0x96, 0x69, // preamble
  0x00, 0x08, //                   LEN = 8: 3 SW + 4 data + checksum
  0x00, 0x00, 0x9f, //             SW1 SW2 SW3 = 9F: card found
  0x00, 0x00, 0x00, 0x00, //       data: four zero bytes
  0x97, //                         XOR of 00 08 00 00 9F 00 00 00 00
]);
const NO_CARD = Buffer.from([
  0xaa, 0xaa, 0xaa, 0x96, 0x69, // preamble
  0x00, 0x04, //                   LEN = 4
  0x00, 0x00, 0x80, //             SW3 = 80: find card failed (no card)
  0x84, //                         XOR of 00 04 00 00 80
]);
const SELECTED = Buffer.from([
  0xaa, 0xaa, 0xaa, 0x96, 0x69, // preamble
  0x00, 0x0c, //                   LEN = 12
  0x00, 0x00, 0x90, //             SW3 = 90: ok
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // data: 8 bytes (card serial, zero on these modules)
  0x9c, //                         XOR
]);
const SAM_OK = Buffer.from([0xaa, 0xaa, 0xaa, 0x96, 0x69, /* LEN */ 0x00, 0x04, /* SW */ 0x00, 0x00, 0x90, /* XOR */ 0x94]);

function frames(items: Ga467Frame[]): Buffer[] {
  return items.flatMap((f) => (f.type === 'frame' ? [f.payload] : []));
}
function summary(items: Ga467Frame[]): string[] {
  return items.map((f) => (f.type === 'frame' ? `frame ${f.payload.toString('hex')}` : `${f.reason} ${f.bytes.toString('hex')}`));
}

describe('GA/T 467 encoding', () => {
  it('encodes the reference requests', () => {
    expect(encodeRequest(0x20, 0x01)).toEqual(FIND_CARD);
    const hex = (c: { cmd: number; para: number }) => encodeRequest(c.cmd, c.para).toString('hex');
    // preamble + LEN 0003 + CMD PARA + XOR
    expect(hex(Ga467Command.selectCard)).toBe('aaaaaa96690003' + '2002' + '21');
    expect(hex(Ga467Command.readBase)).toBe('aaaaaa96690003' + '3001' + '32');
    expect(hex(Ga467Command.resetSam)).toBe('aaaaaa96690003' + '10ff' + 'ec');
    expect(hex(Ga467Command.samStatus)).toBe('aaaaaa96690003' + '11ff' + 'ed');
    expect(hex(Ga467Command.readSamId)).toBe('aaaaaa96690003' + '12ff' + 'ee');
    expect(hex(Ga467Command.readBaseWithFingerprint)).toBe('aaaaaa96690003' + '3010' + '23');
  });

  it('encodes the reference responses', () => {
    expect(encodeResponse(0x9f, Buffer.alloc(4))).toEqual(CARD_FOUND);
    expect(encodeResponse(0x80)).toEqual(NO_CARD);
    expect(encodeResponse(0x90, Buffer.alloc(8))).toEqual(SELECTED);
    expect(encodeResponse(0x90)).toEqual(SAM_OK);
  });

  it('rejects values that are not bytes', () => {
    expect(() => encodeRequest(0x100, 0)).toThrow(RangeError);
    expect(() => encodeRequest(-1, 0)).toThrow(RangeError);
    expect(() => encodeResponse(1.5)).toThrow(RangeError);
    expect(() => encodeFrame(Buffer.alloc(0xffff))).toThrow(RangeError);
  });
});

describe('parseResponse', () => {
  it('maps reference responses to named statuses', () => {
    expect(parseResponse(CARD_FOUND.subarray(7, -1))).toEqual({ status: 'card_found', sw1: 0, sw2: 0, sw3: 0x9f, data: Buffer.alloc(4) });
    expect(parseResponse(NO_CARD.subarray(7, -1))).toMatchObject({ status: 'no_card', sw3: 0x80 });
    expect(parseResponse(SELECTED.subarray(7, -1))).toMatchObject({ status: 'ok', data: Buffer.alloc(8) });
  });

  it('maps every table code, and keeps unknown codes with their byte', () => {
    for (const s of GA467_STATUS) expect(parseResponse(Buffer.from([0, 0, s.code])).status).toBe(s.name);
    expect(parseResponse(Buffer.from([0, 0, 0x55, 1]))).toEqual({ status: 'unknown_status', sw1: 0, sw2: 0, sw3: 0x55, data: Buffer.from([1]) });
    expect(ga467Status(0x41)?.name).toBe('read_failed');
    expect(ga467Status(0x55)).toBeUndefined();
  });

  it('has unique codes and names', () => {
    expect(new Set(GA467_STATUS.map((s) => s.code)).size).toBe(GA467_STATUS.length);
    expect(new Set(GA467_STATUS.map((s) => s.name)).size).toBe(GA467_STATUS.length);
  });

  it('reports a payload too short for SW1-SW3 as malformed', () => {
    expect(parseResponse(Buffer.from([0x20, 0x01]))).toEqual({ status: 'malformed', payload: Buffer.from([0x20, 0x01]) });
  });
});

describe('read-card data', () => {
  const text = Buffer.alloc(256, 0x20);
  const photo = Buffer.alloc(1024, 0x77);

  it('splits a full 1295-byte read response and keeps only the photo length', () => {
    const frame = encodeResponse(0x90, encodeCardData(text, photo));
    expect(frame.length).toBe(1295);
    expect(frame.subarray(0, 14)).toEqual(Buffer.from([
      0xaa, 0xaa, 0xaa, 0x96, 0x69, // preamble
      0x05, 0x08, //                   LEN = 1288 = 3 SW + 4 lengths + 256 + 1024 + checksum
      0x00, 0x00, 0x90, //             ok
      0x01, 0x00, //                   text length 256, big-endian
      0x04, 0x00, //                   photo length 1024, big-endian
    ]));
    const [f] = new Ga467Framer().push(frame);
    if (f?.type !== 'frame') throw new Error('expected a frame');
    const r = parseResponse(f.payload);
    if (r.status !== 'ok') throw new Error('expected ok');
    const d = parseCardData(r.data);
    expect(d).toEqual({ ok: true, text, photoLength: 1024, fingerprintLength: 0 });
    expect(Object.keys(d)).not.toContain('photo'); // biometric bytes do not leave the codec
  });

  it('handles the fingerprint variant (30 10)', () => {
    const fp = Buffer.alloc(1024, 1);
    expect(parseCardData(encodeCardData(text, photo, fp), true)).toEqual({ ok: true, text, photoLength: 1024, fingerprintLength: 1024 });
    expect(parseCardData(encodeCardData(text, photo, Buffer.alloc(0)), true)).toMatchObject({ ok: true, fingerprintLength: 0 });
  });

  it('rejects inconsistent lengths', () => {
    expect(parseCardData(Buffer.from([1, 0]))).toEqual({ ok: false, reason: 'short', length: 2 });
    expect(parseCardData(encodeCardData(text, photo).subarray(0, 1000))).toEqual({ ok: false, reason: 'length_mismatch', length: 1000 });
  });
});

describe('Ga467Framer', () => {
  const stream = Buffer.concat([CARD_FOUND, SELECTED, NO_CARD]);
  const payloads = [CARD_FOUND, SELECTED, NO_CARD].map((f) => f.subarray(7, -1));

  it('decodes back-to-back frames in one chunk', () => {
    expect(frames(new Ga467Framer().push(stream))).toEqual(payloads);
  });

  it('gives the same result for a split at every byte position', () => {
    for (let i = 0; i <= stream.length; i++) {
      const f = new Ga467Framer();
      const out = [...f.push(stream.subarray(0, i)), ...f.push(stream.subarray(i))];
      expect(summary(out), `split at ${i}`).toEqual(payloads.map((p) => `frame ${p.toString('hex')}`));
      expect(f.pendingLength).toBe(0);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const f = new Ga467Framer();
    const out = [...stream].flatMap((b) => f.push(Buffer.from([b])));
    expect(frames(out)).toEqual(payloads);
  });

  it('reports garbage before, between and after frames, including preamble look-alikes', () => {
    const input = Buffer.concat([
      Buffer.from([0x00, 0x13]), //                   line noise at power-up
      CARD_FOUND,
      Buffer.from([0xaa, 0xaa, 0x96]), //             almost a preamble
      NO_CARD,
      Buffer.from([0xaa, 0xaa, 0xaa, 0x96, 0x00]), // preamble with a wrong last byte
    ]);
    expect(summary(new Ga467Framer().push(input))).toEqual([
      'garbage 0013',
      `frame ${payloads[0]?.toString('hex')}`,
      'garbage aaaa96',
      `frame ${payloads[2]?.toString('hex')}`,
      'garbage aaaaaa9600',
    ]);
  });

  it('keeps a partial preamble at the end of a chunk', () => {
    const f = new Ga467Framer();
    expect(f.push(Buffer.from([0x01, 0xaa, 0xaa]))).toEqual([{ type: 'discarded', reason: 'garbage', bytes: Buffer.from([0x01]) }]);
    expect(f.pendingLength).toBe(2);
    expect(frames(f.push(NO_CARD.subarray(2)))).toEqual([payloads[2]]);
  });

  it('discards a frame with a bad checksum and decodes the next one', () => {
    const bad = Buffer.from(SAM_OK);
    bad[10] = 0x95; // checksum should be 94
    expect(summary(new Ga467Framer().push(Buffer.concat([bad, NO_CARD])))).toEqual([
      `bad_checksum ${bad.toString('hex')}`,
      `frame ${payloads[2]?.toString('hex')}`,
    ]);
  });

  it('recovers a good frame that follows a truncated one (reader reset mid-answer)', () => {
    const input = Buffer.concat([CARD_FOUND.subarray(0, 10), NO_CARD, SAM_OK]);
    expect(summary(new Ga467Framer().push(input))).toEqual([
      `bad_checksum ${CARD_FOUND.subarray(0, 10).toString('hex')}`,
      `frame ${payloads[2]?.toString('hex')}`,
      'frame 000090',
    ]);
  });

  it('rejects lengths below the minimum and above the cap, then resynchronises', () => {
    const tiny = Buffer.from([0xaa, 0xaa, 0xaa, 0x96, 0x69, /* LEN 2 */ 0x00, 0x02]);
    const huge = Buffer.from([0xaa, 0xaa, 0xaa, 0x96, 0x69, /* LEN 4097 */ 0x10, 0x01]);
    expect(summary(new Ga467Framer().push(Buffer.concat([tiny, huge, NO_CARD])))).toEqual([
      `bad_length ${tiny.toString('hex')}`,
      `too_long ${huge.toString('hex')}`,
      `frame ${payloads[2]?.toString('hex')}`,
    ]);
    expect(summary(new Ga467Framer(10).push(SELECTED))[0]).toMatch(/^too_long aaaaaa9669000c$/);
  });

  it('reports a truncated frame on flush and finds a frame hidden behind a bogus long LEN', () => {
    const f = new Ga467Framer();
    expect(f.push(CARD_FOUND.subarray(0, 9))).toEqual([]);
    expect(f.flush()).toEqual([{ type: 'discarded', reason: 'truncated', bytes: CARD_FOUND.subarray(0, 9) }]);
    expect(f.flush()).toEqual([]);

    const bogus = Buffer.from([0xaa, 0xaa, 0xaa, 0x96, 0x69, /* LEN 2000 */ 0x07, 0xd0]);
    expect(f.push(Buffer.concat([bogus, NO_CARD]))).toEqual([]); // still waiting for 2000 bytes
    expect(summary(f.flush())).toEqual([`truncated ${bogus.toString('hex')}`, `frame ${payloads[2]?.toString('hex')}`]);
    expect(f.pendingLength).toBe(0);
  });

  it('does not alias the caller’s chunk', () => {
    const chunk = Buffer.from(NO_CARD);
    const [f] = new Ga467Framer().push(chunk);
    chunk.fill(0);
    expect(f).toEqual({ type: 'frame', payload: Buffer.from([0, 0, 0x80]) });
  });
});
