import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { gateUsername, type GateConfig, type MqttConfig } from '@stile/config';

export function clientIdOf(cfg: GateConfig): string {
  return cfg.mqtt?.clientId ?? `stile-${cfg.site.id}-${cfg.gate.id}`;
}

/**
 * mqtt.js options for a gate: MQTT 5 (or 3.1.1 with `protocolVersion: 4`), a persistent session with a bounded expiry (QoS 1
 * deltas and commands sent during a short outage still arrive), no in-memory queue of
 * QoS 0 messages, and the Last Will (retained offline status carrying this epoch).
 */
export function mqttOptions(cfg: GateConfig & { mqtt: MqttConfig }, will: { topic: string; payload: string }): IClientOptions {
  const m = cfg.mqtt;
  const read = (file: string) => readFileSync(file);
  return {
    protocolVersion: m.protocolVersion,
    clientId: clientIdOf(cfg),
    clean: false,
    ...(m.protocolVersion === 5 ? { properties: { sessionExpiryInterval: m.sessionExpirySec } } : {}),
    keepalive: m.keepaliveSec,
    reconnectPeriod: m.reconnectMinMs,
    connectTimeout: 30_000,
    queueQoSZero: false,
    resubscribe: false,
    // A refused login (a broker whose registry is not up yet, a rotated credential) is retried
    // with the backoff; mqtt.js would otherwise stop reconnecting for good after one refusal.
    reconnectOnConnackError: true,
    will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: true },
    // The registry's name for this gate unless the config says otherwise: the same login as its HTTP requests.
    ...(m.username !== undefined || m.passwordFile !== undefined ? { username: m.username ?? gateUsername(cfg.site.id, cfg.gate.id) } : {}),
    ...(m.passwordFile !== undefined ? { password: readFileSync(m.passwordFile, 'utf8').split('\n')[0]!.trim() } : {}),
    ...(m.caFile !== undefined ? { ca: read(m.caFile) } : {}),
    ...(m.certFile !== undefined ? { cert: read(m.certFile) } : {}),
    ...(m.keyFile !== undefined ? { key: read(m.keyFile) } : {}),
  };
}

/** Next reconnect delay: double the previous one up to max, plus up to 25 % jitter (DESIGN §5 rule 6). */
export function nextReconnectMs(previous: number, min: number, max: number, random: () => number = Math.random): number {
  const base = Math.min(max, Math.max(min, previous * 2));
  return Math.round(base + base * 0.25 * random());
}
