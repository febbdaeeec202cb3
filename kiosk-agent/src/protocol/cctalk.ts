/**
 * ccTalk framing and the generic commands (ccTalk Generic Specification, part 1 and 2). Pure:
 * bytes in, frames out; the port lives in devices/cctalk-bus.ts.
 *
 *   [dest] [data length] [source] [header] [data …] [checksum]
 *
 * Simple checksum: the sum of all bytes of the frame is 0 mod 256. The CRC-16 variant (CRC in
 * the source byte and the checksum byte) and the encrypted variants are not implemented.
 * A reply carries header 0 (ACK when it has no data); NAK is header 5, BUSY header 6.
 *
 * Reference exchange from the specification, used verbatim in the tests:
 *   → 02 00 01 FE FF   simple poll to a coin acceptor at address 2
 *   ← 01 00 02 00 FD   ACK
 */
import { FrameSync, type FrameRules } from '@stile/gate-agent/protocol';

export const CCTALK_ADDRESS = {
  broadcast: 0,
  host: 1,
  coinAcceptor: 2,
  /** Hoppers are 3 and up (3–10 by convention). */
  hopper: 3,
  billValidator: 40,
} as const;

/** The headers we use, named as in the specification. */
export const CctalkHeader = {
  reply: 0,
  resetDevice: 1,
  nak: 5,
  busy: 6,
  modifyBillOperatingMode: 153,
  routeBill: 154,
  requestCountryScalingFactor: 156,
  requestBillId: 157,
  readBufferedBillEvents: 159,
  testHopper: 163,
  enableHopper: 164,
  requestHopperStatus: 166,
  dispenseHopperCoins: 167,
  emergencyStop: 172,
  requestPayoutHighLowStatus: 217,
  requestMasterInhibitStatus: 227,
  modifyMasterInhibitStatus: 228,
  requestInhibitStatus: 230,
  modifyInhibitStatus: 231,
  requestSerialNumber: 242,
  requestProductCode: 244,
  requestEquipmentCategoryId: 245,
  requestManufacturerId: 246,
  simplePoll: 254,
} as const;
export type CctalkHeaderName = keyof typeof CctalkHeader;
const HEADER_NAMES = new Map<number, CctalkHeaderName>((Object.entries(CctalkHeader) as [CctalkHeaderName, number][]).map(([n, h]) => [h, n]));

/** For logs: the header's name, or its number. */
export function cctalkHeaderName(header: number): string {
  return HEADER_NAMES.get(header) ?? `header_${header}`;
}

/** The specification caps the data block at 252 bytes (255 with the other fields). */
export const CCTALK_MAX_DATA = 252;
/** dest, length, source, header + checksum. */
const OVERHEAD = 5;

export interface CctalkFrame {
  dest: number;
  src: number;
  header: number;
  data: Buffer;
}

function assertByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`ccTalk ${name} must be a byte, got ${v}`);
}

/** The byte that makes the sum of `bytes` plus itself 0 mod 256. */
export function cctalkChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i] ?? 0;
  return (256 - (sum & 0xff)) & 0xff;
}

export function encodeCctalk(f: { dest: number; src: number; header: number; data?: Buffer | readonly number[] }): Buffer {
  const data = f.data === undefined ? Buffer.alloc(0) : Buffer.from(f.data);
  assertByte('dest', f.dest);
  assertByte('src', f.src);
  assertByte('header', f.header);
  if (data.length > CCTALK_MAX_DATA) throw new RangeError(`ccTalk data too long: ${data.length} > ${CCTALK_MAX_DATA}`);
  const out = Buffer.alloc(data.length + OVERHEAD);
  out[0] = f.dest;
  out[1] = data.length;
  out[2] = f.src;
  out[3] = f.header;
  data.copy(out, 4);
  out[out.length - 1] = cctalkChecksum(out, 0, out.length - 1);
  return out;
}

/** A request from the host (address 1) to a device. */
export function cctalkRequest(dest: number, header: number, data: Buffer | readonly number[] = []): Buffer {
  return encodeCctalk({ dest, src: CCTALK_ADDRESS.host, header, data });
}

/** A device's reply (header 0) to the host; no data is an ACK. */
export function cctalkReply(src: number, data: Buffer | readonly number[] = []): Buffer {
  return encodeCctalk({ dest: CCTALK_ADDRESS.host, src, header: CctalkHeader.reply, data });
}

export type CctalkDiscardReason = 'bad_checksum' | 'bad_length';
export type CctalkFramerItem = ({ type: 'frame'; raw: Buffer } & CctalkFrame) | { type: 'discarded'; reason: CctalkDiscardReason | 'garbage' | 'truncated'; bytes: Buffer };

export interface CctalkFramerOptions {
  /**
   * Destination addresses a frame may have; bytes that cannot start such a frame are garbage.
   * The host listens for 1, plus the devices' addresses when the bus echoes its own requests;
   * a device listens for its own addresses. Default: any.
   */
  accept?: readonly number[];
}

