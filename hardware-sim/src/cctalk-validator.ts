/**
 * The logic of a ccTalk bill validator (address 40) with escrow, for SimCashDevices: it answers
 * the headers the kiosk uses and keeps the five-event buffer and its counter (1..255, wrapping
 * to 1; 0 after power-up) as the specification has it. Notes are CNY: bill types 1–6 are
 * ¥1, ¥5, ¥10, ¥20, ¥50, ¥100 ("CN0001A" … "CN0100A", scaling 100, 2 decimals).
 *
 * Power-up state, as on real validators: everything inhibited, master inhibit on, escrow off.
 */
import { EventEmitter } from 'node:events';
import {
  billStatusCode,
  CctalkHeader,
  CNY_SCALING,
  counterAdvance,
  encodeBufferedBillEvents,
  encodeScalingFactor,
  encodeSerialNumber,
  RouteCode,
  type BillStatusName,
  type ScalingFactor,
} from '@stile/kiosk-agent/protocol';

/** What a device logic answers: reply data (empty = ACK), NAK, BUSY, or nothing. */
export type SimAnswer = { data: Buffer } | 'nak' | 'busy' | null;

export interface CctalkSimLogic {
  readonly address: number;
  handle(header: number, data: Buffer): SimAnswer;
}

export const SIM_BILL_IDS = ['CN0001A', 'CN0005A', 'CN0010A', 'CN0020A', 'CN0050A', 'CN0100A'] as const;
const UNUSED_ID = '.......';

export interface SimBillValidatorSettings {
  address?: number;
  /** Bill ids by type (index 0 = type 1); default SIM_BILL_IDS. */
  billIds?: readonly string[];
  scaling?: ScalingFactor;
  /** How long stacking takes after route-to-stack. */
  stackMs?: number;
  stackerCapacity?: number;
  serial?: number;
}

export type InsertOutcome = 'held' | 'stacked' | 'rejected' | 'busy';

export interface SimBillValidatorEvents {
  /** Every event put in the buffer, as [A, B]. */
  event: [a: number, b: number];
  stacked: [fen: number];
  returned: [fen: number];
}

const ascii = (s: string) => ({ data: Buffer.from(s, 'latin1') });
const ACK = { data: Buffer.alloc(0) };

export class SimBillValidator extends EventEmitter<SimBillValidatorEvents> implements CctalkSimLogic {
  readonly address: number;
  /** Fen values of the notes in the cash box, in order. */
  readonly stacker: number[] = [];
  readonly stackerCapacity: number;
  private readonly billIds: readonly string[];
  private readonly scaling: ScalingFactor;
  private readonly stackMs: number;
  private readonly serial: number;
  private counter = 0;
  private ring: [number, number][] = [];
  private inhibitMask = 0;
  private master = false;
  private escrowMode = false;
  private escrow: number | null = null;
  private stacking: NodeJS.Timeout | undefined;
  private jammed = false;
  private jamOnStack = false;

  constructor(opts: SimBillValidatorSettings = {}) {
    super();
    this.address = opts.address ?? 40;
    this.billIds = opts.billIds ?? SIM_BILL_IDS;
    this.scaling = opts.scaling ?? CNY_SCALING;
    this.stackMs = opts.stackMs ?? 20;
    this.stackerCapacity = opts.stackerCapacity ?? 1000;
    this.serial = opts.serial ?? 0x0a0b0c;
  }

  /** Bill type (1..) of a value in fen, or null. */
  typeOf(fen: number): number | null {
    const i = this.billIds.findIndex((id) => {
      const m = /^[A-Z]{2}(\d{4})/.exec(id);
      return m !== null && Number(m[1]) * this.scaling.scaling * 10 ** (2 - this.scaling.decimals) === fen;
    });
    return i < 0 ? null : i + 1;
  }

  private fenOf(type: number): number {
    const m = /^[A-Z]{2}(\d{4})/.exec(this.billIds[type - 1] ?? '');
    return m ? Number(m[1]) * this.scaling.scaling * 10 ** (2 - this.scaling.decimals) : 0;
  }

  get eventCounter(): number {
    return this.counter;
  }

  get enabledTypes(): number[] {
    return this.billIds.map((_, i) => i + 1).filter((t) => this.master && this.inhibitMask & (1 << (t - 1)));
  }

  get escrowEnabled(): boolean {
    return this.escrowMode;
  }

  /** Fen value of the note in escrow, or null. */
  get inEscrow(): number | null {
    return this.escrow === null ? null : this.fenOf(this.escrow);
  }

  get isJammed(): boolean {
    return this.jammed;
  }

  get stackerFull(): boolean {
    return this.stacker.length >= this.stackerCapacity;
  }

  private push(a: number, b: number): void {
    this.counter = counterAdvance(this.counter);
    this.ring.unshift([a, b]);
    this.ring.length = Math.min(this.ring.length, 5);
    this.emit('event', a, b);
  }

  private status(name: BillStatusName): void {
    this.push(0, billStatusCode(name));
  }

