/**
 * What `kioskctl doctor` (and any other device's doctor) reuses of the gate's: the result
 * type and printing, the problem catalogue, the machine checks and their probes. Exported
 * from @stile/gate-agent as the `doctor` namespace.
 */
export * from './doctor-report.js';
export * from './doctor-problems.js';
export * from './doctor-access.js';
export * from './doctor-checks.js';
export * from './doctor-checks-cloud.js';
export * from './doctor-probes.js';
export { probeBroker, doctorMqttOptions } from './doctor-probe-cloud.js';
export { askDevice, probeDevice, inputDeviceSpec, type DeviceSpec } from './doctor-probe-devices.js';
