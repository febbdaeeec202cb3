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
