/**
 * A ccTalk bill validator (address 40) in escrow mode. On every connect: check it is a bill
 * validator, read its bill id table (157) and scaling (156) into fen values, switch escrow on
 * (153), set the inhibits for the values the caller enabled (231, 228). Then poll the buffered
 * events (159) every `pollMs`:
 *
 *   note inserted → 'held' (in escrow) → the caller calls accept(note) or returnNote(note)
 *                 → 'stacked' (credit event) or 'returned' (status 1)
 *
 * The events are the truth for the cash journal; accept()/returnNote() resolve on the event
 * that settles the note, for the sale flow's convenience. A note nobody decides on within
 * `escrowTimeoutMs` is returned: no money is kept without a decision.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { newHealth, setState, type DeviceHealth } from '@stile/gate-agent';
import { CctalkHeader, encodeInhibitMask, encodeMasterInhibit, parseAscii, parseSerialNumber } from '../protocol/cctalk.js';
import {
  BILL_JAMS,
  billEventsSince,
  billValueFen,
  CNY_SCALING,
  encodeBillOperatingMode,
  parseBillId,
  parseBufferedBillEvents,
  parseScalingFactor,
  RouteCode,
  type BillEvent,
  type BillStatusName,
} from '../protocol/cctalk-bill.js';
import type { CctalkBus } from './cctalk-bus.js';
import { CashDeviceError, CashErrorCode, isCashDeviceError } from './cctalk-errors.js';

export interface BillValidatorOptions {
  name: string;
  address: number;
  pollMs: number;
  /** ISO 3166 country letters of the bill ids to use (CN for renminbi). */
  country: string;
  escrowTimeoutMs: number;
  /** How long accept()/returnNote() wait for the validator to report the note stacked or returned. */
  settleTimeoutMs: number;
}

export interface BillType {
  billType: number;
  billId: string;
  fen: number;
}

export interface HeldNote {
  /** Increases with every note this driver saw held, so a stale decision cannot hit the next note. */
  id: number;
  billType: number;
  billId: string;
  fen: number;
}

export type NoteReturnReason = 'requested' | 'escrow_timeout' | 'validator';
export type NoteRejectReason = BillStatusName | 'unknown_bill_type' | 'value_not_enabled';

/** Codes of the faults a validator reports; the jam and stacker ones are the specification's names. */
export interface BillFault {
  code: BillStatusName | 'device_reset' | 'events_lost' | 'unknown_bill_stacked' | 'not_responding' | 'device_unavailable' | 'init_failed' | 'unknown_event';
  message: string;
  /** The note in escrow when it happened: its fate is unknown, the journal must record it as such. */
  note?: HeldNote;
}

export interface BillValidatorEvents {
  ready: [BillType[]];
  held: [HeldNote];
  stacked: [{ note: HeldNote | undefined; billType: number; billId: string; fen: number }];
  returned: [HeldNote | undefined, NoteReturnReason];
  rejected: [NoteRejectReason];
  fault: [BillFault];
  /** Informational statuses (stacker inserted, master inhibit active, …). */
  status: [BillStatusName];
}

interface Settle {
  noteId: number;
  want: 'stacked' | 'returned';
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const SILENT_LIMIT = 3;
/** Check the settings survived every this many polls (and every poll while the counter is 0). */
const SETTINGS_CHECK_POLLS = 25;
const INIT_RETRY_MS = 1000;

export class BillValidator extends EventEmitter<BillValidatorEvents> {
  readonly health: DeviceHealth;
  private types = new Map<number, BillType>();
  private enabled = new Set<number>();
  /** Inhibit settings being written (checkSettings waits for them). */
  private applying = 0;
  private counter: number | undefined;
  private escrow: (HeldNote & { phase: 'held' | 'stacking' | 'returning'; why?: NoteReturnReason }) | undefined;
  private escrowTimer: NodeJS.Timeout | undefined;
  private settle: Settle | undefined;
  private noteSeq = 0;
  private polls = 0;
  private ready = false;
  private silent = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  private closed = false;
  info: { product?: string; manufacturer?: string; serial?: number | null } = {};