function cctalkRules(accept: readonly number[] | undefined): FrameRules<Extract<CctalkFramerItem, { type: 'frame' }>, CctalkDiscardReason> {
  const ok = accept === undefined ? undefined : new Set(accept);
  const findStart = (buf: Buffer, from: number): number => {
    if (ok === undefined) return from;
    for (let i = from; i < buf.length; i++) if (ok.has(buf[i] ?? -1)) return i;
    return buf.length;
  };
  return {
    findStart,
    findHeader: (buf) => {
      const i = findStart(buf, 1);
      return i < buf.length ? i : -1;
    },
    step(buf, pos) {
      if (buf.length - pos < 2) return { kind: 'more' };
      const len = buf[pos + 1] ?? 0;
      if (len > CCTALK_MAX_DATA) return { kind: 'reject', reason: 'bad_length', length: 2 };
      const total = len + OVERHEAD;
      if (buf.length - pos < total) return { kind: 'more' };
      if (cctalkChecksum(buf, pos, pos + total - 1) !== buf[pos + total - 1]) return { kind: 'reject', reason: 'bad_checksum', length: total };
      const raw = Buffer.from(buf.subarray(pos, pos + total));
      const item = { type: 'frame' as const, raw, dest: raw[0] ?? 0, src: raw[2] ?? 0, header: raw[3] ?? 0, data: raw.subarray(4, total - 1) };
      return { kind: 'frame', item, length: total };
    },
  };
}

/**
 * Streaming ccTalk framer. ccTalk has no start byte, so after garbage it tries every byte that
 * may start a frame (see `accept`), keeps a candidate only if its checksum holds, and otherwise
 * drops bytes up to the next candidate start: a good frame behind a bad one is still found.
 * Adjacent discards with the same reason are merged into one item. Every input byte ends up in
 * exactly one emitted item or stays pending. A garbage byte that looks like a long frame holds
 * the stream until the caller calls `flush()`: the driver does so after the specification's
 * inter-byte gap (50 ms of silence), when any complete frame behind it is still decoded.
 */
export class CctalkFramer {
  private readonly sync: FrameSync<Extract<CctalkFramerItem, { type: 'frame' }>, CctalkDiscardReason>;

  constructor(opts: CctalkFramerOptions = {}) {
    this.sync = new FrameSync(cctalkRules(opts.accept));
  }

  get pendingLength(): number {
    return this.sync.pendingLength;
  }

  push(chunk: Buffer): CctalkFramerItem[] {
    return merge(this.sync.push(chunk));
  }

  flush(): CctalkFramerItem[] {
    return merge(this.sync.flush());
  }
}

function merge(items: CctalkFramerItem[]): CctalkFramerItem[] {
  const out: CctalkFramerItem[] = [];
  for (const item of items) {
    const last = out[out.length - 1];
    if (item.type === 'discarded' && last?.type === 'discarded' && last.reason === item.reason) {
      out[out.length - 1] = { ...last, bytes: Buffer.concat([last.bytes, item.bytes]) };
    } else out.push(item);
  }
  return out;
}

// ---- Generic answers ----------------------------------------------------------------------

/** ASCII answers: equipment category ("Bill Validator", "Payout"), product code, manufacturer. */
export function parseAscii(data: Buffer): string {
  return data.toString('latin1').replace(/\0+$/, '').trim();
}

/** Serial number: three bytes, least significant first. */
export function parseSerialNumber(data: Buffer): number | null {
  return data.length === 3 ? data.readUIntLE(0, 3) : null;
}

export function encodeSerialNumber(serial: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntLE(serial & 0xffffff, 0, 3);
  return b;
}

/** Modify inhibit status: one bit per coin or bill type (bit 0 = type 1), 1 = enabled; two bytes, low first. */
export function encodeInhibitMask(enabledTypes: Iterable<number>): Buffer {
  let mask = 0;
  for (const t of enabledTypes) {
    if (!Number.isInteger(t) || t < 1 || t > 16) throw new RangeError(`bill/coin type must be 1..16, got ${t}`);
    mask |= 1 << (t - 1);
  }
  return Buffer.from([mask & 0xff, mask >> 8]);
}

export function parseInhibitMask(data: Buffer): number[] | null {
  if (data.length < 2) return null;
  const mask = (data[0] ?? 0) | ((data[1] ?? 0) << 8);
  const types: number[] = [];
  for (let t = 1; t <= 16; t++) if (mask & (1 << (t - 1))) types.push(t);
  return types;
}

/** Modify master inhibit status: bit 0 = 1 normal operation, 0 = everything inhibited. */
export function encodeMasterInhibit(enabled: boolean): Buffer {
  return Buffer.from([enabled ? 1 : 0]);
}

/**
 * Event counters of bill validators and hoppers run 1..255 and wrap to 1; 0 only after power-up
 * or reset. How many events happened from `prev` to `now` (wrapping), assuming no reset.
 */
export function counterDelta(prev: number, now: number): number {
  if (now === prev) return 0;
  return now > prev ? now - prev : now + 255 - prev;
}

/** The counter after `n` more events. */
export function counterAdvance(counter: number, n = 1): number {
  let c = counter;
  for (let i = 0; i < n; i++) c = c >= 255 ? 1 : c + 1;
  return c;
}
