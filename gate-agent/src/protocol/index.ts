/**
 * The pure device codecs, as the "@stile/gate-agent/protocol" subpath: the gate's drivers use
 * them through relative imports, hardware-sim (the device side) through this entry point.
 */
export * from './frame-sync.js';
export * from './ga467.js';
export * from './gb18030.js';
export * from './hid-pos.js';
export * from './hid-pos-layouts.js';
export * from './hid-pos-vendors.js';
export * from './hid-descriptor.js';
export * from './keyboard-wedge.js';
export * from './lane-display.js';
export * from './lane-sensor.js';
export * from './lcus-relay.js';
export * from './line-framer.js';
export * from './lane-sensor.js';
export * from './lane-display.js';
