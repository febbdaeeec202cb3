/**
 * GA/T 467 serial protocol of the resident ID-card reader's SAM module (神思/华视/精伦 and
 * clones, 115200 8N1). Pure: bytes in, frames and messages out; the port lives elsewhere.
 *
 * Both directions use the same frame:
 *
 *   AA AA AA 96 69 | LEN_HI LEN_LO | payload | XOR
 *
 * LEN (big-endian) counts the payload plus the checksum byte. XOR covers the two LEN bytes and
 * the payload. Request payload = CMD PARA; response payload = SW1 SW2 SW3 data.
 *
 * Reference exchange, as the hex literals in public reader drivers have it (not yet captured
 * from our own hardware; replace with a capture when we have one), used verbatim in the tests:
 *   → AA AA AA 96 69 00 03 20 01 22                    find card
 *   ← AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97     card found
 *   ← AA AA AA 96 69 00 04 00 00 80 84                 no card
 */
import { FrameSync, type FrameRules } from './frame-sync.js';

export * from './ga467-idtext.js';
export * from './ga467-nations.js';

export const GA467_PREAMBLE = Buffer.from([0xaa, 0xaa, 0xaa, 0x96, 0x69]);
/** Preamble + LEN. */
const HEADER = 7;
/** Shortest legal LEN: a request's CMD PARA + checksum. */
const MIN_LEN = 3;
/** A read with fingerprint is 2314; 4096 leaves room for vendor extensions but not for noise. */
export const GA467_DEFAULT_MAX_LEN = 4096;
const EMPTY = Buffer.alloc(0);

/** The commands the gate uses, as CMD/PARA pairs. */
export const Ga467Command = {
  resetSam: { cmd: 0x10, para: 0xff },
  samStatus: { cmd: 0x11, para: 0xff },
  readSamId: { cmd: 0x12, para: 0xff },
  findCard: { cmd: 0x20, para: 0x01 },
  selectCard: { cmd: 0x20, para: 0x02 },
  /** Text (256) + photo (1024). */
  readBase: { cmd: 0x30, para: 0x01 },
  /** Text + photo + fingerprint; cards without fingerprints answer with length 0. */
  readBaseWithFingerprint: { cmd: 0x30, para: 0x10 },
  /** 追加住址: address changes written after issue. */
  readNewAddress: { cmd: 0x30, para: 0x03 },
} as const;

/**
 * SW3 codes as documented in the reader SDKs (SDT/Syn API tables, which follow GA/T 467).
 * SW1/SW2 are 00 00 on every module we have seen. Codes 0x01–0x09 in those tables are host-API
 * return values (port open failed, timeout…) and never appear on the wire, so they are absent.
 */
export const GA467_STATUS = [
  { code: 0x90, name: 'ok', meaning: '操作成功' },
  { code: 0x91, name: 'no_content', meaning: '居民身份证中无此项内容 (e.g. no fingerprint, no new address)' },
  { code: 0x9f, name: 'card_found', meaning: '寻找居民身份证成功' },
  { code: 0x10, name: 'rx_checksum_error', meaning: '接收业务终端数据的校验和错: our request had a bad checksum' },
  { code: 0x11, name: 'rx_length_error', meaning: '接收业务终端数据的长度错: our request had a bad length' },
  { code: 0x21, name: 'command_error', meaning: '接收业务终端的命令错误: unknown command or bad parameter' },
  { code: 0x23, name: 'unauthorised_operation', meaning: '越权操作: command not allowed in this state' },
  { code: 0x24, name: 'unrecognised_error', meaning: '无法识别的错误' },
  { code: 0x31, name: 'card_auth_sam_failed', meaning: '居民身份证认证SAM失败: card rejected the SAM' },
  { code: 0x32, name: 'sam_auth_card_failed', meaning: 'SAM认证居民身份证失败: SAM rejected the card (possible forgery)' },
  { code: 0x33, name: 'verify_failed', meaning: '信息验证失败' },
  { code: 0x37, name: 'fingerprint_verify_failed', meaning: '指纹信息验证错误' },
  { code: 0x3f, name: 'info_length_error', meaning: '信息长度错误' },
  { code: 0x40, name: 'unknown_card_type', meaning: '无法识别的居民身份证类型' },
  { code: 0x41, name: 'read_failed', meaning: '读居民身份证操作失败: card moved away mid-read, retry' },
  { code: 0x47, name: 'random_failed', meaning: '取随机数失败' },
  { code: 0x60, name: 'sam_self_test_failed', meaning: 'SAM自检失败，不能接收命令' },
  { code: 0x66, name: 'sam_not_authorised', meaning: 'SAM没经过授权，无法使用' },
  { code: 0x80, name: 'no_card', meaning: '寻找居民身份证失败: no card in the field' },
  { code: 0x81, name: 'select_failed', meaning: '选取居民身份证失败' },
] as const;

