/**
 * The kiosk's Prometheus figures (docs/metrics.md): sales as they close (counted from the
 * sale machine's journal effects), today's sales and cash as `kioskctl cash` reads them from
 * the journal, and the devices' state — read at each scrape. Served only with a `metrics:`
 * section in kiosk.yaml; prom-client is loaded then and not before.
 */
import type { Logger } from 'pino';
import type { DeviceHealth, GateInput } from '@stile/gate-agent';
import { counterFrom, gaugeFrom, setTimestamp, startConfiguredMetrics, type Prom, type Registry } from '@stile/service';
import { cashReport, salesReport, type CashReport } from '../cli/operations.js';
import type { SalesSummary } from '../cli/day-report.js';
import type { KioskConfig } from '../config.js';
import type { CashDevices } from '../devices/cctalk-cash.js';
import type { EscPosPrinter } from '../devices/printer.js';
import type { KioskJournal } from '../store/journal.js';
import type { KioskSync } from '../sync/kiosk-sync.js';
import type { KioskRuntime } from './runtime.js';

export interface KioskMetricsSources {
  runtime: KioskRuntime;
  journal: KioskJournal;
  cash: CashDevices | undefined;
  printer: EscPosPrinter;
  inputs: readonly GateInput[];
  sync: KioskSync | undefined;
  log: Logger;
  now: () => number;
}

export interface KioskMetrics {
  readonly url: string;
  close(): Promise<void>;
}

/** Seconds from the first touch to a printed ticket. */
export const SALE_DURATION_BUCKETS = [15, 30, 45, 60, 90, 120, 180, 300, 600];

/**
 * Start the metrics server of kiosk.yaml's `metrics:` section; undefined without one, or when
 * it cannot start (logged: the kiosk sells on without it).
 */
export async function startKioskMetrics(cfg: KioskConfig, src: KioskMetricsSources): Promise<KioskMetrics | undefined> {
  if (!cfg.metrics) return undefined;
  const log = src.log.child({ module: 'metrics' });
  let unsubscribe = (): void => undefined;
  try {
    const server = await startConfiguredMetrics(cfg.metrics, log, (prom, registry) => {
      unsubscribe = defineKioskMetrics(prom, registry, cfg, src);
    });
    log.info({ event: 'metrics_started', url: server.url }, `metrics at ${server.url}`);
    return {
      url: server.url,
      close: async () => {
        unsubscribe();
        await server.close();
      },
    };
  } catch (err) {
    unsubscribe();
    log.error({ event: 'metrics_unavailable', err: (err as Error).message }, 'metrics not served; the kiosk sells on without them');
    return undefined;
  }
}

