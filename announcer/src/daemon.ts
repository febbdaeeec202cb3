import { connect, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { CAPACITY_LEVELS, deviceMqttOptions, deviceUsername, nextReconnectMs, topics, type DeviceMqttOptions } from '@stile/config';
import { Announcer } from './announcer.js';
import type { AnnouncerConfig, LoadedConfig } from './config.js';
import { planFor, type Speaker } from './speech.js';

export function clientIdOf(cfg: AnnouncerConfig): string {
  return cfg.mqtt.clientId ?? `stile-screen-${cfg.site.id}-${cfg.device.id}`;
}

/**
 * mqtt.js options: the shared device policy (config/src/device-mqtt.ts: a persistent session, so
 * QoS 1 announcements published while the link was down arrive on reconnect; reconnect with
 * backoff even after a refused login; subscriptions made again by us on every connect) with the
 * registry's `screen.<site>.<device>` login (a PA reads what a screen reads).
 */
export function mqttOptions(cfg: AnnouncerConfig): DeviceMqttOptions {
  return deviceMqttOptions(cfg.mqtt, { clientId: clientIdOf(cfg), defaultUsername: deviceUsername({ kind: 'screen', site: cfg.site.id, id: cfg.device.id }) });
}

export { nextReconnectMs };

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
