import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { Logger } from './core/log.js';
import type { DeviceIdentity } from '@stile/config';
import { clientIdAllowed, mayPublish, maySubscribe, type BrokerIdentity } from './broker-acl.js';

export interface EmbeddedBroker {
  port: number;
  /** mqtt://stile-cloud:<internal password>@host:port — for the cloud-bridge in this process only. */
  cloudUrl: string;
  /** Refused connections, publishes and subscriptions, by reason. */
  refused: Record<string, number>;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  port: number;
  host?: string;
  /** Checks a device's username/token against the registry; null refuses. */
  verifyDevice(username: string | undefined, password: Buffer | undefined): Promise<DeviceIdentity | null>;
  /** How often connected devices are checked again (a revoked gate is cut off). Default 5 s. */
  recheckMs?: number;
  log?: Logger;
  /** Each refusal, for the cloud's /metrics (`refused.broker_<reason>`). */
  onRefuse?: (reason: string) => void;
}

/** The cloud-bridge's own broker user; its password is made fresh at every start and never leaves the process. */
export const CLOUD_USER = 'stile-cloud';

interface ClientLike {
  id: string;
  close(): void;
}

/**
 * A small in-process MQTT broker (Aedes) for the demo and a single-park install. Like the
 * Mosquitto set-up in docs/mqtt-security.md, it authenticates every client — gates and
 * screens against the cloud's device registry, the cloud-bridge with an internal password —
 * and applies the same ACL (broker-acl.ts). Anonymous clients are refused.
 */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { Aedes } = await import('aedes');
  const host = opts.host ?? '127.0.0.1';
  const cloudPassword = randomBytes(24).toString('base64url');
  const who = new Map<string, { identity: BrokerIdentity; username: string; password: Buffer | undefined; client: ClientLike }>();
  const refused: Record<string, number> = {};
  const refuse = (reason: string, detail: Record<string, unknown>): void => {
    refused[reason] = (refused[reason] ?? 0) + 1;
    opts.onRefuse?.(reason);
    opts.log?.warn({ reason, ...detail }, 'broker refused a client action');
  };
  const isCloud = (username: string | undefined, password: Buffer | undefined): boolean => {
    if (username !== CLOUD_USER || !password) return false;
    const want = Buffer.from(cloudPassword);
    return password.length === want.length && timingSafeEqual(password, want);
  };

  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const pw = password ? Buffer.from(password) : undefined;
      const finish = (identity: BrokerIdentity | null, reason: string): void => {
        if (!identity) {
          refuse(reason, { clientId: client.id, username: username ?? null });
          const err = Object.assign(new Error('not authorized'), { returnCode: username ? 4 : 5 });
          return done(err, false);
        }
        if (!clientIdAllowed(identity, client.id)) {
          refuse('client_id_not_allowed', { clientId: client.id, username });
          return done(Object.assign(new Error('client id not allowed'), { returnCode: 2 }), false);
        }
        who.set(client.id, { identity, username: username!, password: pw, client });
        done(null, true);
      };
      if (isCloud(username, pw)) return finish({ kind: 'cloud' }, '');
      if (!username) return finish(null, 'anonymous');
      opts.verifyDevice(username, pw).then(
        (id) => finish(id, 'bad_credentials'),
        (err: unknown) => {
          opts.log?.error({ err }, 'device registry unavailable; connection refused');
          finish(null, 'registry_unavailable');
        },
      );
    },
    authorizePublish: (client, packet, done) => {
      const w = client ? who.get(client.id) : undefined;
      if (w && mayPublish(w.identity, packet.topic)) return done(null);
      refuse('publish_denied', { clientId: client?.id, topic: packet.topic });
      done(new Error(`not authorized to publish to ${packet.topic}`));
    },
    authorizeSubscribe: (client, sub, done) => {
      const w = who.get(client.id);
      if (w && maySubscribe(w.identity, sub.topic)) return done(null, sub);
      refuse('subscribe_denied', { clientId: client.id, topic: sub.topic });
      done(null, null); // SUBACK 0x80: this subscription is refused, the connection stays
    },
    // Retained and live messages are checked again on the way out: nothing reaches a client its ACL does not allow.
    authorizeForward: (client, packet) => {
      const w = who.get(client.id);
      if (!w) return null;
      if (w.identity.kind === 'cloud' || maySubscribe(w.identity, packet.topic)) return packet;
      return null;
    },
  });
  broker.on('clientDisconnect', (client) => {
    if (who.get(client.id)?.client === (client as unknown as ClientLike)) who.delete(client.id);
  });

  // A revoked (or rotated) credential is cut off within recheckMs, not only at the next connect.
  const recheck = setInterval(() => {
    for (const [id, w] of who) {
      if (w.identity.kind === 'cloud') continue;
      opts.verifyDevice(w.username, w.password).then(
        (ok) => {
          if (ok || who.get(id) !== w) return;
          refuse('credential_revoked', { clientId: id, username: w.username });
          who.delete(id);
          w.client.close();
        },
        () => undefined,
      );
    }
  }, opts.recheckMs ?? 5000);
  recheck.unref();

  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    port,
    cloudUrl: `mqtt://${CLOUD_USER}:${cloudPassword}@${host.includes(':') ? `[${host}]` : host}:${port}`,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(recheck);
        broker.close(() => server.close(() => resolve()));
      }),
  };
}
