import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Clock } from './clock.js';
import type { CloudStore } from './db/store.js';
import type { SiteEvents } from './events.js';
import type { CloudEnv } from './http/env.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Publisher } from './mqtt/publisher.js';
import type { SiteRegistry } from './sites.js';

/** The one HTTP app every module adds its routes to (hono, OpenAPI document at /openapi.json). */
export type CloudApp = OpenAPIHono<CloudEnv>;

/**
 * A gate message a module takes: `stile/{site}/gates/{gate}/{leaf}`. Resolves true when
 * the message is handled (the bridge acknowledges it), false to leave it unacknowledged so
 * the broker delivers it again.
 */
export type GateMessageHandler = (topic: string, payload: Buffer) => Promise<boolean>;

/** The gate topic leaves the cloud subscribes to (core/mqtt/topics.ts). */
export type GateLeaf = 'entries' | 'status' | 'cmd/ack';
/** The kiosk topic leaves the cloud subscribes to. */
export type KioskLeaf = 'sales';

/**
 * A feature of cloud-bridge (sync, whitelist, commands, sales, capacity, reports, dashboard,
 * staff): everything it needs comes in its context and its ports; everything it offers is
 * this interface. The composition root (bridge.ts) builds, starts and stops modules in order.
 */
export interface CloudModule {
  readonly name: string;
  /** Gate messages by topic leaf. */
  readonly mqtt?: Partial<Record<GateLeaf, GateMessageHandler>>;
  /** Kiosk messages (`stile/{site}/kiosks/{kiosk}/{leaf}`) by topic leaf. */
  readonly kioskMqtt?: Partial<Record<KioskLeaf, GateMessageHandler>>;
  /** Routes for the public listener (channel, staff, dashboard). */
  routes?(app: CloudApp): void;
  /** Routes for gates (served on the gate listener when there is one). */
  gateRoutes?(app: CloudApp): void;
  start?(): Promise<void>;
  /** Stops timers and streams; the bridge closes connections and the store after every module. */
  stop?(): Promise<void>;
}

/** What every module gets from the core. */
export interface ModuleContext {
  store: CloudStore;
  sites: SiteRegistry;
  events: SiteEvents;
  clock: Clock;
  /** The module's own child logger ({ module: name }). */
  log: Logger;
  metrics: Metrics;
  /** The connection deltas, receipts, commands and capacity go out on (takes no messages). */
  publisher: Publisher;
}
