export * from './outbox.js';
export * from './pack.js';
export * from './offline-seller.js';
export * from './kiosk-sync.js';
export * from './keys.js';
export * from './sync-config.js';
