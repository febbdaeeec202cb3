export * from './store/index.js';
export * from './validation/index.js';
export * from './gate/gatekeeper.js';
export * from './gate/credential.js';
export * from './daemon/gate-daemon.js';
export * from './daemon/gate-context.js';
export * from './devices/relay.js';
export * from './protocol/line-framer.js';