  constructor(
    private readonly bus: CctalkBus,
    private readonly opts: BillValidatorOptions,
    private readonly log: Logger,
  ) {
    super();
    this.health = newHealth(opts.name, 'cctalk-bill-validator');
    bus.on('up', () => this.connected());
    bus.on('down', (err) => this.disconnected(err));
    if (bus.connected) this.connected();
  }

  /** Bill types the validator reported, with their value in fen. */
  get billTypes(): BillType[] {
    return [...this.types.values()];
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** The note in escrow, if any. */
  get held(): HeldNote | undefined {
    return this.escrow && { id: this.escrow.id, billType: this.escrow.billType, billId: this.escrow.billId, fen: this.escrow.fen };
  }

  private connected(): void {
    const gen = ++this.generation;
    this.ready = false;
    setState(this.health, 'starting');
    void this.initLoop(gen);
  }

  private disconnected(err: Error): void {
    this.generation++;
    this.ready = false;
    clearTimeout(this.pollTimer);
    if (this.closed) return;
    setState(this.health, 'reconnecting', err.message);
    this.fault({ code: 'device_unavailable', message: `bill validator unreachable: ${err.message}`, ...(this.escrow ? { note: this.held } : {}) });
  }

  private async initLoop(gen: number): Promise<void> {
    while (gen === this.generation && !this.closed) {
      try {
        await this.init();
        if (gen !== this.generation) return;
        this.ready = true;
        this.silent = 0;
        setState(this.health, 'ok');
        this.log.info({ event: 'device_ok', device: this.opts.name, types: this.billTypes.map((t) => t.billId), ...this.info }, 'bill validator ready');
        this.emit('ready', this.billTypes);
        this.schedulePoll(gen);
        return;
      } catch (err) {
        if (gen !== this.generation || this.closed) return;
        const e = err as Error;
        setState(this.health, 'degraded', e.message);
        this.fault({ code: 'init_failed', message: e.message });
        if (isCashDeviceError(err, CashErrorCode.DeviceUnavailable)) return;
        await new Promise((r) => setTimeout(r, INIT_RETRY_MS));
      }
    }
  }

  private req(header: number, data: readonly number[] | Buffer = [], retries?: number) {
    return this.bus.request(this.opts.address, header, data, retries === undefined ? {} : { retries });
  }

  private async init(): Promise<void> {
    await this.req(CctalkHeader.simplePoll);
    const category = parseAscii((await this.req(CctalkHeader.requestEquipmentCategoryId)).data);
    if (category !== 'Bill Validator') {
      throw new CashDeviceError(CashErrorCode.WrongDevice, `address ${this.opts.address} on ${this.bus.path} is a "${category}", not a bill validator`);
    }
    this.info = {
      product: parseAscii((await this.req(CctalkHeader.requestProductCode)).data),
      manufacturer: parseAscii((await this.req(CctalkHeader.requestManufacturerId)).data),
      serial: parseSerialNumber((await this.req(CctalkHeader.requestSerialNumber)).data),
    };
    const scaling = await this.req(CctalkHeader.requestCountryScalingFactor, Buffer.from(this.opts.country, 'latin1'))
      .then((r) => parseScalingFactor(r.data))
      .catch((err: unknown) => {
        if (isCashDeviceError(err, CashErrorCode.Nak)) return null;
        throw err;
      });
    const types = new Map<number, BillType>();
    for (let t = 1; t <= 16; t++) {
      const bill = parseBillId((await this.req(CctalkHeader.requestBillId, [t])).data);
      if (!bill || bill.country !== this.opts.country) continue;
      const fen = billValueFen(bill, scaling ?? CNY_SCALING);
      if (fen !== null) types.set(t, { billType: t, billId: bill.id, fen });
    }
    this.types = types;
    await this.req(CctalkHeader.modifyBillOperatingMode, encodeBillOperatingMode({ stacker: true, escrow: true }));
    const first = this.counter === undefined;
    await this.pollOnce();
    // A note left in escrow by a host that stopped goes back to its owner.
    if (first && !this.escrow) await this.req(CctalkHeader.routeBill, [RouteCode.return], 0).catch(() => undefined);
    await this.applyInhibits();
  }

  /** Accept notes of these values (fen); all others are inhibited. An empty list inhibits all. */
  async enable(valuesFen: readonly number[]): Promise<void> {
    const known = new Set(this.billTypes.map((t) => t.fen));
    const unknown = this.ready ? valuesFen.filter((v) => !known.has(v)) : [];
    if (unknown.length > 0) {
      throw new CashDeviceError(CashErrorCode.BadRequest, `no bill type for ${unknown.join(', ')} fen; the validator takes ${[...known].sort((a, b) => a - b).join(', ')}`);
    }
    this.enabled = new Set(valuesFen);
    if (!this.ready) throw new CashDeviceError(CashErrorCode.DeviceUnavailable, `bill validator not ready (${this.health.error ?? this.health.state}); the values apply once it is`);
    await this.applyInhibits();
  }

  disable(): Promise<void> {
    return this.enable([]);
  }

  private async applyInhibits(): Promise<void> {
    const types = this.billTypes.filter((t) => this.enabled.has(t.fen)).map((t) => t.billType);
    // A settings check between these two requests would read the old master inhibit as "lost".
    this.applying++;
    try {
      await this.req(CctalkHeader.modifyInhibitStatus, encodeInhibitMask(types));
      await this.req(CctalkHeader.modifyMasterInhibitStatus, encodeMasterInhibit(types.length > 0));
    } finally {
      this.applying--;
    }
  }

  /** Stack the held note; resolves once the validator reports it stacked (credited). */
  accept(note: HeldNote): Promise<void> {
    return this.route(note, 'stacking');
  }

  /** Give the held note back; resolves once the validator reports it returned. */
  returnNote(note: HeldNote): Promise<void> {
    return this.route(note, 'returning');
  }

  private async route(note: HeldNote, phase: 'stacking' | 'returning'): Promise<void> {
    const e = this.escrow;
    if (!e || e.id !== note.id || e.phase !== 'held') {
      throw new CashDeviceError(CashErrorCode.NotHeld, `note #${note.id} (${note.fen} fen) is not in escrow${e ? ` (#${e.id} is, ${e.phase})` : ''}`);
    }
    clearTimeout(this.escrowTimer);
    e.phase = phase;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.settleWith(note.id, new CashDeviceError(CashErrorCode.NoAnswer, `note #${note.id} not reported ${phase === 'stacking' ? 'stacked' : 'returned'} within ${this.opts.settleTimeoutMs} ms`)), this.opts.settleTimeoutMs);
      this.settle = { noteId: note.id, want: phase === 'stacking' ? 'stacked' : 'returned', resolve, reject, timer };
    });
    done.catch(() => undefined);
    try {
      const reply = await this.req(CctalkHeader.routeBill, [phase === 'stacking' ? RouteCode.stack : RouteCode.return], 0);
      const code = reply.data[0];
      if (code === 254) {
        if (this.escrow?.id === note.id) this.escrow = undefined;
        throw new CashDeviceError(CashErrorCode.EscrowEmpty, `note #${note.id}: the validator has no note in escrow`);
      }
      if (code === 255) throw new CashDeviceError(CashErrorCode.RouteFailed, `note #${note.id}: the validator could not ${phase === 'stacking' ? 'stack' : 'return'} it`);
    } catch (err) {
      // Not routed, as far as we know: the next events tell; the caller hears the error now.
      if (this.escrow?.id === note.id && !isCashDeviceError(err, CashErrorCode.EscrowEmpty)) {
        this.escrow.phase = 'held';
        this.armEscrowTimer(note);
      }
      this.settleWith(note.id, err as Error);
      throw err;
    }
    return done;
  }