/** Every kiosk metric on `registry`; returns the unsubscribe from the sale machine. */
export function defineKioskMetrics(prom: Prom, registry: Registry, cfg: KioskConfig, src: KioskMetricsSources): () => void {
  const p = 'stile_kiosk_';
  const registers = [registry];
  new prom.Gauge({ name: `${p}info`, help: 'Always 1; labels name the site, the kiosk and its mode (kiosk or window).', labelNames: ['site', 'kiosk', 'mode'], registers }).set(
    { site: cfg.site.id, kiosk: cfg.kiosk.id, mode: cfg.kiosk.mode },
    1,
  );

  // Counted as sales close, from the journal entries the machine writes.
  const sales = new prom.Counter({ name: `${p}sales_total`, help: 'Sales closed since start, by outcome (done, cancelled, timeout, fault, owed) and payment method (none before one was chosen).', labelNames: ['outcome', 'method'], registers });
  const duration = new prom.Histogram({ name: `${p}sale_duration_seconds`, help: 'From the first touch to the close of a completed sale (outcome done).', buckets: SALE_DURATION_BUCKETS, registers });
  const open = new Map<string, { startedAt: number; method?: string }>();
  const unsubscribe = src.runtime.subscribe((_state, _event, effects) => {
    for (const e of effects) {
      if (e.kind !== 'journal') continue;
      const entry = e.entry;
      if (entry.kind === 'sale_started') open.set(entry.saleId, { startedAt: entry.at });
      else if (entry.kind === 'order_placed') open.set(entry.saleId, { ...(open.get(entry.saleId) ?? { startedAt: NaN }), method: entry.method });
      else if (entry.kind === 'sale_closed') {
        const o = open.get(entry.saleId);
        open.delete(entry.saleId);
        sales.inc({ outcome: entry.outcome, method: o?.method ?? 'none' });
        // A sale resumed after a restart began in another process: its start is not known here.
        if (entry.outcome === 'done' && o && Number.isFinite(o.startedAt)) duration.observe(Math.max(0, entry.at - o.startedAt) / 1000);
      }
    }
  });

  // Today, from the journal (what kioskctl cash and close-day show), read once per scrape.
  const ops = { cfg, journal: src.journal, log: src.log, now: src.now };
  let day: { at: number; cash: CashReport; sales: SalesSummary } | undefined;
  const today = () => {
    const at = src.now();
    // Shared by the gauges of one scrape (a few ms), never by two scrapes: a second held the
    // last scrape's figures and hid a sale that closed within it.
    if (!day || at - day.at > 200) day = { at, cash: cashReport(ops), sales: salesReport(ops) };
    return day;
  };
  const yuan = (fen: number) => fen / 100;
  gaugeFrom(prom, registry, { name: `${p}sales_today`, help: 'Sales closed today (site time zone), by outcome.', labelNames: ['outcome'] }, (set) =>
    Object.entries(today().sales.closed).forEach(([outcome, n]) => set({ outcome }, n)),
  );
  gaugeFrom(prom, registry, { name: `${p}sales_recorded_today`, help: 'Sales recorded by the cloud today, by payment method.', labelNames: ['method'] }, (set) =>
    Object.entries(today().sales.byMethod).forEach(([method, m]) => set({ method }, m.sales)),
  );
  gaugeFrom(prom, registry, { name: `${p}revenue_today_yuan`, help: 'Money taken today for recorded sales, by payment method (yuan).', labelNames: ['method'] }, (set) =>
    Object.entries(today().sales.byMethod).forEach(([method, m]) => set({ method }, yuan(m.fen))),
  );
  gaugeFrom(prom, registry, { name: `${p}notes_in_today`, help: 'Notes the validator stacked today, by value (yuan).', labelNames: ['value_yuan'] }, (set) =>
    today().cash.notesIn.forEach((n) => set({ value_yuan: String(yuan(n.valueFen)) }, n.count)),
  );
  gaugeFrom(prom, registry, { name: `${p}cash_expected_yuan`, help: "Today's takings the cash box (and the window's till) should hold, as close-day counts them (yuan)." }, (set) => set({}, yuan(today().cash.expectedFen)));
  gaugeFrom(prom, registry, { name: `${p}cash_owed_open_yuan`, help: 'Money the kiosk could not pay out today (slips) and staff have not settled yet (yuan).' }, (set) => set({}, yuan(today().cash.owedOpenFen)));
  gaugeFrom(prom, registry, { name: `${p}hopper_coins`, help: 'Coins in the hopper, as the journal counts them (refills in, payouts out).' }, (set) => {
    const c = today().cash.hopper.coins;
    if (c !== null) set({}, c);
  });
  gaugeFrom(prom, registry, { name: `${p}hopper_float_yuan`, help: "The hopper's coin float (coins × coin value, yuan): change it can still pay." }, (set) => {
    const f = today().cash.hopper.fen;
    if (f !== null) set({}, yuan(f));
  });

  // Devices and the machine, read live.
  const state = () => src.runtime.state();
  const devices = (): DeviceHealth[] => [...(src.cash?.health() ?? []), ...src.inputs.map((i) => i.health)];
  gaugeFrom(prom, registry, { name: `${p}device_up`, help: 'Each device: 1 while it works, 0 while it is down, reconnecting or in a fault.', labelNames: ['name', 'kind'] }, (set) => {
    for (const d of devices()) set({ name: d.name, kind: d.kind }, d.state === 'ok' ? 1 : 0);
    set({ name: 'printer', kind: `escpos-${cfg.devices.printer.transport}` }, src.printer.health.state === 'ready' ? 1 : 0);
  });
  gaugeFrom(prom, registry, { name: `${p}printer_ready`, help: '1 while the printer can print (as the sale machine last saw it).' }, (set) => set({}, state().dev.printerReady ? 1 : 0));
  gaugeFrom(prom, registry, { name: `${p}printer_paper_low`, help: '1 while the near-end sensor says the roll is nearly used up: change it before it runs out.' }, (set) => set({}, src.printer.health.paperNearEnd ? 1 : 0));
  gaugeFrom(prom, registry, { name: `${p}printer_fault`, help: "The printer's current faults (paper_out, cover_open, cutter_jam, …), 1 each.", labelNames: ['fault'] }, (set) => src.printer.health.faults.forEach((fault) => set({ fault }, 1)));
  counterFrom(prom, registry, { name: `${p}print_jobs_total`, help: 'Print jobs by outcome: printed, not_printed, uncertain (offer a reprint).', labelNames: ['outcome'] }, (set) =>
    Object.entries(src.printer.health.jobs).forEach(([outcome, n]) => set({ outcome }, n)),
  );
  gaugeFrom(prom, registry, { name: `${p}validator_ready`, help: '1 while the bill validator takes notes (as the sale machine last saw it).' }, (set) => set({}, src.cash && state().dev.validatorReady ? 1 : 0));
  gaugeFrom(prom, registry, { name: `${p}online`, help: '1 while the cloud answers (0: the kiosk sells offline, cash only, or refuses).' }, (set) => set({}, state().dev.online ? 1 : 0));
  gaugeFrom(prom, registry, { name: `${p}phase`, help: 'The sale machine now: 1 on the current phase (idle, cash, printing, print_failed, owed, …).', labelNames: ['phase'] }, (set) => set({ phase: state().phase }, 1));

  // kiosk.yaml `sync`: the outbox of offline sales to the cloud.
  if (src.sync) {
    const s = src.sync.status;
    gaugeFrom(prom, registry, { name: `${p}outbox_depth`, help: 'Sales records waiting to be stored by the cloud.' }, (set) => set({}, s.outboxDepth));
    gaugeFrom(prom, registry, { name: `${p}outbox_full`, help: '1 while the outbox is over its limit.' }, (set) => set({}, s.outboxFull ? 1 : 0));
    gaugeFrom(prom, registry, { name: `${p}cloud_connected`, help: "1 while connected to the cloud's broker." }, (set) => set({}, s.connected ? 1 : 0));
    gaugeFrom(prom, registry, { name: `${p}last_receipt_timestamp_seconds`, help: 'When the cloud last confirmed it stored records (Unix time; NaN until the first since start).' }, (set) => setTimestamp(set, s.lastReceiptAt));
  }
  return unsubscribe;
}
