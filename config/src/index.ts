export * from './errors.js';
export * from './reasons.js';
export * from './time.js';
export * from './ticket.js';
export * from './rules.js';
export * from './gate-config.js';
export * from './mqtt.js';