  private settleWith(noteId: number, err?: Error): void {
    const s = this.settle;
    if (!s || s.noteId !== noteId) return;
    this.settle = undefined;
    clearTimeout(s.timer);
    if (err) s.reject(err);
    else s.resolve();
  }

  private schedulePoll(gen: number): void {
    if (gen !== this.generation || this.closed) return;
    this.pollTimer = setTimeout(() => {
      this.pollOnce()
        .then(() => {
          if (this.silent >= SILENT_LIMIT) this.log.info({ event: 'device_ok', device: this.opts.name }, 'bill validator answering again');
          if (this.silent > 0 && this.health.state === 'degraded') setState(this.health, 'ok');
          this.silent = 0;
        })
        .catch((err: Error) => this.pollFailed(err))
        .finally(() => this.schedulePoll(gen));
    }, this.opts.pollMs);
  }

  private pollFailed(err: Error): void {
    if (isCashDeviceError(err, CashErrorCode.DeviceUnavailable) || isCashDeviceError(err, CashErrorCode.Closed)) return;
    if (++this.silent === SILENT_LIMIT) {
      setState(this.health, 'degraded', err.message);
      this.fault({ code: 'not_responding', message: `bill validator: ${err.message}` });
    }
  }

  private async pollOnce(): Promise<void> {
    const reply = await this.req(CctalkHeader.readBufferedBillEvents);
    const events = parseBufferedBillEvents(reply.data);
    if (!events) throw new CashDeviceError(CashErrorCode.BadReply, `buffered bill events: ${reply.data.length} bytes, expected 11`);
    const step = billEventsSince(this.counter, events);
    this.counter = step.counter;
    if (step.kind === 'reset') {
      const note = this.held;
      this.dropEscrow(new CashDeviceError(CashErrorCode.NoAnswer, 'bill validator reset with the note in escrow'));
      this.fault({ code: 'device_reset', message: 'bill validator powered up or reset; setting it up again', ...(note ? { note } : {}) });
      if (this.ready) this.connected();
      return;
    }
    if (this.ready && (events.counter === 0 || ++this.polls % SETTINGS_CHECK_POLLS === 0)) await this.checkSettings();
    if (step.kind !== 'events') return;
    if (step.lost > 0) this.fault({ code: 'events_lost', message: `${step.lost} bill event(s) lost between polls: count the cash box` });
    for (const ev of step.events) this.event(ev);
  }

