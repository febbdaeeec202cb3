import { defaultClientId, deviceMqttOptions, gateUsername, type DeviceMqttOptions, type GateConfig, type MqttConfig } from '@stile/config';

export { nextReconnectMs } from '@stile/config';

export function clientIdOf(cfg: GateConfig): string {
  return cfg.mqtt?.clientId ?? defaultClientId({ kind: 'gate', site: cfg.site.id, id: cfg.gate.id });
}

/**
 * mqtt.js options for a gate (the shared device policy, config/src/device-mqtt.ts), with the
 * Last Will: the retained offline status carrying this epoch. The login is the registry's name
 * for this gate unless the config says otherwise: the same login as its HTTP requests.
 */
export function mqttOptions(cfg: GateConfig & { mqtt: MqttConfig }, will: { topic: string; payload: string }): DeviceMqttOptions {
  return deviceMqttOptions(cfg.mqtt, { clientId: clientIdOf(cfg), defaultUsername: gateUsername(cfg.site.id, cfg.gate.id), will });
}