  /** A visitor feeds a note (fen value, or 'fake' for one that fails validation). */
  insertNote(note: number | 'fake'): InsertOutcome {
    if (this.jammed || this.escrow !== null || this.stacking) return 'busy';
    if (this.stackerFull) {
      this.status('stacker_full');
      return 'rejected';
    }
    const type = note === 'fake' ? null : this.typeOf(note);
    if (type === null) {
      this.status('invalid_bill_validation');
      return 'rejected';
    }
    if (!this.master) {
      this.status('master_inhibit_active');
      return 'rejected';
    }
    if (!(this.inhibitMask & (1 << (type - 1)))) {
      this.status('inhibited_bill_serial');
      return 'rejected';
    }
    if (!this.escrowMode) {
      this.stack(type);
      return 'stacked';
    }
    this.escrow = type;
    this.push(type, 1);
    return 'held';
  }

  private stack(type: number): void {
    this.stacker.push(this.fenOf(type));
    this.push(type, 0);
    this.emit('stacked', this.fenOf(type));
    if (this.stackerFull) this.status('stacker_full');
  }

  /** The note in escrow jams in the transport (the visitor may still reach it): unsafe-mode jam. */
  jam(): void {
    if (this.stacking) {
      clearTimeout(this.stacking);
      this.stacking = undefined;
    }
    this.escrow = null;
    this.jammed = true;
    this.status('bill_jammed_transport_unsafe');
  }

  /** The next note routed to the stacker jams there instead of being stacked. */
  jamNextStack(): void {
    this.jamOnStack = true;
  }

  /** A technician opened the validator and cleared the jam. */
  clearJam(): void {
    this.jammed = false;
  }

  /** Fill the cash box up (a stacker full event follows at once). */
  fillStacker(): void {
    while (this.stacker.length < this.stackerCapacity) this.stacker.push(0);
    this.status('stacker_full');
  }

  /** The cash box was emptied and put back. */
  emptyStacker(): number[] {
    const out = this.stacker.splice(0);
    this.status('stacker_removed');
    this.status('stacker_inserted');
    return out.filter((v) => v > 0);
  }

  /** Power cycle: counter 0, events gone, a held note given back, everything inhibited again. */
  powerCycle(): void {
    clearTimeout(this.stacking);
    this.stacking = undefined;
    if (this.escrow !== null) this.emit('returned', this.fenOf(this.escrow));
    this.escrow = null;
    this.counter = 0;
    this.ring = [];
    this.inhibitMask = 0;
    this.master = false;
    this.escrowMode = false;
  }

  handle(header: number, data: Buffer): SimAnswer {
    switch (header) {
      case CctalkHeader.simplePoll:
        return ACK;
      case CctalkHeader.requestEquipmentCategoryId:
        return ascii('Bill Validator');
      case CctalkHeader.requestProductCode:
        return ascii('SIM-BV1');
      case CctalkHeader.requestManufacturerId:
        return ascii('STL');
      case CctalkHeader.requestSerialNumber:
        return { data: encodeSerialNumber(this.serial) };
      case CctalkHeader.resetDevice:
        setImmediate(() => this.powerCycle());
        return ACK;
      case CctalkHeader.modifyInhibitStatus:
        if (data.length !== 2) return 'nak';
        this.inhibitMask = (data[0] ?? 0) | ((data[1] ?? 0) << 8);
        return ACK;
      case CctalkHeader.requestInhibitStatus:
        return { data: Buffer.from([this.inhibitMask & 0xff, this.inhibitMask >> 8]) };
      case CctalkHeader.modifyMasterInhibitStatus:
        if (data.length !== 1) return 'nak';
        this.master = ((data[0] ?? 0) & 1) === 1;
        return ACK;
      case CctalkHeader.requestMasterInhibitStatus:
        return { data: Buffer.from([this.master ? 1 : 0]) };
      case CctalkHeader.modifyBillOperatingMode:
        if (data.length !== 1) return 'nak';
        this.escrowMode = ((data[0] ?? 0) & 2) !== 0;
        return ACK;
      case CctalkHeader.requestBillId: {
        const t = data[0] ?? 0;
        if (data.length !== 1 || t < 1 || t > 16) return 'nak';
        return ascii(this.billIds[t - 1] ?? UNUSED_ID);
      }
      case CctalkHeader.requestCountryScalingFactor:
        return { data: data.toString('latin1') === 'CN' ? encodeScalingFactor(this.scaling) : Buffer.alloc(3) };
      case CctalkHeader.readBufferedBillEvents:
        return { data: encodeBufferedBillEvents(this.counter, this.ring) };
      case CctalkHeader.routeBill:
        return data.length === 1 ? this.route(data[0] ?? 0) : 'nak';
      default:
        return null; // unsupported header: a ccTalk device stays silent
    }
  }

  private route(code: number): SimAnswer {
    if (this.escrow === null) return { data: Buffer.from([254]) };
    if (this.jammed) return { data: Buffer.from([255]) };
    const type = this.escrow;
    if (code === RouteCode.extendEscrow) return ACK;
    if (code === RouteCode.return) {
      this.escrow = null;
      this.status('returned_from_escrow');
      this.emit('returned', this.fenOf(type));
      return ACK;
    }
    if (code !== RouteCode.stack) return 'nak';
    this.escrow = null;
    this.stacking = setTimeout(() => {
      this.stacking = undefined;
      if (this.jamOnStack) {
        this.jamOnStack = false;
        this.jammed = true;
        this.status('bill_jammed_stacker');
      } else this.stack(type);
    }, this.stackMs);
    return ACK;
  }

  /** Stop timers (the device is closed). */
  stop(): void {
    clearTimeout(this.stacking);
  }
}
