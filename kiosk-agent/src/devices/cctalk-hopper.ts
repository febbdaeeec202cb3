/**
 * A ccTalk payout hopper (address 3 and up) with the unencrypted dispense command (167 with the
 * hopper's serial number). payout(n): status → enable → dispense → poll status until the hopper
 * has finished → if it paid short, test hopper (163) says why (empty or jam) → disable.
 * Dispense is never retried: a repeat could pay twice. When its answer is lost, the hopper's
 * event counter tells whether it started.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { newHealth, setState, type DeviceHealth } from '@stile/gate-agent';
import { CctalkHeader, counterAdvance, parseAscii } from '../protocol/cctalk.js';
import {
  classifyShortPayout,
  ENABLE_HOPPER_CODE,
  encodeDispense,
  parseHighLowStatus,
  parseHopperStatus,
  parseTestHopper,
  type HopperFlag,
  type HopperLevel,
  type HopperStatus,
  type PayoutFault,
} from '../protocol/cctalk-hopper.js';
import type { CctalkBus } from './cctalk-bus.js';
import { CashDeviceError, CashErrorCode, isCashDeviceError } from './cctalk-errors.js';

export interface HopperOptions {
  name: string;
  address: number;
  /** Value of the one coin this hopper holds, in fen (¥1 = 100). */
  coinFen: number;
  /** Status poll interval during a payout. */
  pollMs: number;
  /** Longest a coin may take to come out before the payout is stopped (emergency stop). */
  coinTimeoutMs: number;
}

export interface PayoutResult {
  requested: number;
  paid: number;
  unpaid: number;
  fault?: PayoutFault;
  flags?: HopperFlag[];
}

export interface HopperFault {
  code: PayoutFault | 'not_responding' | 'device_unavailable' | 'init_failed';
  message: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const INIT_RETRY_MS = 1000;
/** The dispense command's coin count is one byte. */
const MAX_PER_DISPENSE = 255;

export class Hopper extends EventEmitter<{ ready: []; fault: [HopperFault]; paid: [PayoutResult] }> {
  readonly health: DeviceHealth;
  private serial: Buffer | undefined;
  private ready = false;
  private busy = false;
  private generation = 0;
  private closed = false;
  info: { product?: string; manufacturer?: string } = {};

  constructor(
    private readonly bus: CctalkBus,
    private readonly opts: HopperOptions,
    private readonly log: Logger,
  ) {
    super();
    this.health = newHealth(opts.name, 'cctalk-hopper');
    bus.on('up', () => this.connected());
    bus.on('down', (err) => {
      this.generation++;
      this.ready = false;
      if (this.closed) return;
      setState(this.health, 'reconnecting', err.message);
      this.fault({ code: 'device_unavailable', message: `hopper unreachable: ${err.message}` });
    });
    if (bus.connected) this.connected();
  }

  get coinFen(): number {
    return this.opts.coinFen;
  }

  get isReady(): boolean {
    return this.ready;
  }

  private req(header: number, data: readonly number[] | Buffer = [], retries?: number) {
    return this.bus.request(this.opts.address, header, data, retries === undefined ? {} : { retries });
  }

  private connected(): void {
    const gen = ++this.generation;
    this.ready = false;
    setState(this.health, 'starting');
    void (async () => {
      while (gen === this.generation && !this.closed) {
        try {
          await this.init();
          if (gen !== this.generation) return;
          this.ready = true;
          setState(this.health, 'ok');
          this.log.info({ event: 'device_ok', device: this.opts.name, ...this.info }, 'hopper ready');
          this.emit('ready');
          return;
        } catch (err) {
          if (gen !== this.generation || this.closed) return;
          setState(this.health, 'degraded', (err as Error).message);
          this.fault({ code: 'init_failed', message: (err as Error).message });
          if (isCashDeviceError(err, CashErrorCode.DeviceUnavailable)) return;
          await sleep(INIT_RETRY_MS);
        }
      }
    })();
  }

  private async init(): Promise<void> {
    await this.req(CctalkHeader.simplePoll);
    const category = parseAscii((await this.req(CctalkHeader.requestEquipmentCategoryId)).data);
    if (category !== 'Payout') throw new CashDeviceError(CashErrorCode.WrongDevice, `address ${this.opts.address} on ${this.bus.path} is a "${category}", not a payout hopper`);
    const serial = (await this.req(CctalkHeader.requestSerialNumber)).data;
    if (serial.length !== 3) throw new CashDeviceError(CashErrorCode.BadReply, `hopper serial number: ${serial.length} bytes, expected 3`);
    this.serial = Buffer.from(serial);
    this.info = {
      product: parseAscii((await this.req(CctalkHeader.requestProductCode)).data),
      manufacturer: parseAscii((await this.req(CctalkHeader.requestManufacturerId)).data),
    };
    await this.req(CctalkHeader.enableHopper, [0]);
  }

