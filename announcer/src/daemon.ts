import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { CAPACITY_LEVELS, deviceUsername, topics } from '@stile/config';
import { Announcer } from './announcer.js';
import type { AnnouncerConfig, LoadedConfig } from './config.js';
import { planFor, type Speaker } from './speech.js';

export function clientIdOf(cfg: AnnouncerConfig): string {
  return cfg.mqtt.clientId ?? `stile-screen-${cfg.site.id}-${cfg.device.id}`;
}

/**
 * mqtt.js options: the device's own `screen.<site>.<id>` login, a persistent session (QoS 1
 * announcements published while the link was down arrive on reconnect), reconnect with
 * backoff even after a refused login, subscriptions made again by us on every connect.
 */
export function mqttOptions(cfg: AnnouncerConfig): IClientOptions {
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
    reconnectOnConnackError: true,
    ...(m.username !== undefined || m.passwordFile !== undefined ? { username: m.username ?? deviceUsername({ kind: 'screen', site: cfg.site.id, id: cfg.device.id }) } : {}),
    ...(m.passwordFile !== undefined ? { password: readFileSync(m.passwordFile, 'utf8').split('\n')[0]!.trim() } : {}),
    ...(m.caFile !== undefined ? { ca: read(m.caFile) } : {}),
    ...(m.certFile !== undefined ? { cert: read(m.certFile) } : {}),
    ...(m.keyFile !== undefined ? { key: read(m.keyFile) } : {}),
  };
}

/** Next reconnect delay: double the previous one up to max, plus up to 25 % jitter. */
export function nextReconnectMs(previous: number, min: number, max: number, random: () => number = Math.random): number {
  const base = Math.min(max, Math.max(min, previous * 2));
  return Math.round(base + base * 0.25 * random());
}

export interface AnnouncerDaemon {
  readonly announcer: Announcer;
  readonly client: MqttClient;
  /** Connected and subscribed to both topics. */
  readonly status: { connected: boolean; subscribed: boolean; connects: number; lastError: string | null };
  stop(): Promise<void>;
}

/** Connect to the broker, subscribe to the site's announcements and capacity, and speak. */
export function startAnnouncer(loaded: LoadedConfig, log: Logger, speaker: Speaker): AnnouncerDaemon {
  const cfg = loaded.config;
  const site = cfg.site.id;
  const t = { announce: topics.announce(site), capacity: topics.capacity(site) };
  const announcer = new Announcer({
    site,
    timeZone: cfg.site.timezone,
    trusted: loaded.trusted,
    maxAgeMs: cfg.maxAgeMin * 60_000,
    repeatMs: cfg.repeat.intervalSec * 1000,
    repeatLevels: cfg.repeat.levels,
    plan: (level, text) => planFor(cfg, level, text),
    speaker,
    log,
  });
  const status = { connected: false, subscribed: false, connects: 0, lastError: null as string | null };
  const broker = cfg.mqtt.url.replace(/\/\/[^@/]*@/, '//');
  const client = connect(cfg.mqtt.url, mqttOptions(cfg));
  let stopping = false;
  let reconnectMs = cfg.mqtt.reconnectMinMs;
  let retry: NodeJS.Timeout | undefined;

  log.info(
    {
      event: 'started',
      site,
      device: cfg.device.id,
      broker,
      clientId: clientIdOf(cfg),
      languages: cfg.speech.languages,
      clips: CAPACITY_LEVELS.filter((l) => cfg.clips[l] !== undefined),
      repeatSec: cfg.repeat.intervalSec,
    },
    'announcer started',
  );

  // On every connect: a broker restarted without persistence has forgotten them.
  const subscribe = (): void => {
    clearTimeout(retry);
    client.subscribeAsync({ [t.announce]: { qos: 1 }, [t.capacity]: { qos: 1 } }).then(
      (granted) => {
        const refused = granted.filter((g) => g.qos >= 0x80);
        status.subscribed = refused.length === 0;
        if (refused.length === 0) {
          log.info({ event: 'subscribed', topics: [t.announce, t.capacity] }, 'listening');
          return;
        }
        status.lastError = `subscription refused: ${refused.map((g) => g.topic).join(', ')}`;
        log.error({ event: 'subscribe_refused', topics: refused.map((g) => g.topic) }, 'broker refused a subscription (check the ACL for this screen user); retrying in 5 s');
        if (!stopping) retry = setTimeout(subscribe, 5000);
      },
      (err: Error) => {
        status.subscribed = false;
        status.lastError = err.message;
        log.error({ event: 'subscribe_failed', err: err.message }, 'could not subscribe; retrying in 5 s');
        if (!stopping && client.connected) retry = setTimeout(subscribe, 5000);
      },
    );
  };

  client.on('connect', (connack) => {
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    reconnectMs = cfg.mqtt.reconnectMinMs;
    client.options.reconnectPeriod = reconnectMs;
    status.connected = true;
    status.subscribed = false;
    status.connects++;
    status.lastError = null;
    log.info({ event: 'mqtt_connected', broker, sessionPresent: connack.sessionPresent }, 'connected to the broker');
    subscribe();
  });
  client.on('close', () => {
    if (status.connected && !stopping) log.warn({ event: 'mqtt_disconnected', broker }, 'lost the broker; reconnecting');
    status.connected = false;
    status.subscribed = false;
    reconnectMs = nextReconnectMs(reconnectMs, cfg.mqtt.reconnectMinMs, cfg.mqtt.reconnectMaxMs);
    client.options.reconnectPeriod = reconnectMs;
  });
  client.on('reconnect', () => log.debug({ event: 'mqtt_reconnect', afterMs: client.options.reconnectPeriod }, 'reconnecting'));
  client.on('error', (err) => {
    status.lastError = err.message;
    log.warn({ event: 'mqtt_error', err: err.message }, 'mqtt error');
  });
  client.on('message', (topic, payload, packet) => {
    try {
      if (topic === t.announce) announcer.handleAnnounce(payload);
      else if (topic === t.capacity && payload.length > 0) announcer.handleCapacity(payload, { retained: packet.retain });
    } catch (err) {
      log.error({ event: 'message_failed', topic, err: (err as Error).stack }, 'message handling failed');
    }
  });

  return {
    announcer,
    client,
    status,
    async stop() {
      stopping = true;
      clearTimeout(retry);
      await announcer.stop();
      await client.endAsync();
      log.info({ event: 'stopped', spoken: announcer.stats.spoken, refused: announcer.stats.refused }, 'announcer stopped');
    },
  };
}
