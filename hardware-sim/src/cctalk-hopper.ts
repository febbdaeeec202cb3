/**
 * The logic of a ccTalk payout hopper (address 3) with the unencrypted dispense command, for
 * SimCashDevices. It pays one coin every `coinMs`; when it runs dry it waits its own payout
 * timeout and stops with the rest unpaid and the payout-timeout flag set (what the host reads
 * as "empty"); a jam stops it with the motor-current and exit-blocked flags.
 */
import { EventEmitter } from 'node:events';
import {
  CctalkHeader,
  counterAdvance,
  ENABLE_HOPPER_CODE,
  encodeHighLowStatus,
  encodeHopperStatus,
  encodeSerialNumber,
  encodeTestHopper,
  parseDispense,
  type HopperFlag,
} from '@stile/kiosk-agent/protocol';
import type { CctalkSimLogic, SimAnswer } from './cctalk-validator.js';

export interface SimHopperSettings {
  address?: number;
  /** Coins in the hopper. Default 50. */
  coins?: number;
  serial?: number;
  /** Time per coin. Default 20 ms. */
  coinMs?: number;
  /** How long the hopper runs with no coin coming out before it gives up. Default 3 × coinMs. */
  emptyTimeoutMs?: number;
  /** The low-level sensor trips at or below this many coins. Default 5. */
  lowLevel?: number;
}

const ascii = (s: string) => ({ data: Buffer.from(s, 'latin1') });
const ACK = { data: Buffer.alloc(0) };

export class SimHopper extends EventEmitter<{ coin: [left: number]; done: [paid: number, unpaid: number] }> implements CctalkSimLogic {
  readonly address: number;
  coins: number;
  /** Coins paid out since start. */
  paidOut = 0;
  private readonly serial: Buffer;
  private readonly coinMs: number;
  private readonly emptyTimeoutMs: number;
  private readonly lowLevel: number;
  private enabled = false;
  private counter = 0;
  private remaining = 0;
  private paid = 0;
  private unpaid = 0;
  private flags = new Set<HopperFlag>();
  private jamAfter: number | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: SimHopperSettings = {}) {
    super();
    this.address = opts.address ?? 3;
    this.coins = opts.coins ?? 50;
    this.serial = encodeSerialNumber(opts.serial ?? 0x123456);
    this.coinMs = opts.coinMs ?? 20;
    this.emptyTimeoutMs = opts.emptyTimeoutMs ?? 3 * this.coinMs;
    this.lowLevel = opts.lowLevel ?? 5;
  }

  get serialNumber(): Buffer {
    return Buffer.from(this.serial);
  }

  get paying(): boolean {
    return this.remaining > 0;
  }

  /** Jam after this many more coins (0: at once) on the next payout; cleared by clearJam(). */
  jam(afterCoins = 0): void {
    this.jamAfter = afterCoins;
  }

  clearJam(): void {
    this.jamAfter = null;
    this.flags.delete('max_current_exceeded');
    this.flags.delete('opto_blocked_payout');
  }

  handle(header: number, data: Buffer): SimAnswer {
    switch (header) {
      case CctalkHeader.simplePoll:
        return ACK;
      case CctalkHeader.requestEquipmentCategoryId:
        return ascii('Payout');
      case CctalkHeader.requestProductCode:
        return ascii('SIM-HOP1');
      case CctalkHeader.requestManufacturerId:
        return ascii('STL');
      case CctalkHeader.requestSerialNumber:
        return { data: Buffer.from(this.serial) };
      case CctalkHeader.resetDevice:
        this.stopRun();
        this.counter = 0;
        this.remaining = this.paid = this.unpaid = 0;
        this.enabled = false;
        this.flags = new Set(['power_up']);
        return ACK;
      case CctalkHeader.enableHopper:
        this.enabled = data[0] === ENABLE_HOPPER_CODE;
        return ACK;
      case CctalkHeader.requestHopperStatus:
        return { data: encodeHopperStatus({ counter: this.counter, remaining: this.remaining, paid: this.paid, unpaid: this.unpaid }) };
      case CctalkHeader.testHopper:
        return { data: encodeTestHopper(this.enabled ? this.flags : [...this.flags, 'payout_disabled']) };
      case CctalkHeader.requestPayoutHighLowStatus:
        return { data: encodeHighLowStatus({ low: this.coins <= this.lowLevel, high: null }) };
      case CctalkHeader.emergencyStop: {
        this.stopRun();
        this.unpaid += this.remaining;
        this.remaining = 0;
        return { data: Buffer.from([this.unpaid]) };
      }
      case CctalkHeader.dispenseHopperCoins:
        return this.dispense(data);
      default:
        return null;
    }
  }

  private dispense(data: Buffer): SimAnswer {
    const d = parseDispense(data);
    // Wrong serial number, disabled, already paying or zero coins: refused, nothing moves.
    if (!d || !d.serial.equals(this.serial) || !this.enabled || this.remaining > 0 || d.coins === 0) return 'nak';
    this.counter = counterAdvance(this.counter);
    this.remaining = d.coins;
    this.paid = 0;
    this.unpaid = 0;
    for (const f of ['payout_timeout', 'max_current_exceeded', 'opto_blocked_payout', 'power_up'] as const) this.flags.delete(f);
    this.schedule(this.coins === 0 ? this.emptyTimeoutMs : this.coinMs);
    return ACK;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.step(), ms);
  }

  private step(): void {
    this.timer = undefined;
    if (this.remaining === 0) return;
    if (this.jamAfter !== null && this.jamAfter <= 0) {
      this.flags.add('max_current_exceeded');
      this.flags.add('opto_blocked_payout');
      return this.finish();
    }
    if (this.coins === 0) {
      this.flags.add('payout_timeout');
      return this.finish();
    }
    this.coins--;
    this.paid++;
    this.paidOut++;
    this.remaining--;
    if (this.jamAfter !== null) this.jamAfter--;
    this.emit('coin', this.coins);
    if (this.remaining === 0) return this.finish();
    // Running dry: the next step comes after the hopper's own no-coin timeout.
    this.schedule(this.coins === 0 ? this.emptyTimeoutMs : this.coinMs);
  }

  private finish(): void {
    this.unpaid += this.remaining;
    this.remaining = 0;
    this.emit('done', this.paid, this.unpaid);
  }

  private stopRun(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.stopRun();
  }
}
