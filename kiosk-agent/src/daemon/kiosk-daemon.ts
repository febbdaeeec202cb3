/**
 * stile-kiosk: the daemon built from kiosk.yaml — journal, cloud, cash devices, printer,
 * payment-code scanner, ID-card reader — around one KioskRuntime. `startKiosk()` returns once
 * the open sale (if any) has been resumed and the devices are opening; `stop()` closes all.
 */
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { GateInput, IdCardReader } from '@stile/gate-agent';
import { startControl } from '../cli/daemon-control.js';
import type { KioskConfig } from '../config.js';
import type { KioskSync } from '../sync/kiosk-sync.js';
import { CashDevices } from '../devices/cctalk-cash.js';
import { EscPosPrinter } from '../devices/printer.js';
import { ScreenServer } from '../screen/server.js';
import { KioskJournal } from '../store/journal.js';
import { holdJournalLock } from '../store/lock.js';
import { HttpKioskCloud, type KioskCloud } from './cloud.js';
import { attachCash, idCardReader, paymentScanner } from './inputs.js';
import { openOfflineSide } from './offline-side.js';
import { KioskRuntime } from './runtime.js';
import { WindowDesk } from '../window/desk.js';
import { startKioskMetrics } from './kiosk-metrics.js';
import { effectiveLogLevel } from '@stile/service';

export interface KioskDaemon {
  runtime: KioskRuntime;
  journal: KioskJournal;
  cash: CashDevices | undefined;
  printer: EscPosPrinter;
  /** The touchscreen page's server (kiosk.yaml `screen`), when configured. */
  screen: ScreenServer | undefined;
  log: Logger;
  /** The staffed window's actions (kiosk.mode: window): staff login, lookup by ID, print again, refunds. */
  window: WindowDesk | undefined;
  /** The outbox to the cloud and the offline sales (kiosk.yaml `sync`), when configured. */
  sync: KioskSync | undefined;
  /** The payment-code scanner and ID-card reader, as configured (supervision reads their health). */
  inputs: readonly GateInput[];
  /** Where kiosk.yaml `metrics` serves Prometheus text (docs/metrics.md), when configured and started. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

export interface KioskDaemonOptions {
  logger?: Logger;
  /** Another cloud in front of (or instead of) the channel API: the offline side slots in here. */
  cloud?: (online: HttpKioskCloud) => KioskCloud;
  now?: () => number;
}

export async function startKiosk(cfg: KioskConfig, opts: KioskDaemonOptions = {}): Promise<KioskDaemon> {
  const log = opts.logger ?? pino({ level: effectiveLogLevel(cfg.log.level), base: { site: cfg.site.id, kiosk: cfg.kiosk.id } });
  // Held while the kiosk runs: "kioskctl restore" refuses meanwhile (docs/backup.md).
  const storeLock = holdJournalLock(cfg.journal.path);
  const journal = new KioskJournal(cfg.journal.path);
  const online = new HttpKioskCloud({
    url: cfg.cloud.url,
    apiKey: cfg.cloud.apiKey,
    payment: cfg.cloud.payment,
    ...(cfg.cloud.cashApiKey ? { cashApiKey: cfg.cloud.cashApiKey } : {}),
    contactPhone: cfg.cloud.contactPhone,
    kioskId: cfg.kiosk.id,
    timeoutMs: cfg.cloud.timeoutMs,
  });
  const inner = opts.cloud ? opts.cloud(online) : online;
  // kiosk.yaml `sync`: the outbox, and cash sales signed by the kiosk while the cloud is unreachable.
  const offline = cfg.sync ? openOfflineSide(cfg, cfg.sync, inner, journal, log, opts.now ?? Date.now) : undefined;
  const cloud = offline?.cloud ?? inner;
  const p = cfg.devices.printer;
  const printer = new EscPosPrinter({ path: p.path, transport: p.transport, baudRate: p.baudRate, flowControl: p.flowControl, statusTimeoutMs: p.statusTimeoutMs, jobTimeoutMs: p.jobTimeoutMs }, log);
  const cash = cfg.devices.cash ? new CashDevices(cfg.devices.cash, log) : undefined;
  const site = cfg.site.name ?? { 'zh-CN': cfg.site.id, en: cfg.site.id };
  const runtime = new KioskRuntime(
    {
      sale: cfg.sale,
      kioskId: cfg.kiosk.id,
      timeZone: cfg.site.timezone,
      tickMs: cfg.tickMs,
      printerPollMs: p.pollMs,
      hopperCoins: cfg.devices.hopperCoins,
      qrProvider: cfg.cloud.qrProvider,
      refundReason: cfg.cloud.refundReason,
      print: { site: { zh: site['zh-CN'], en: site.en }, kioskId: cfg.kiosk.id, timeZone: cfg.site.timezone, widthChars: p.widthChars, receipt: p.receipt },
    },
    { journal, cloud, cash, printer, log, ...(opts.now ? { now: opts.now } : {}) },
  );
  const inputs: GateInput[] = [];
  if (cash) attachCash(cash, runtime, journal, log);
  if (cfg.devices.paymentScanner) inputs.push(paymentScanner(cfg.devices.paymentScanner, runtime, log));
  const reader: IdCardReader | undefined =
    cfg.devices.idReader?.type === 'idcard-ga467' ? idCardReader(cfg.devices.idReader, runtime, log, randomBytes(32)) : undefined;
  if (reader) inputs.push(reader);

  offline?.attach(runtime);
  await runtime.start();
  offline?.started(runtime);
  const screen = cfg.screen ? new ScreenServer({ host: cfg.screen.host, port: cfg.screen.port, sale: cfg.sale, runtime, log }) : undefined;
  await screen?.start().catch(async (err: unknown) => {
    // Port taken, page not built: nothing runs half-started.
    await runtime.stop();
    journal.close();
    storeLock?.release();
    throw err;
  });
  // kioskctl's line to this daemon (docs/kiosk.md#kioskctl).
  const now = opts.now ?? Date.now;
  const control = await startControl({ cfg, journal, runtime, printer, log, now });
  const window = cfg.kiosk.mode === 'window' && cfg.window ? new WindowDesk({ cfg, runtime, journal, printer, log, now }) : undefined;
  if (window && cfg.window) screen?.attachWindow({ desk: window, staff: cfg.window.staff.map((s) => ({ id: s.id, name: s.name ?? s.id })) });
  cash?.start();
  for (const i of inputs) i.start();
  const metrics = await startKioskMetrics(cfg, { runtime, journal, cash, printer, inputs, sync: offline?.sync, log, now });
  log.info({ event: 'started', mode: cfg.kiosk.mode, methods: cfg.sale.methods, journal: cfg.journal.path, phase: runtime.state().phase }, 'kiosk started');

  let stopped = false;
  return {
    runtime,
    journal,
    cash,
    printer,
    screen,
    log,
    window,
    sync: offline?.sync,
    inputs,
    metricsUrl: metrics?.url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await control.close();
      await metrics?.close();
      window?.close();
      await screen?.stop();
      await runtime.stop();
      await offline?.stop();
      for (const i of inputs) await i.close().catch(() => undefined);
      await cash?.close().catch(() => undefined);
      await printer.close().catch(() => undefined);
      journal.close();
      storeLock?.release();
      log.info({ event: 'stopped' }, 'kiosk stopped');
    },
  };
}
