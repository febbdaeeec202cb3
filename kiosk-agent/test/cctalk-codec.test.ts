import { describe, expect, it } from 'vitest';
import {
  CctalkFramer,
  cctalkChecksum,
  cctalkReply,
  cctalkRequest,
  counterAdvance,
  encodeCctalk,
  encodeInhibitMask,
  parseInhibitMask,
  parseSerialNumber,
  type CctalkFramerItem,
} from '../src/protocol/cctalk.js';
import {
  billEventsSince,
  billStatus,
  billValueFen,
  decodeBillEvent,
  encodeBufferedBillEvents,
  parseBillId,
  parseBufferedBillEvents,
  parseScalingFactor,
  BILL_STATUS,
} from '../src/protocol/cctalk-bill.js';
import { classifyShortPayout, encodeDispense, encodeTestHopper, parseHighLowStatus, parseHopperStatus, parseTestHopper } from '../src/protocol/cctalk-hopper.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const frames = (items: CctalkFramerItem[]) => items.filter((i) => i.type === 'frame').map((i) => (i.type === 'frame' ? i.raw.toString('hex') : ''));
const discards = (items: CctalkFramerItem[]) => items.filter((i) => i.type === 'discarded').map((i) => (i.type === 'discarded' ? `${i.reason}:${i.bytes.toString('hex')}` : ''));

// Frames as the specification's examples and our own arithmetic have them; each byte commented.
const POLL_COIN = hex('02 00 01 FE FF'); // dest 2, no data, src 1 (host), 254 simple poll, checksum: 2+0+1+254+255 = 512 ≡ 0
const ACK_COIN = hex('01 00 02 00 FD'); // dest 1 (host), no data, src 2, header 0 = ACK, 1+2+253 = 256
const POLL_BV = hex('28 00 01 FE D9'); // simple poll to the bill validator (40)
const READ_EVENTS = hex('28 00 01 9F 38'); // 159 read buffered bill events: 40+1+159+56 = 256
// Reply: counter 3; newest first: type 3 stacked (3,0), type 3 held (3,1), returned from escrow (0,1), then empty slots.
const EVENTS_REPLY = hex('01 0B 28 00  03  03 00  03 01  00 01  00 00  00 00  C1');
const ROUTE_STACK = hex('28 01 01 9A 01 3B'); // 154 route bill, data 1 = stack
const BILL_ID_REPLY = hex('01 07 28 00 43 4E 30 30 31 30 41 3D'); // "CN0010A"
const DISPENSE_2 = hex('03 04 01 A7 56 34 12 02 B3'); // 167 to hopper 3: serial 0x123456 LSB first, 2 coins
const HOPPER_STATUS = hex('01 04 03 00 05 00 02 01 F0'); // counter 5, 0 remaining, 2 paid, 1 unpaid

