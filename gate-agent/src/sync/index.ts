export * from './status.js';
export * from './control.js';
export * from './outbox-drain.js';
export * from './whitelist-sync.js';
export * from './commands.js';
export * from './mqtt-options.js';
export * from './gate-sync.js';
