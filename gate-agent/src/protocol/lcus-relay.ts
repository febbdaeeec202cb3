/**
 * LCUS-type USB relay boards (LCUS-1/2/4/8, CH340 USB-serial, 9600 8N1) that drive the turnstile
 * release input. Pure: commands to bytes, and a stream parser for hardware-sim's side.
 *
 * Command (host → board), 4 bytes, no reply:
 *
 *   A0 | channel 01.. | state 00 off / 01 on | (A0 + channel + state) & 0xFF
 *
 *   A0 01 01 A2   channel 1 on
 *   A0 01 00 A1   channel 1 off
 *
 * Status query: some multi-channel boards accept a single FF byte and answer with ASCII such as
 * "CH1:ON\r\nCH2:OFF\r\n". The exact text varies by board revision and single-channel boards
 * ignore the query, so the gate must never depend on it; `parseRelayStatus` is lenient.
 * Other vendor states (02 "toggle", 03 "on with reply") exist on some revisions; we neither
 * send them nor accept them, and the simulator reports them as `bad_command`.
 */
import { FrameSync, type FrameRules } from './frame-sync.js';

export const LCUS_HEADER = 0xa0;
export const LCUS_QUERY = 0xff;
const FRAME = 4;

export type RelayCommand = { channel: number; on: boolean };

export function encodeRelayCommand(channel: number, on: boolean): Buffer {
  if (!Number.isInteger(channel) || channel < 1 || channel > 0xff) throw new RangeError(`relay channel must be 1..255, got ${channel}`);
  const state = on ? 1 : 0;
  return Buffer.from([LCUS_HEADER, channel, state, (LCUS_HEADER + channel + state) & 0xff]);
}

/** The single-byte status query (see the module note). */
export function encodeRelayQuery(): Buffer {
  return Buffer.from([LCUS_QUERY]);
}

export type RelayDecode = ({ ok: true } & RelayCommand) | { ok: false; reason: 'bad_length' | 'bad_header' | 'bad_checksum' | 'bad_command' };

/** Decode exactly one 4-byte command. */
export function decodeRelayCommand(buf: Buffer): RelayDecode {
  if (buf.length !== FRAME) return { ok: false, reason: 'bad_length' };
  const [h = 0, channel = 0, state = 0, sum = 0] = buf;
  if (h !== LCUS_HEADER) return { ok: false, reason: 'bad_header' };
  if (((h + channel + state) & 0xff) !== sum) return { ok: false, reason: 'bad_checksum' };
  if (channel === 0 || state > 1) return { ok: false, reason: 'bad_command' };
  return { ok: true, channel, on: state === 1 };
}

export type LcusDiscardReason = 'bad_checksum' | 'garbage' | 'bad_command' | 'truncated';
export type LcusFrame =
  | ({ type: 'command' } & RelayCommand)
  | { type: 'query' }
  | { type: 'discarded'; reason: LcusDiscardReason; bytes: Buffer };

/** Next index ≥ from holding A0 or FF, else buf.length. */
function findSync(buf: Buffer, from: number): number {
  for (let i = from; i < buf.length; i++) {
    const b = buf[i];
    if (b === LCUS_HEADER || b === LCUS_QUERY) return i;
  }
  return buf.length;
}

type LcusRejection = Exclude<LcusDiscardReason, 'garbage' | 'truncated'>;

const lcusRules: FrameRules<Exclude<LcusFrame, { type: 'discarded' }>, LcusRejection> = {
  findStart: findSync,
  step(buf, pos) {
    if (buf[pos] === LCUS_QUERY) return { kind: 'frame', item: { type: 'query' }, length: 1 };
    if (buf.length - pos < FRAME) return { kind: 'more' };
    const d = decodeRelayCommand(buf.subarray(pos, pos + FRAME));
    if (d.ok) return { kind: 'frame', item: { type: 'command', channel: d.channel, on: d.on }, length: FRAME };
    if (d.reason === 'bad_command') return { kind: 'drop', reason: 'bad_command', length: FRAME };
    // Resynchronise on the next A0/FF inside the rejected four bytes.
    return { kind: 'reject', reason: 'bad_checksum', length: FRAME };
  },
};

/**
 * Stream parser for the board side. Each input byte lands in exactly one emitted item or stays
 * pending (at most 3 bytes of an incomplete command); `flush()` at end of input reports an
 * incomplete command, it does not keep it.
 */
export class LcusFramer extends FrameSync<Exclude<LcusFrame, { type: 'discarded' }>, LcusRejection> {
  constructor() {
    super(lcusRules);
  }
}

/** Parse the ASCII answer to FF ("CH1:ON", "CH2: OFF", any separators); unknown lines are skipped. */
export function parseRelayStatus(text: string): RelayCommand[] {
  const states: RelayCommand[] = [];
  for (const m of text.matchAll(/CH\s*(\d{1,3})\s*[:=]?\s*(ON|OFF)/gi)) {
    states.push({ channel: Number(m[1]), on: (m[2] ?? '').toUpperCase() === 'ON' });
  }
  return states;
}

/** Board side of the query, for hardware-sim. */
export function encodeRelayStatus(states: readonly RelayCommand[]): Buffer {
  return Buffer.from(states.map((s) => `CH${s.channel}:${s.on ? 'ON' : 'OFF'}\r\n`).join(''), 'latin1');
}
