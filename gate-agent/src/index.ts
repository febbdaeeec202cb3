export * from './store/index.js';
export * from './validation/index.js';
export * from './gate/gatekeeper.js';
export * from './gate/credential.js';
export * from './daemon/gate-daemon.js';
export * from './daemon/gate-context.js';
export * from './devices/relay.js';
export type { HidBackend, HidConnection, HidDeviceInfo } from './devices/qr-hid.js';
export * from './protocol/line-framer.js';