describe('ccTalk frames', () => {
  it('encodes the reference frames byte for byte', () => {
    expect(cctalkRequest(2, 254)).toEqual(POLL_COIN);
    expect(cctalkReply(2)).toEqual(ACK_COIN);
    expect(cctalkRequest(40, 254)).toEqual(POLL_BV);
    expect(cctalkRequest(40, 159)).toEqual(READ_EVENTS);
    expect(cctalkRequest(40, 154, [1])).toEqual(ROUTE_STACK);
    expect(cctalkReply(40, Buffer.from('CN0010A'))).toEqual(BILL_ID_REPLY);
    expect(cctalkRequest(3, 167, encodeDispense(hex('563412'), 2))).toEqual(DISPENSE_2);
    expect(cctalkReply(3, [5, 0, 2, 1])).toEqual(HOPPER_STATUS);
    expect(cctalkReply(40, encodeBufferedBillEvents(3, [[3, 0], [3, 1], [0, 1]]))).toEqual(EVENTS_REPLY);
    for (const f of [POLL_COIN, ACK_COIN, EVENTS_REPLY, DISPENSE_2]) expect(f.reduce((s, b) => s + b, 0) % 256).toBe(0);
    expect(cctalkChecksum(hex('02 00 01 FE'))).toBe(0xff);
  });

  it('refuses what cannot be a frame', () => {
    expect(() => encodeCctalk({ dest: 256, src: 1, header: 254 })).toThrow(/dest must be a byte/);
    expect(() => cctalkRequest(40, 1, Buffer.alloc(253))).toThrow(/too long/);
    expect(() => encodeDispense(hex('5634'), 2)).toThrow(/3 bytes/);
    expect(() => encodeDispense(hex('563412'), 256)).toThrow(/1\.\.255/);
  });

  it('decodes frames split across chunks, one byte at a time', () => {
    const f = new CctalkFramer();
    const out = [...Buffer.concat([ACK_COIN, EVENTS_REPLY])].flatMap((b) => f.push(Buffer.from([b])));
    expect(frames(out)).toEqual([ACK_COIN.toString('hex'), EVENTS_REPLY.toString('hex')]);
    const ev = out[1];
    expect(ev?.type === 'frame' && { dest: ev.dest, src: ev.src, header: ev.header, len: ev.data.length }).toEqual({ dest: 1, src: 40, header: 0, len: 11 });
    expect(f.pendingLength).toBe(0);
  });

  it('skips garbage between frames and reports it as one discard', () => {
    const f = new CctalkFramer({ accept: [1] });
    const out = f.push(Buffer.concat([hex('00 FF 7E 55'), ACK_COIN, hex('AA BB'), HOPPER_STATUS]));
    expect(frames(out)).toEqual([ACK_COIN.toString('hex'), HOPPER_STATUS.toString('hex')]);
    expect(discards(out)).toEqual(['garbage:00ff7e55', 'garbage:aabb']);
  });

  it('drops a frame with a bad checksum and still finds the good one behind it', () => {
    const bad = Buffer.from(BILL_ID_REPLY);
    bad[6] = 0x32; // "CN2010A": one bit flipped on the line
    const f = new CctalkFramer({ accept: [1] });
    const out = f.push(Buffer.concat([bad, ACK_COIN]));
    expect(frames(out)).toEqual([ACK_COIN.toString('hex')]);
    expect(discards(out)).toEqual([`bad_checksum:${bad.toString('hex')}`]);

    // A damaged frame with a 01 inside: that 01 could start a long frame, so the good frame
    // behind it waits for flush (the driver flushes after 50 ms of silence).
    const bad2 = Buffer.from(HOPPER_STATUS);
    bad2[bad2.length - 1] = 0xf1;
    const g = new CctalkFramer({ accept: [1] });
    const first = g.push(Buffer.concat([bad2, ACK_COIN]));
    expect(frames(first)).toEqual([]);
    expect(discards(first)).toEqual(['bad_checksum:01040300050002']);
    const flushed = g.flush();
    expect(discards(flushed)).toEqual(['truncated:01f1']);
    expect(frames(flushed)).toEqual([ACK_COIN.toString('hex')]);
  });

  it('rejects a length over 252 at once, and a stalled long candidate gives way at flush', () => {
    const f = new CctalkFramer({ accept: [1] });
    expect(discards(f.push(hex('01 FD')))).toEqual(['bad_length:01fd']);
    // 01 40 …: a garbage 01 that claims 64 data bytes holds the stream until the line goes quiet.
    const held = f.push(Buffer.concat([hex('01 40'), ACK_COIN]));
    expect(frames(held)).toEqual([]);
    const flushed = f.flush();
    expect(discards(flushed)).toEqual(['truncated:0140']);
    expect(frames(flushed)).toEqual([ACK_COIN.toString('hex')]);
  });

  it('with echo, hears its own request and then the answer', () => {
    const f = new CctalkFramer({ accept: [1, 40] });
    const out = f.push(Buffer.concat([READ_EVENTS, EVENTS_REPLY]));
    expect(frames(out)).toEqual([READ_EVENTS.toString('hex'), EVENTS_REPLY.toString('hex')]);
  });

  it('serial numbers, inhibit masks and counters', () => {
    expect(parseSerialNumber(hex('563412'))).toBe(0x123456);
    expect(parseSerialNumber(hex('5634'))).toBeNull();
    expect(encodeInhibitMask([3, 4, 5, 6])).toEqual(hex('3C 00'));
    expect(encodeInhibitMask([9, 16])).toEqual(hex('00 81'));
    expect(parseInhibitMask(hex('3C 00'))).toEqual([3, 4, 5, 6]);
    expect(() => encodeInhibitMask([17])).toThrow(/1\.\.16/);
    expect(counterAdvance(0)).toBe(1);
    expect(counterAdvance(255)).toBe(1);
    expect(counterAdvance(254, 3)).toBe(2);
  });
});

