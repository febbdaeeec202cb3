export * from './open.js';
export * from './gate-store.js';
export * from './snapshot-import.js';
export { SCHEMA_VERSION } from './schema.js';
