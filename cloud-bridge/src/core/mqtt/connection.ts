import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { Publisher } from './publisher.js';
import { CloudError } from '../errors.js';

/** true: PUBACK now; false: leave the message unacknowledged so the broker redelivers it. */
export type MessageRoute = (topic: string, payload: Buffer) => Promise<boolean>;

export interface MqttOptions {
  url: string;
  clientId: string;
  /** 5 (default): MQTT v5. 4: MQTT 3.1.1, for brokers without v5 (the embedded Aedes). */
  protocolVersion?: 4 | 5;
  /**
   * The broker keeps the session (and the unacknowledged messages) this long across a
   * disconnect; a resumed session gets them again. 0 would lose them.
   */
  sessionExpirySec: number;
  /** After a message is left unacknowledged, reconnect after this long to have it redelivered. */
  redeliverAfterMs: number;
  log: Logger;
  /**
   * Topic filter → QoS this connection must hold. Made again on EVERY connect (a broker
   * restored from persistence brings the session back without its shared subscriptions;
   * mqtt.js only re-subscribes when the broker reports no session) and checked against
   * what the broker granted.
   */
  subscriptions?: Record<string, { qos: 0 | 1 }>;
  /** After a refused subscription, try again this long later (default 2 s). */
  resubscribeMs?: number;
}

/** What /healthz shows for one connection. */
export interface ConnectionHealth {
  clientId: string;
  connected: boolean;
  /** Every subscription granted on the current connection. */
  subscribed: boolean;
  /** Why not, when not (refused subscription, broker error). */
  problem: string | null;
  connects: number;
}

export interface MqttConnection {
  client: MqttClient;
  publisher: Publisher;
  health(): ConnectionHealth;
}

/**
 * An MQTT v5 client that acknowledges a QoS 1 message only when `route` resolves true
 * (DESIGN rule 5, mqtt.js #1810): mqtt.js sends the PUBACK when handleMessage's callback
 * is called without an error. A message left unacknowledged is redelivered only when the
 * session resumes, so after one we drop the connection and reconnect (clean: false).
 *
 * Messages are handled one at a time, in arrival order (mqtt.js waits for the callback).
 */
