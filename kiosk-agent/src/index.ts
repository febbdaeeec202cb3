/** @stile/kiosk-agent: the self-service ticket machine (issue #17). Device codecs first; the sale flow and daemon build on them. */
export {};
export * from './devices/printer.js';
export * from './devices/printer-transport.js';
export * from './protocol/escpos.js';
export * from './protocol/escpos-status.js';
export * from './protocol/escpos-layouts.js';
export * from './protocol/index.js';
export * from './devices/cctalk-errors.js';
export * from './devices/cctalk-config.js';
export * from './devices/cctalk-bus.js';
export * from './devices/cctalk-bill-validator.js';
export * from './devices/cctalk-hopper.js';
export { CashDevices, type CashDevicesEvents, type CashFault, type ChangeResult, type StackedNote } from './devices/cctalk-cash.js';
export * as sale from './sale/index.js';
export * from './config.js';
export { KioskJournal, type CashRow, type CashKind, type AttemptRow } from './store/journal.js';
export { HttpKioskCloud, CloudCallError, providerOfAuthCode, type KioskCloud, type OrderRequest, type OrderAnswer, type PaymentAnswer, type Issued } from './daemon/cloud.js';
export { KioskRuntime, type StateListener, type KioskRuntimeOptions } from './daemon/runtime.js';
export { startKiosk, type KioskDaemon, type KioskDaemonOptions } from './daemon/kiosk-daemon.js';
export type { EdgeEvent } from './daemon/executor.js';
// Offline sales and the outbox to the cloud (docs/kiosk-offline.md).
export * from './sync/index.js';