  /**
   * A validator that loses power before its first event comes back with counter 0 again, which
   * the counter cannot tell from "nothing happened": its master inhibit then says so.
   */
  private async checkSettings(): Promise<void> {
    const reply = await this.req(CctalkHeader.requestMasterInhibitStatus);
    const running = ((reply.data[0] ?? 0) & 1) === 1;
    const wanted = this.billTypes.some((t) => this.enabled.has(t.fen));
    if (running === wanted || !this.ready || this.applying > 0) return;
    this.fault({ code: 'device_reset', message: 'bill validator lost its settings (power cut?); setting it up again' });
    this.connected();
  }

  private event(ev: BillEvent): void {
    switch (ev.kind) {
      case 'escrow':
        return this.noteHeld(ev.billType);
      case 'credit':
        return this.credit(ev.billType);
      case 'status':
        if (ev.name === 'returned_from_escrow') return this.returned();
        if (ev.category === 'reject') {
          this.log.info({ event: 'note_rejected', device: this.opts.name, reason: ev.name }, 'note rejected');
          this.emit('rejected', ev.name);
          return;
        }
        if (ev.category === 'status') {
          this.emit('status', ev.name);
          return;
        }
        return this.validatorFault(ev.name);
      default:
        this.fault({ code: 'unknown_event', message: `unknown bill event A=${ev.a} B=${ev.b}` });
    }
  }