  private async status(): Promise<HopperStatus> {
    const r = await this.req(CctalkHeader.requestHopperStatus);
    const s = parseHopperStatus(r.data);
    if (!s) throw new CashDeviceError(CashErrorCode.BadReply, `hopper status: ${r.data.length} bytes, expected 4`);
    return s;
  }

  /** The level sensors, where fitted (null: no such sensor). */
  async level(): Promise<HopperLevel> {
    const r = await this.req(CctalkHeader.requestPayoutHighLowStatus);
    const l = parseHighLowStatus(r.data);
    if (!l) throw new CashDeviceError(CashErrorCode.BadReply, 'hopper high/low status: bad length');
    return l;
  }

  async test(): Promise<HopperFlag[]> {
    const r = await this.req(CctalkHeader.testHopper);
    const flags = parseTestHopper(r.data);
    if (!flags) throw new CashDeviceError(CashErrorCode.BadReply, 'test hopper: bad length');
    return flags;
  }

  /** Pay `coins` coins. Resolves with what came out; a short payout carries the fault. */
  async payout(coins: number): Promise<PayoutResult> {
    if (!Number.isInteger(coins) || coins < 0) throw new CashDeviceError(CashErrorCode.BadRequest, `coins must be a whole number ≥ 0, got ${coins}`);
    if (coins === 0) return { requested: 0, paid: 0, unpaid: 0 };
    if (!this.ready || !this.serial) throw new CashDeviceError(CashErrorCode.DeviceUnavailable, `hopper not ready (${this.health.error ?? this.health.state})`);
    if (this.busy) throw new CashDeviceError(CashErrorCode.HopperBusy, 'a payout is already running');
    this.busy = true;
    try {
      let paid = 0;
      let left = coins;
      while (left > 0) {
        const n = Math.min(left, MAX_PER_DISPENSE);
        const r = await this.dispense(n);
        paid += r.paid;
        left -= n;
        if (r.fault || r.paid < n) {
          const result: PayoutResult = { requested: coins, paid, unpaid: coins - paid, fault: r.fault ?? 'payout_incomplete', ...(r.flags ? { flags: r.flags } : {}) };
          this.fault({ code: result.fault ?? 'payout_incomplete', message: `hopper paid ${paid} of ${coins} coins: ${result.fault}` });
          this.emit('paid', result);
          return result;
        }
      }
      const result = { requested: coins, paid, unpaid: 0 };
      this.emit('paid', result);
      return result;
    } finally {
      this.busy = false;
      await this.req(CctalkHeader.enableHopper, [0]).catch(() => undefined);
    }
  }

  private async dispense(n: number): Promise<PayoutResult> {
    const before = await this.status();
    if (before.remaining > 0) throw new CashDeviceError(CashErrorCode.HopperBusy, `the hopper is still paying ${before.remaining} coin(s)`);
    await this.req(CctalkHeader.enableHopper, [ENABLE_HOPPER_CODE]);
    const expected = counterAdvance(before.counter);
    try {
      await this.req(CctalkHeader.dispenseHopperCoins, encodeDispense(this.serial ?? Buffer.alloc(3), n), 0);
    } catch (err) {
      // The answer may be lost while the hopper runs: its counter says whether it took the command.
      if (!isCashDeviceError(err, CashErrorCode.NoAnswer) || (await this.status()).counter !== expected) throw err;
    }
    const deadline = Date.now() + n * this.opts.coinTimeoutMs + 1000;
    let s = await this.status();
    while (s.counter === expected && s.remaining > 0) {
      if (Date.now() > deadline) {
        this.log.warn({ event: 'device_fault', device: this.opts.name, remaining: s.remaining }, 'payout too slow; emergency stop');
        await this.req(CctalkHeader.emergencyStop).catch(() => undefined);
        s = await this.status();
        break;
      }
      await sleep(this.opts.pollMs);
      s = await this.status();
    }
    if (s.counter !== expected) throw new CashDeviceError(CashErrorCode.BadReply, `hopper event counter ${s.counter}, expected ${expected}: the hopper reset during the payout`);
    if (s.paid >= n) return { requested: n, paid: s.paid, unpaid: 0 };
    const flags = await this.test().catch(() => [] as HopperFlag[]);
    return { requested: n, paid: s.paid, unpaid: n - s.paid, fault: classifyShortPayout(flags), flags };
  }

  private fault(f: HopperFault): void {
    this.log.warn({ event: 'device_fault', device: this.opts.name, code: f.code }, f.message);
    this.emit('fault', f);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
  }
}