export async function connectMqtt(opts: MqttOptions, route: MessageRoute): Promise<MqttConnection> {
  const clientOpts: IClientOptions = {
    clientId: opts.clientId,
    protocolVersion: opts.protocolVersion ?? 5,
    clean: false,
    ...((opts.protocolVersion ?? 5) === 5 ? { properties: { sessionExpiryInterval: opts.sessionExpirySec } } : {}),
    reconnectPeriod: 1000,
    queueQoSZero: false,
    connectTimeout: 10_000,
    // Ours to make on every connect (below), not mqtt.js's to skip when a session is present.
    resubscribe: false,
    // A refused CONNACK (a broker restarting its auth, a password reload) is retried, not final.
    reconnectOnConnackError: true,
  };
  // connect() only starts the socket on a later tick: handleMessage is in place before a
  // resumed session's queued messages can arrive.
  const client = connect(opts.url, clientOpts);
  let redeliverTimer: ReturnType<typeof setTimeout> | null = null;
  const scheduleRedelivery = (): void => {
    if (redeliverTimer) return;
    redeliverTimer = setTimeout(() => {
      redeliverTimer = null;
      if (client.disconnecting || !client.connected) return;
      opts.log.info('reconnecting to have unacknowledged messages redelivered');
      client.stream.destroy();
    }, opts.redeliverAfterMs);
  };
  client.handleMessage = (packet, callback) => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    route(packet.topic, payload).then(
      (ack) => {
        if (ack) return callback();
        scheduleRedelivery();
        callback(new Error('not acknowledged'));
      },
      (err: unknown) => {
        opts.log.error({ err, topic: packet.topic }, 'message handler failed; not acknowledged');
        scheduleRedelivery();
        callback(err instanceof Error ? err : new Error(String(err)));
      },
    );
  };
  const health: ConnectionHealth = { clientId: opts.clientId, connected: false, subscribed: !opts.subscriptions, problem: null, connects: 0 };
  let retrySubscribe: ReturnType<typeof setTimeout> | null = null;
  const subscribe = (): void => {
    const wanted = opts.subscriptions;
    if (!wanted || !client.connected) return;
    const generation = health.connects;
    client.subscribeAsync(wanted).then(
      (granted) => {
        if (generation !== health.connects) return; // a newer connection subscribes for itself
        // SUBACK reason codes ≥ 0x80 are refusals (MQTT 3.1.1: 0x80; v5: 0x80–0xA2).
        const refused = granted.filter((g) => g.qos >= 0x80 || g.qos < (wanted[g.topic]?.qos ?? 0));
        if (refused.length === 0) {
          health.subscribed = true;
          health.problem = null;
          opts.log.info({ clientId: opts.clientId, topics: granted.map((g) => g.topic) }, 'subscriptions in place');
          return;
        }
        health.problem = `subscription refused by the broker: ${refused.map((g) => `${g.topic} (0x${g.qos.toString(16)})`).join(', ')}`;
        opts.log.error({ clientId: opts.clientId, refused: refused.map((g) => ({ topic: g.topic, code: g.qos })) }, 'broker refused a subscription; retrying');
        retrySubscribe = setTimeout(subscribe, opts.resubscribeMs ?? 2000);
      },
      (err: Error) => {
        if (generation !== health.connects) return;
        // mqtt.js rejects a SUBACK with a failure code ("Subscribe error: …") as well as a lost connection.
        health.problem = `subscription refused or failed: ${err.message}`;
        opts.log.error({ clientId: opts.clientId, err: err.message }, 'subscribe failed; retrying');
        retrySubscribe = setTimeout(subscribe, opts.resubscribeMs ?? 2000);
      },
    );
  };
  client.on('connect', (connack) => {
    // Deltas, PUBACKs and receipts are small: without this, Nagle plus the broker's delayed
    // ACK held them back ~40 ms (bench/sync.js delta p50 48 ms → 29 ms).
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    health.connects++;
    health.connected = true;
    health.subscribed = !opts.subscriptions;
    if (retrySubscribe) clearTimeout(retrySubscribe);
    opts.log.info({ clientId: opts.clientId, sessionPresent: connack.sessionPresent }, 'mqtt connected; subscribing');
    subscribe();
  });
  client.on('close', () => {
    health.connected = false;
    health.subscribed = !opts.subscriptions;
  });
  client.on('error', (err) => {
    health.problem = err.message;
    opts.log.warn({ err: err.message }, 'mqtt error');
  });
  client.on('offline', () => opts.log.warn('mqtt offline'));
  client.on('reconnect', () => opts.log.debug('mqtt reconnecting'));
  client.on('end', () => {
    if (redeliverTimer) clearTimeout(redeliverTimer);
    if (retrySubscribe) clearTimeout(retrySubscribe);
  });
  await new Promise<void>((resolve, reject) => {
    const onConnect = (): void => {
      client.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      client.off('connect', onConnect);
      client.end(true);
      reject(new CloudError('broker_unreachable', `cannot connect to MQTT broker ${redactUrl(opts.url)}: ${err.message}`, {}, { cause: err }));
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
  const publisher: Publisher = {
    publish: async (topic, payload, o) => {
      await client.publishAsync(topic, payload, { qos: o.qos, retain: o.retain ?? false });
    },
  };
  return { client, publisher, health: () => ({ ...health }) };
}

/** End the session for good: DISCONNECT with session expiry 0 so the broker forgets it. */
export async function closeMqtt(client: MqttClient): Promise<void> {
  if (client.options.protocolVersion === 5) await client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
  else await client.endAsync(false);
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