  private noteHeld(billType: number): void {
    const type = this.types.get(billType);
    const reason: NoteRejectReason | null = !type ? 'unknown_bill_type' : !this.enabled.has(type.fen) ? 'value_not_enabled' : null;
    if (!type || reason) {
      // The validator should not have taken it; hand it straight back.
      this.log.warn({ event: 'note_rejected', device: this.opts.name, billType, reason }, 'note in escrow the kiosk does not take; returning it');
      void this.req(CctalkHeader.routeBill, [RouteCode.return], 0).catch(() => undefined);
      this.emit('rejected', reason ?? 'unknown_bill_type');
      return;
    }
    const note: HeldNote = { id: ++this.noteSeq, billType, billId: type.billId, fen: type.fen };
    this.escrow = { ...note, phase: 'held' };
    this.armEscrowTimer(note);
    if (this.health.state === 'degraded') setState(this.health, 'ok');
    this.log.info({ event: 'note_held', device: this.opts.name, note: note.id, fen: note.fen }, 'note in escrow');
    this.emit('held', note);
  }

  private armEscrowTimer(note: HeldNote): void {
    clearTimeout(this.escrowTimer);
    this.escrowTimer = setTimeout(() => {
      this.log.warn({ event: 'escrow_timeout', device: this.opts.name, note: note.id }, 'no decision on the note in escrow; returning it');
      if (this.escrow?.id === note.id) this.escrow.why = 'escrow_timeout';
      this.returnNote(note).catch(() => undefined);
    }, this.opts.escrowTimeoutMs);
  }

  private credit(billType: number): void {
    const e = this.escrow;
    const note = e && e.billType === billType ? this.held : undefined;
    if (note) this.clearEscrow();
    const type = this.types.get(billType);
    if (!type) {
      this.fault({ code: 'unknown_bill_stacked', message: `a note of unknown bill type ${billType} was stacked` });
      return;
    }
    this.log.info({ event: 'note_stacked', device: this.opts.name, note: note?.id, fen: type.fen }, 'note stacked');
    this.emit('stacked', { note, billType, billId: type.billId, fen: type.fen });
    if (note) this.settleWith(note.id);
  }

  private returned(): void {
    const e = this.escrow;
    const note = this.held;
    const reason: NoteReturnReason = e?.phase === 'returning' ? (e.why ?? 'requested') : 'validator';
    this.clearEscrow();
    this.log.info({ event: 'note_returned', device: this.opts.name, note: note?.id, reason }, 'note returned');
    this.emit('returned', note, reason);
    if (note) {
      if (this.settle?.want === 'returned') this.settleWith(note.id);
      else this.settleWith(note.id, new CashDeviceError(CashErrorCode.RouteFailed, `note #${note.id} was returned by the validator`));
    }
  }

  private validatorFault(name: BillStatusName): void {
    const note = BILL_JAMS.has(name) ? this.held : undefined;
    if (note) this.dropEscrow(new CashDeviceError(CashErrorCode.RouteFailed, `note #${note.id}: ${name}`));
    setState(this.health, 'degraded', name);
    this.fault({ code: name, message: `bill validator: ${name}`, ...(note ? { note } : {}) });
  }

  private clearEscrow(): void {
    clearTimeout(this.escrowTimer);
    this.escrow = undefined;
  }

  private dropEscrow(err: Error): void {
    const id = this.escrow?.id;
    this.clearEscrow();
    if (id !== undefined) this.settleWith(id, err);
  }

  private fault(f: BillFault): void {
    this.log.warn({ event: 'device_fault', device: this.opts.name, code: f.code, note: f.note?.id, fen: f.note?.fen }, f.message);
    this.emit('fault', f);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    clearTimeout(this.pollTimer);
    clearTimeout(this.escrowTimer);
    if (this.settle) this.settleWith(this.settle.noteId, new CashDeviceError(CashErrorCode.Closed, 'bill validator closed'));
  }
}