export type Ga467StatusName = (typeof GA467_STATUS)[number]['name'];
export type Ga467StatusEntry = (typeof GA467_STATUS)[number];
const STATUS_BY_CODE = new Map<number, Ga467StatusEntry>(GA467_STATUS.map((s) => [s.code, s]));

/** Table lookup for logs and gatectl; undefined for codes outside the table. */
export function ga467Status(sw3: number): Ga467StatusEntry | undefined {
  return STATUS_BY_CODE.get(sw3);
}

export type Ga467DiscardReason = 'bad_checksum' | 'garbage' | 'too_long' | 'bad_length' | 'truncated';
export type Ga467Frame = { type: 'frame'; payload: Buffer } | { type: 'discarded'; reason: Ga467DiscardReason; bytes: Buffer };

function xor(buf: Buffer, start: number, end: number): number {
  let x = 0;
  for (let i = start; i < end; i++) x ^= buf[i] ?? 0;
  return x;
}

function assertByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${name} must be a byte, got ${v}`);
}

/** Wrap a payload in preamble, length and checksum. */
export function encodeFrame(payload: Buffer): Buffer {
  const len = payload.length + 1;
  if (len > 0xffff) throw new RangeError(`GA/T 467 payload too long: ${payload.length}`);
  const frame = Buffer.alloc(HEADER + len);
  GA467_PREAMBLE.copy(frame, 0);
  frame.writeUInt16BE(len, 5);
  payload.copy(frame, HEADER);
  frame[frame.length - 1] = xor(frame, 5, frame.length - 1);
  return frame;
}

export function encodeRequest(cmd: number, para: number): Buffer {
  assertByte('cmd', cmd);
  assertByte('para', para);
  return encodeFrame(Buffer.from([cmd, para]));
}

/** Reader side, for hardware-sim and tests. */
export function encodeResponse(sw3: number, data: Buffer = EMPTY, sw1 = 0, sw2 = 0): Buffer {
  for (const [n, v] of [['sw1', sw1], ['sw2', sw2], ['sw3', sw3]] as const) assertByte(n, v);
  return encodeFrame(Buffer.concat([Buffer.from([sw1, sw2, sw3]), data]));
}

export type Ga467Response =
  | { status: Ga467StatusName | 'unknown_status'; sw1: number; sw2: number; sw3: number; data: Buffer }
  | { status: 'malformed'; payload: Buffer };

/** Payload of a response frame to status + data. Unknown SW3 keeps its byte for the log. */
export function parseResponse(payload: Buffer): Ga467Response {
  const [sw1, sw2, sw3] = payload;
  if (sw1 === undefined || sw2 === undefined || sw3 === undefined) return { status: 'malformed', payload };
  return { status: STATUS_BY_CODE.get(sw3)?.name ?? 'unknown_status', sw1, sw2, sw3, data: payload.subarray(3) };
}

export type Ga467CardData =
  | { ok: true; text: Buffer; photoLength: number; fingerprintLength: number }
  | { ok: false; reason: 'short' | 'length_mismatch'; length: number };

/**
 * Split the data of a successful read (30 01, or 30 10 with `withFingerprint`): BE lengths of
 * text, photo (and fingerprint), then the blocks. Photo and fingerprint bytes are biometric data
 * the gate has no use for, so only their lengths leave this function.
 */
export function parseCardData(data: Buffer, withFingerprint = false): Ga467CardData {
  const head = withFingerprint ? 6 : 4;
  if (data.length < head) return { ok: false, reason: 'short', length: data.length };
  const textLength = data.readUInt16BE(0);
  const photoLength = data.readUInt16BE(2);
  const fingerprintLength = withFingerprint ? data.readUInt16BE(4) : 0;
  if (data.length !== head + textLength + photoLength + fingerprintLength) return { ok: false, reason: 'length_mismatch', length: data.length };
  return { ok: true, text: Buffer.from(data.subarray(head, head + textLength)), photoLength, fingerprintLength };
}

/** Inverse of parseCardData, for hardware-sim. */
export function encodeCardData(text: Buffer, photo: Buffer, fingerprint?: Buffer): Buffer {
  const head = Buffer.alloc(fingerprint ? 6 : 4);
  head.writeUInt16BE(text.length, 0);
  head.writeUInt16BE(photo.length, 2);
  if (fingerprint) head.writeUInt16BE(fingerprint.length, 4);
  return Buffer.concat(fingerprint ? [head, text, photo, fingerprint] : [head, text, photo]);
}

/**
 * First index ≥ from where a preamble starts, or where the buffer ends in a proper prefix of one
 * (the rest may be in the next chunk); buf.length if neither.
 */
function findSync(buf: Buffer, from: number): number {
  const i = buf.indexOf(GA467_PREAMBLE, from);
  if (i >= 0) return i;
  for (let k = Math.min(GA467_PREAMBLE.length - 1, buf.length - from); k > 0; k--) {
    if (buf.compare(GA467_PREAMBLE, 0, k, buf.length - k) === 0) return buf.length - k;
  }
  return buf.length;
}

type Ga467Rejection = Exclude<Ga467DiscardReason, 'garbage' | 'truncated'>;

/** GA/T 467 framing for FrameSync: preamble, LEN within [MIN_LEN, maxLength], XOR over LEN and payload. */
function ga467Rules(maxLength: number): FrameRules<Extract<Ga467Frame, { type: 'frame' }>, Ga467Rejection> {
  return {
    findStart: findSync,
    findHeader: (buf) => buf.indexOf(GA467_PREAMBLE, 1),
    step(buf, pos) {
      if (buf.length - pos < HEADER) return { kind: 'more' };
      const len = buf.readUInt16BE(pos + 5);
      if (len < MIN_LEN || len > maxLength) return { kind: 'reject', reason: len < MIN_LEN ? 'bad_length' : 'too_long', length: HEADER };
      const end = pos + HEADER + len;
      if (end > buf.length) return { kind: 'more' };
      if (xor(buf, pos + 5, end - 1) !== buf[end - 1]) return { kind: 'reject', reason: 'bad_checksum', length: HEADER + len };
      return { kind: 'frame', item: { type: 'frame', payload: Buffer.from(buf.subarray(pos + HEADER, end - 1)) }, length: HEADER + len };
    },
  };
}

/**
 * Streaming framer. Every input byte ends up in exactly one emitted item (frame or discard) or
 * stays pending, which the tests check. On a bad checksum only the bytes up to the next preamble
 * inside the rejected frame are dropped: a truncated response followed by a good one (reader
 * reset mid-answer) still yields the good one. `flush()` (end of input, or the caller's response
 * timeout) reports the pending head as truncated and still decodes any complete frame hiding
 * behind it (after a bogus long LEN).
 */
export class Ga467Framer extends FrameSync<Extract<Ga467Frame, { type: 'frame' }>, Ga467Rejection> {
  constructor(maxLength = GA467_DEFAULT_MAX_LEN) {
    super(ga467Rules(maxLength));
  }
}
