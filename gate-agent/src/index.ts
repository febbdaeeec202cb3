export * from './store/index.js';
export * from './validation/index.js';
export * from './gate/gatekeeper.js';
export * from './gate/credential.js';
export * from './daemon/gate-daemon.js';
export * from './daemon/gate-context.js';
export * from './devices/relay.js';
export * from './devices/serial-port.js';
export * from './devices/supervisor.js';
export type { HidBackend, HidConnection, HidDeviceInfo } from './devices/qr-hid.js';
export { createInput, type InputDeviceDeps } from './devices/create.js';
export { IdCardReader, type IdCardHolder } from './devices/idcard-ga467.js';
export type { GateInput } from './devices/input.js';
export * from './protocol/line-framer.js';
// The outbox drain, shared with the kiosk's outbox (kiosk-agent/src/sync).
export { OutboxDrain, MAX_IN_FLIGHT, RECEIPT_TIMEOUT_MS, type DrainDeps, type OutboxRows } from './sync/outbox-drain.js';
// gatectl's output conventions, shared with kioskctl (kiosk-agent/src/cli).
export { CliError, makeOut, table, redactIdNumbers, reportFailure, type Out } from './cli/output.js';
export { findConfigPath, type ConfigLookup } from './cli/config-path.js';
// The doctor's checks, probes and printing, shared with `kioskctl doctor`.
export * as doctor from './cli/doctor-lib.js';
