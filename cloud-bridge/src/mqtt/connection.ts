import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { Publisher } from './publisher.js';

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
}

/**
 * An MQTT v5 client that acknowledges a QoS 1 message only when `route` resolves true
 * (DESIGN rule 5, mqtt.js #1810): mqtt.js sends the PUBACK when handleMessage's callback
 * is called without an error. A message left unacknowledged is redelivered only when the
 * session resumes, so after one we drop the connection and reconnect (clean: false).
 *
 * Messages are handled one at a time, in arrival order (mqtt.js waits for the callback).
 */
export async function connectMqtt(opts: MqttOptions, route: MessageRoute): Promise<{ client: MqttClient; publisher: Publisher }> {
  const clientOpts: IClientOptions = {
    clientId: opts.clientId,
    protocolVersion: opts.protocolVersion ?? 5,
    clean: false,
    ...((opts.protocolVersion ?? 5) === 5 ? { properties: { sessionExpiryInterval: opts.sessionExpirySec } } : {}),
    reconnectPeriod: 1000,
    queueQoSZero: false,
    connectTimeout: 10_000,
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
  // Deltas, PUBACKs and receipts are small: without this, Nagle plus the broker's delayed
  // ACK held them back ~40 ms (bench/sync.js delta p50 48 ms → 29 ms).
  client.on('connect', () => (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true));
  client.on('error', (err) => opts.log.warn({ err: err.message }, 'mqtt error'));
  client.on('offline', () => opts.log.warn('mqtt offline'));
  client.on('reconnect', () => opts.log.debug('mqtt reconnecting'));
  client.on('end', () => {
    if (redeliverTimer) clearTimeout(redeliverTimer);
  });
  await new Promise<void>((resolve, reject) => {
    const onConnect = (): void => {
      client.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      client.off('connect', onConnect);
      client.end(true);
      reject(new Error(`cannot connect to MQTT broker ${redactUrl(opts.url)}: ${err.message}`));
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
  const publisher: Publisher = {
    publish: async (topic, payload, o) => {
      await client.publishAsync(topic, payload, { qos: o.qos, retain: o.retain ?? false });
    },
  };
  return { client, publisher };
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
