/**
 * ccTalk payout hopper answers (Generic Specification, part 3: hopper commands). Pure.
 *
 *   164 enable hopper [165 = enable, anything else = disable] → ACK
 *   167 dispense hopper coins [serial LSB][serial][serial MSB][N] → ACK (or [event counter] on newer firmware)
 *       This is the unencrypted form used by serial-number hoppers (Money Controls SCH/Compact
 *       Hopper family and clones). Hoppers in encrypted mode want 8 cipher bytes instead; not done.
 *   166 request hopper status → [event counter][coins remaining][last payout: paid][last payout: unpaid]
 *   163 test hopper → [register 1][register 2][register 3 (optional)]: fault flags (HOPPER_FLAGS)
 *   217 request payout high/low status → [bit 0 at/below low level, bit 1 at/above high level,
 *       bit 4 low sensor fitted, bit 5 high sensor fitted]
 *   172 emergency stop → [coins remaining unpaid]
 */

export const ENABLE_HOPPER_CODE = 165;

/** Test hopper flags, register by register, bit 0 first, as the specification lists them. */
export const HOPPER_FLAGS = [
  ['max_current_exceeded', 'payout_timeout', 'motor_reversed', 'opto_blocked_idle', 'opto_short_idle', 'opto_blocked_payout', 'power_up', 'payout_disabled'],
  ['opto_short_payout', 'single_coin_mode', 'checksum_a_error', 'checksum_b_error', 'checksum_c_error', 'checksum_d_error', 'power_fail_nv_write', 'pin_enabled'],
  ['power_down_payout', 'unknown_coin_paid', 'pin_incorrect', 'cipher_key_incorrect', 'encryption_enabled', 'reserved_3_5', 'reserved_3_6', 'reserved_3_7'],
] as const;
export type HopperFlag = (typeof HOPPER_FLAGS)[number][number];

export function parseTestHopper(data: Buffer): HopperFlag[] | null {
  if (data.length < 1 || data.length > 3) return null;
  const flags: HopperFlag[] = [];
  for (let r = 0; r < data.length; r++) {
    const byte = data[r] ?? 0;
    const names = HOPPER_FLAGS[r];
    if (!names) continue;
    for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) flags.push(names[bit] as HopperFlag);
  }
  return flags;
}

export function encodeTestHopper(flags: Iterable<HopperFlag>): Buffer {
  const regs = Buffer.alloc(3);
  for (const f of flags) {
    HOPPER_FLAGS.forEach((names, r) => {
      const bit = (names as readonly string[]).indexOf(f);
      if (bit >= 0) regs[r] = (regs[r] ?? 0) | (1 << bit);
    });
  }
  return regs;
}

export interface HopperStatus {
  counter: number;
  remaining: number;
  paid: number;
  unpaid: number;
}

export function parseHopperStatus(data: Buffer): HopperStatus | null {
  if (data.length !== 4) return null;
  return { counter: data[0] ?? 0, remaining: data[1] ?? 0, paid: data[2] ?? 0, unpaid: data[3] ?? 0 };
}

export function encodeHopperStatus(s: HopperStatus): Buffer {
  return Buffer.from([s.counter, s.remaining, s.paid, s.unpaid]);
}

export function encodeDispense(serial: Buffer, coins: number): Buffer {
  if (serial.length !== 3) throw new RangeError('hopper serial number must be 3 bytes');
  if (!Number.isInteger(coins) || coins < 1 || coins > 255) throw new RangeError(`coins per dispense must be 1..255, got ${coins}`);
  return Buffer.concat([serial, Buffer.from([coins])]);
}

export function parseDispense(data: Buffer): { serial: Buffer; coins: number } | null {
  if (data.length !== 4) return null;
  return { serial: Buffer.from(data.subarray(0, 3)), coins: data[3] ?? 0 };
}

export type HopperLevel = { low: boolean | null; high: boolean | null };

export function parseHighLowStatus(data: Buffer): HopperLevel | null {
  const b = data[0];
  if (data.length !== 1 || b === undefined) return null;
  return { low: b & 0x10 ? Boolean(b & 0x01) : null, high: b & 0x20 ? Boolean(b & 0x02) : null };
}

export function encodeHighLowStatus(l: HopperLevel): Buffer {
  let b = 0;
  if (l.low !== null) b |= 0x10 | (l.low ? 0x01 : 0);
  if (l.high !== null) b |= 0x20 | (l.high ? 0x02 : 0);
  return Buffer.from([b]);
}

export type PayoutFault = 'hopper_empty' | 'hopper_jam' | 'payout_incomplete';

/**
 * Why a payout stopped short, from the test-hopper flags: a blocked exit or a stalled motor is a
 * jam; a timeout with neither is an empty hopper (nothing came out in the hopper's payout time).
 */
export function classifyShortPayout(flags: readonly HopperFlag[]): PayoutFault {
  if (flags.includes('max_current_exceeded') || flags.includes('opto_blocked_payout') || flags.includes('motor_reversed')) return 'hopper_jam';
  if (flags.includes('payout_timeout')) return 'hopper_empty';
  return 'payout_incomplete';
}