describe('ccTalk bill validator answers', () => {
  it('has one named entry per status code 0..21', () => {
    expect(BILL_STATUS.map((s) => s.code)).toEqual([...Array(22).keys()]);
    expect(new Set(BILL_STATUS.map((s) => s.name)).size).toBe(22);
    expect(billStatus(14)).toMatchObject({ name: 'stacker_full', category: 'fatal' });
  });

  it('decodes events: credit, escrow, status, unknown', () => {
    expect(decodeBillEvent(3, 0)).toEqual({ kind: 'credit', billType: 3 });
    expect(decodeBillEvent(3, 1)).toEqual({ kind: 'escrow', billType: 3 });
    expect(decodeBillEvent(0, 2)).toMatchObject({ kind: 'status', name: 'invalid_bill_validation', category: 'reject' });
    expect(decodeBillEvent(0, 6)).toMatchObject({ kind: 'status', name: 'bill_jammed_transport_unsafe', category: 'fatal' });
    expect(decodeBillEvent(0, 99)).toEqual({ kind: 'unknown', a: 0, b: 99 });
    expect(decodeBillEvent(3, 7)).toEqual({ kind: 'unknown', a: 3, b: 7 });
  });

  it('counts events between polls: baseline, new ones oldest first, wrap, loss, power-up', () => {
    const reply = parseBufferedBillEvents(EVENTS_REPLY.subarray(4, 15));
    if (!reply) throw new Error('parse');
    expect(reply.counter).toBe(3);
    expect(billEventsSince(undefined, reply)).toEqual({ kind: 'baseline', counter: 3 });
    expect(billEventsSince(0, reply)).toEqual({
      kind: 'events',
      counter: 3,
      lost: 0,
      events: [{ kind: 'status', code: 1, name: 'returned_from_escrow', category: 'status' }, { kind: 'escrow', billType: 3 }, { kind: 'credit', billType: 3 }],
    });
    expect(billEventsSince(2, reply)).toMatchObject({ events: [{ kind: 'credit', billType: 3 }], lost: 0 });
    expect(billEventsSince(3, reply)).toMatchObject({ events: [], lost: 0 });
    // 255 → 1 skips 0: two events from 254 to 1.
    const wrapped = { counter: 1, pairs: [[3, 0], [3, 1], [0, 0], [0, 0], [0, 0]] as [number, number][] };
    expect(billEventsSince(254, wrapped)).toMatchObject({ events: [{ kind: 'escrow' }, { kind: 'credit' }], lost: 0 });
    // Eight events since the last poll: the buffer holds five, three are lost.
    const many = { counter: 18, pairs: Array.from({ length: 5 }, () => [0, 10] as [number, number]) };
    expect(billEventsSince(10, many)).toMatchObject({ kind: 'events', lost: 3 });
    expect((billEventsSince(10, many) as { events: unknown[] }).events).toHaveLength(5);
    expect(billEventsSince(7, { counter: 0, pairs: [] })).toEqual({ kind: 'reset', counter: 0 });
    expect(billEventsSince(undefined, { counter: 0, pairs: [] })).toEqual({ kind: 'baseline', counter: 0 });
    expect(parseBufferedBillEvents(hex('03 03 00'))).toBeNull();
  });

  it('turns bill ids into fen with the scaling factor', () => {
    const ten = parseBillId(Buffer.from('CN0010A'));
    expect(ten).toEqual({ id: 'CN0010A', country: 'CN', value: 10, issue: 'A' });
    expect(ten && billValueFen(ten)).toBe(1000);
    expect(ten && billValueFen(ten, { scaling: 1, decimals: 0 })).toBe(1000);
    expect(ten && billValueFen(ten, { scaling: 10, decimals: 2 })).toBe(100);
    expect(parseBillId(Buffer.from('.......'))).toBeNull();
    expect(parseBillId(Buffer.from('CN001'))).toBeNull();
    expect(parseScalingFactor(hex('64 00 02'))).toEqual({ scaling: 100, decimals: 2 });
    expect(parseScalingFactor(hex('00 00 00'))).toBeNull();
  });
});

describe('ccTalk hopper answers', () => {
  it('status, test flags, level and why a payout came up short', () => {
    expect(parseHopperStatus(HOPPER_STATUS.subarray(4, 8))).toEqual({ counter: 5, remaining: 0, paid: 2, unpaid: 1 });
    expect(parseHopperStatus(hex('05 00'))).toBeNull();
    expect(parseTestHopper(hex('02 00'))).toEqual(['payout_timeout']);
    expect(parseTestHopper(hex('21 00 10'))).toEqual(['max_current_exceeded', 'opto_blocked_payout', 'encryption_enabled']);
    expect(encodeTestHopper(['payout_timeout', 'single_coin_mode'])).toEqual(hex('02 02 00'));
    expect(parseHighLowStatus(hex('11'))).toEqual({ low: true, high: null });
    expect(parseHighLowStatus(hex('30'))).toEqual({ low: false, high: false });
    expect(classifyShortPayout(['payout_timeout'])).toBe('hopper_empty');
    expect(classifyShortPayout(['payout_timeout', 'opto_blocked_payout'])).toBe('hopper_jam');
    expect(classifyShortPayout([])).toBe('payout_incomplete');
  });
});
