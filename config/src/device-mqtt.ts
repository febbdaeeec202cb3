import { readFileSync } from 'node:fs';

/*
 * How every field device (gate, PA announcer, later the kiosk) talks to the broker: one place,
 * so a fix to the session or reconnect policy reaches all of them. Plain data shaped like
 * mqtt.js's IClientOptions; @stile/config does not depend on mqtt.
 */

/** The MQTT settings a device's config file holds (gate-config.ts and announcer's config share these fields). */
export interface DeviceMqttSettings {
  protocolVersion: 4 | 5;
  keepaliveSec: number;
  reconnectMinMs: number;
  sessionExpirySec: number;
  username?: string | undefined;
  passwordFile?: string | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

export interface DeviceMqttOptions {
  protocolVersion: 4 | 5;
  clientId: string;
  clean: false;
  properties?: { sessionExpiryInterval: number };
  keepalive: number;
  reconnectPeriod: number;
  connectTimeout: number;
  queueQoSZero: false;
  resubscribe: false;
  reconnectOnConnackError: true;
  writeCache: false;
  will?: { topic: string; payload: Buffer; qos: 1; retain: true };
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * mqtt.js options for a device: MQTT 5 (or 3.1.1 with `protocolVersion: 4`), a persistent
 * session with a bounded expiry (QoS 1 messages sent during a short outage still arrive), no
 * in-memory queue of QoS 0 messages, subscriptions made by the device on every connect (not
 * mqtt.js's resubscribe, which hides a refused grant), and an optional retained Last Will.
 * The login is the registry's name for the device (`defaultUsername`) unless the config names one.
 */
export function deviceMqttOptions(m: DeviceMqttSettings, who: { clientId: string; defaultUsername: string; will?: { topic: string; payload: string } }): DeviceMqttOptions {
  const read = (file: string) => readFileSync(file);
  return {
    protocolVersion: m.protocolVersion,
    clientId: who.clientId,
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
    // mqtt-packet otherwise builds a table of 65,536 two-byte Buffers on the first packet
    // (~6 MB of heap for the life of the process) to save one allocation per packet id.
    writeCache: false,
    ...(who.will ? { will: { topic: who.will.topic, payload: Buffer.from(who.will.payload), qos: 1 as const, retain: true as const } } : {}),
    ...(m.username !== undefined || m.passwordFile !== undefined ? { username: m.username ?? who.defaultUsername } : {}),
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
