/**
 * The cash side of the kiosk as the sale flow sees it: one ccTalk line with a bill validator
 * (escrow) and a coin hopper (change). Amounts are fen.
 *
 *   enable([1000, 2000, 5000, 10000])  take ¥10–¥100 notes
 *   'noteHeld' (note)                  a note waits in escrow → accept(note) or returnNote(note)
 *   'noteStacked' / 'noteReturned'     the validator settled it (the cash journal counts these)
 *   'noteRejected' (reason)            fake, inhibited, … : the visitor has it back
 *   'fault' (fault)                    jam, stacker full, hopper empty, unplugged, …
 *   payChange(fen)                     coins out; resolves with what was actually paid
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { openSerialPort, type DeviceHealth, type SerialOpener } from '@stile/gate-agent';
import type { PayoutFault } from '../protocol/cctalk-hopper.js';
import { BillValidator, type BillFault, type BillType, type HeldNote, type NoteRejectReason, type NoteReturnReason } from './cctalk-bill-validator.js';
import { CctalkBus } from './cctalk-bus.js';
import type { CashDevicesConfig } from './cctalk-config.js';
import { CashDeviceError, CashErrorCode } from './cctalk-errors.js';
import { Hopper, type HopperFault, type PayoutResult } from './cctalk-hopper.js';

export type { HeldNote } from './cctalk-bill-validator.js';

export interface StackedNote {
  /** The held note it settles; undefined when the validator stacked without escrow. */
  note: HeldNote | undefined;
  billId: string;
  fen: number;
}

export interface CashFault {
  device: 'bill_validator' | 'hopper';
  code: BillFault['code'] | HopperFault['code'];
  message: string;
  note?: HeldNote;
}

export interface ChangeResult {
  requestedFen: number;
  paidFen: number;
  unpaidFen: number;
  coins: PayoutResult | null;
  fault?: PayoutFault | 'no_hopper';
}

export interface CashDevicesEvents {
  ready: ['bill_validator' | 'hopper'];
  noteHeld: [HeldNote];
  noteStacked: [StackedNote];
  noteReturned: [HeldNote | undefined, NoteReturnReason];
  noteRejected: [NoteRejectReason];
  fault: [CashFault];
}

export class CashDevices extends EventEmitter<CashDevicesEvents> {
  readonly bus: CctalkBus;
  readonly validator: BillValidator;
  readonly hopper: Hopper | undefined;

  constructor(cfg: CashDevicesConfig, log: Logger, open: SerialOpener = openSerialPort) {
    super();
    const addresses = [cfg.billValidator.address, ...(cfg.hopper ? [cfg.hopper.address] : [])];
    const cashLog = log.child({ module: 'cash' });
    this.bus = new CctalkBus({ name: 'cctalk', path: cfg.path, baudRate: cfg.baudRate, timeoutMs: cfg.timeoutMs, retries: cfg.retries, echo: cfg.echo, addresses }, cashLog, open);
    this.validator = new BillValidator(this.bus, { name: 'bill_validator', ...cfg.billValidator }, cashLog);
    this.hopper = cfg.hopper ? new Hopper(this.bus, { name: 'hopper', ...cfg.hopper }, cashLog) : undefined;

    this.validator.on('ready', () => this.emit('ready', 'bill_validator'));
    this.validator.on('held', (n) => this.emit('noteHeld', n));
    this.validator.on('stacked', (s) => this.emit('noteStacked', { note: s.note, billId: s.billId, fen: s.fen }));
    this.validator.on('returned', (n, why) => this.emit('noteReturned', n, why));
    this.validator.on('rejected', (why) => this.emit('noteRejected', why));
    this.validator.on('fault', (f) => this.emit('fault', { device: 'bill_validator', ...f }));
    this.hopper?.on('ready', () => this.emit('ready', 'hopper'));
    this.hopper?.on('fault', (f) => this.emit('fault', { device: 'hopper', ...f }));
  }

  start(): void {
    this.bus.start();
  }

  /** The notes the validator knows, with values. */
  get billTypes(): BillType[] {
    return this.validator.billTypes;
  }

  /** Take notes of these values (fen) from now on; [] takes none. */
  enable(valuesFen: readonly number[]): Promise<void> {
    return this.validator.enable(valuesFen);
  }

  disable(): Promise<void> {
    return this.validator.disable();
  }

  accept(note: HeldNote): Promise<void> {
    return this.validator.accept(note);
  }

  returnNote(note: HeldNote): Promise<void> {
    return this.validator.returnNote(note);
  }

  /**
   * Whether `fen` can be paid in this hopper's coins at all (the sale flow checks before it
   * takes money; whether enough coins are left shows only when paying).
   */
  canMakeChange(fen: number): boolean {
    if (fen === 0) return true;
    return this.hopper !== undefined && this.hopper.isReady && fen > 0 && fen % this.hopper.coinFen === 0;
  }

  /** Pay change; resolves with what came out. Throws only when nothing was paid. */
  async payChange(fen: number): Promise<ChangeResult> {
    if (!Number.isInteger(fen) || fen < 0) throw new CashDeviceError(CashErrorCode.BadRequest, `change must be whole fen ≥ 0, got ${fen}`);
    if (fen === 0) return { requestedFen: 0, paidFen: 0, unpaidFen: 0, coins: null };
    if (!this.hopper) return { requestedFen: fen, paidFen: 0, unpaidFen: fen, coins: null, fault: 'no_hopper' };
    const coin = this.hopper.coinFen;
    if (fen % coin !== 0) throw new CashDeviceError(CashErrorCode.BadRequest, `change of ${fen} fen cannot be paid in ${coin}-fen coins`);
    const coins = await this.hopper.payout(fen / coin);
    const paidFen = coins.paid * coin;
    return { requestedFen: fen, paidFen, unpaidFen: fen - paidFen, coins, ...(coins.fault ? { fault: coins.fault } : {}) };
  }

  health(): DeviceHealth[] {
    return [this.bus.health, this.validator.health, ...(this.hopper ? [this.hopper.health] : [])];
  }

  async close(): Promise<void> {
    await this.validator.close();
    await this.hopper?.close();
    await this.bus.close();
  }
}
