/**
 * The pure device codecs, as the "@stile/kiosk-agent/protocol" subpath: the kiosk's drivers use
 * them through relative imports, hardware-sim (the device side) through this entry point.
 */
export * from './cctalk.js';
export * from './cctalk-bill.js';
export * from './cctalk-hopper.js';
export * from './escpos.js';
export * from './escpos-status.js';
export * from './escpos-layouts.js';
