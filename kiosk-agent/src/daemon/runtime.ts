/**
 * The sale machine running for real: one state, events in (devices, the cloud's answers, the
 * screen, `tick` every tickMs), `sale.step()`, the effects carried out by the executor. Events
 * are taken one at a time in arrival order; an event that arrives while a step's effects are
 * being started waits its turn. After a restart the open sale is rebuilt from the journal
 * (`sale.recover()`) before anything else runs.
 *
 * The touchscreen page (later) talks to this in process: `state()`, `dispatch(event)`,
 * `subscribe(listener)`.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { localDate } from '@stile/config';
import type { CashDevices } from '../devices/cctalk-cash.js';
import type { EscPosPrinter } from '../devices/printer.js';
import { recover } from '../sale/recover.js';
import { step } from '../sale/machine.js';
import type { SaleEffect, SaleEvent } from '../sale/events.js';
import { initialState, type KioskCatalogue, type SaleConfig, type SaleContext, type SaleState } from '../sale/model.js';
import type { KioskJournal } from '../store/journal.js';
import type { KioskCloud, ProviderId } from './cloud.js';
import { EffectExecutor, type EdgeEvent } from './executor.js';
import type { PrintSetting } from './printouts.js';

export type StateListener = (state: SaleState, event: SaleEvent, effects: readonly SaleEffect[]) => void;

export interface KioskRuntimeOptions {
  sale: SaleConfig;
  kioskId: string;
  timeZone: string;
  tickMs: number;
  printerPollMs: number;
  hopperCoins: number;
  qrProvider: ProviderId;
  refundReason: string;
  refundReasons?: KioskCatalogue['refundReasons'];
  print: PrintSetting;
}

export interface KioskRuntimeDeps {
  journal: KioskJournal;
  cloud: KioskCloud;
  cash: CashDevices | undefined;
  printer: EscPosPrinter;
  log: Logger;
  now?: () => number;
}

const EMPTY_CATALOGUE: KioskCatalogue = { types: [], slots: [], realName: { ticketsPerIdPerDay: 1, bookingHorizonDays: 0 }, refundReasons: [] };
const CATALOGUE_RETRY_MS = 5000;
const CATALOGUE_REFRESH_MS = 60_000;

export class KioskRuntime {
  readonly executor: EffectExecutor;
  private s: SaleState;
  private ctx: SaleContext;
  private readonly queue: SaleEvent[] = [];
  private busy = false;
  private readonly listeners = new Set<StateListener>();
  private readonly timers: NodeJS.Timeout[] = [];
  private printerTimer: NodeJS.Timeout | undefined;
  private catalogueAt = 0;
  private learnedReasons: KioskCatalogue['refundReasons'] | undefined;
  private stopped = false;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(
    private readonly o: KioskRuntimeOptions,
    private readonly d: KioskRuntimeDeps,
  ) {
    this.now = d.now ?? Date.now;
    this.log = d.log.child({ module: 'runtime' });
    this.s = initialState(this.now());
    this.ctx = { config: o.sale, catalogue: { ...EMPTY_CATALOGUE, refundReasons: o.refundReasons ?? [] } };
    this.executor = new EffectExecutor({
      journal: d.journal,
      cloud: d.cloud,
      cash: d.cash,
      printer: d.printer,
      log: d.log,
      print: o.print,
      qrProvider: o.qrProvider,
      refundReason: o.refundReason,
      catalogue: () => this.ctx.catalogue,
      dispatch: (ev) => this.dispatch(ev),
      now: this.now,
    });
  }

  state(): SaleState {
    return this.s;
  }

  catalogue(): KioskCatalogue {
    return this.ctx.catalogue;
  }

  /** The park's refund reasons (the staffed window learns them from the cloud's lookup answer). */
  setRefundReasons(reasons: KioskCatalogue['refundReasons']): void {
    this.learnedReasons = reasons;
    this.ctx = { ...this.ctx, catalogue: { ...this.ctx.catalogue, refundReasons: reasons } };
  }

  subscribe(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  today(): string {
    return localDate(this.now(), this.o.timeZone);
  }

  /** A new sale: the first touch on the start screen. */
  startSale(): string {
    const saleId = `${this.o.kioskId}-${this.now().toString(36)}${randomBytes(3).toString('hex')}`;
    this.dispatch({ kind: 'start', saleId, today: this.today() });
    return saleId;
  }

  /** An event into the machine, stamped with the time now (unless it carries its own). */
  dispatch(ev: EdgeEvent | SaleEvent): void {
    if (this.stopped) return;
    this.queue.push(('at' in ev ? ev : { ...ev, at: this.now() }) as SaleEvent);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.step(next);
    } finally {
      this.busy = false;
    }
  }

  private step(ev: SaleEvent): void {
    const before = this.s;
    const r = step(before, ev, this.ctx);
    this.s = r.state;
    if (before.phase !== r.state.phase) this.log.info({ event: 'phase', from: before.phase, to: r.state.phase, on: ev.kind, saleId: r.state.sale?.id ?? before.sale?.id }, `${before.phase} → ${r.state.phase}`);
    this.executor.run(r.effects, r.state);
    for (const l of this.listeners) l(r.state, ev, r.effects);
  }

  /**
   * Load the catalogue, report the devices, resume an open sale from the journal, then tick.
   * A catalogue the cloud cannot give now is asked for again every 5 s.
   */
  async start(): Promise<void> {
    const { journal } = this.d;
    if (journal.hopperCoins() === undefined) journal.setHopperCoins(this.o.hopperCoins);
    await this.loadCatalogue();
    const report = await this.d.printer.status();
    const coinFen = this.d.cash?.hopper?.coinFen ?? 100;
    const dev = {
      printerReady: report.ready,
      ...(report.ready ? {} : { printerFault: report.faults.includes('paper_out') ? ('paper_out' as const) : ('offline' as const) }),
      coins: this.d.cash?.hopper ? [{ valueFen: coinFen, count: journal.hopperCoins() ?? 0 }] : [],
      validatorReady: this.d.cash !== undefined,
    };
    const entries = journal.openEntries();
    if (entries.length > 0) {
      const r = recover(entries, this.now(), this.ctx, dev);
      this.log.warn({ event: 'recovered', saleId: r.saleId, phase: r.state.phase, alsoOpen: r.alsoOpen }, 'resuming the sale open at the last stop');
      this.s = r.state;
      this.busy = true;
      try {
        this.executor.run(r.effects, r.state);
      } finally {
        this.busy = false;
      }
      for (const l of this.listeners) l(this.s, { kind: 'tick', at: this.now() }, r.effects);
      this.dispatch({ kind: 'tick' });
    } else {
      this.s = initialState(this.now(), dev);
    }
    this.timers.push(setInterval(() => this.dispatch({ kind: 'tick' }), this.o.tickMs));
    this.schedulePrinterPoll();
  }

  private async loadCatalogue(): Promise<void> {
    try {
      const c = await this.d.cloud.catalogue(this.today());
      this.ctx = { ...this.ctx, catalogue: { ...c, refundReasons: this.learnedReasons ?? this.o.refundReasons ?? c.refundReasons } };
      this.catalogueAt = this.now();
      this.log.info({ event: 'catalogue', types: c.types.length, slots: c.slots.length }, 'catalogue loaded');
    } catch (err) {
      this.log.warn({ event: 'catalogue_failed', err: (err as Error).message }, 'catalogue not loaded; retrying');
      this.timers.push(setTimeout(() => void this.loadCatalogue(), CATALOGUE_RETRY_MS));
    }
  }

  /** The printer's status while the kiosk waits: idle (is it still ready?) and after a failed print (is it back?). */
  private schedulePrinterPoll(): void {
    if (this.stopped) return;
    const waiting = this.s.phase === 'print_failed';
    const delay = waiting ? Math.min(this.o.printerPollMs, 500) : this.o.printerPollMs;
    this.printerTimer = setTimeout(() => void this.pollPrinter().finally(() => this.schedulePrinterPoll()), delay);
  }

  private async pollPrinter(): Promise<void> {
    const phase = this.s.phase;
    if (phase === 'idle' && this.now() - this.catalogueAt > CATALOGUE_REFRESH_MS) void this.loadCatalogue();
    if ((phase !== 'idle' && phase !== 'print_failed') || this.executor.printing) return;
    const r = await this.d.printer.status();
    const dev = this.s.dev;
    if (r.ready === dev.printerReady && (r.ready || dev.printerFault !== undefined)) return;
    const fault = r.ready ? undefined : r.faults.includes('paper_out') ? ('paper_out' as const) : r.faults.some((f) => f.endsWith('_jam')) ? ('jam' as const) : ('offline' as const);
    this.dispatch({ kind: 'printer_status', ready: r.ready, ...(fault ? { fault } : {}) });
  }

  /** Stop ticking and wait for the calls in flight; the journal keeps whatever sale is open. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    clearTimeout(this.printerTimer);
    await this.executor.idle();
  }
}
