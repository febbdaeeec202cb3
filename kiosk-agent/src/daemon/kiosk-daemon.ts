/**
 * stile-kiosk: the daemon built from kiosk.yaml — journal, cloud, cash devices, printer,
 * payment-code scanner, ID-card reader — around one KioskRuntime. `startKiosk()` returns once
 * the open sale (if any) has been resumed and the devices are opening; `stop()` closes all.
 */
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { GateInput, IdCardReader } from '@stile/gate-agent';
import type { KioskConfig } from '../config.js';
import { CashDevices } from '../devices/cctalk-cash.js';
import { EscPosPrinter } from '../devices/printer.js';
import { KioskJournal } from '../store/journal.js';
import { HttpKioskCloud, type KioskCloud } from './cloud.js';
import { attachCash, idCardReader, paymentScanner } from './inputs.js';
import { KioskRuntime } from './runtime.js';

export interface KioskDaemon {
  runtime: KioskRuntime;
  journal: KioskJournal;
  cash: CashDevices | undefined;
  printer: EscPosPrinter;
  log: Logger;
  stop(): Promise<void>;
}

export interface KioskDaemonOptions {
  logger?: Logger;
  /** Another cloud in front of (or instead of) the channel API: the offline side slots in here. */
  cloud?: (online: HttpKioskCloud) => KioskCloud;
  now?: () => number;
}

export async function startKiosk(cfg: KioskConfig, opts: KioskDaemonOptions = {}): Promise<KioskDaemon> {
  const log = opts.logger ?? pino({ level: cfg.log.level, base: { site: cfg.site.id, kiosk: cfg.kiosk.id } });
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
  const cloud = opts.cloud ? opts.cloud(online) : online;
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

  await runtime.start();
  cash?.start();
  for (const i of inputs) i.start();
  log.info({ event: 'started', mode: cfg.kiosk.mode, methods: cfg.sale.methods, journal: cfg.journal.path, phase: runtime.state().phase }, 'kiosk started');

  let stopped = false;
  return {
    runtime,
    journal,
    cash,
    printer,
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      await runtime.stop();
      for (const i of inputs) await i.close().catch(() => undefined);
      await cash?.close().catch(() => undefined);
      await printer.close().catch(() => undefined);
      journal.close();
      log.info({ event: 'stopped' }, 'kiosk stopped');
    },
  };
}
