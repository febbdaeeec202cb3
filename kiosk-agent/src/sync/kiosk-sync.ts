import { connect, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  defaultClientId,
  deviceMqttOptions,
  kioskTopics,
  kioskUsername,
  KioskSalesAckSchema,
  nextReconnectMs,
  verifySiteDocument,
  type DeviceMqttSettings,
  type KioskRecord,
  type KioskRecordInput,
  type KioskSalesMessage,
  type SigningKey,
  type TrustedKeys,
} from '@stile/config';
import { OutboxDrain } from '@stile/gate-agent';
import { OfflineSeller } from './offline-seller.js';
import { KioskOutbox } from './outbox.js';
import { PackStore } from './pack.js';

export interface KioskSyncOptions {
  site: string;
  kiosk: string;
  /** mqtt://… of the broker (the park's or the cloud's). */
  url: string;
  mqtt: DeviceMqttSettings & { reconnectMaxMs: number };
  /** The outbox database file. */
  dbPath: string;
  /** The site's control keys: receipts and packs verify under them. */
  control: TrustedKeys;
  /** The kiosk's own ST2 signing key. */
  offlineKey: SigningKey;
  /** The site's ID hash key (the gates' keys.idHash). */
  idHashKey: string;
  batchSize?: number;
  outboxMax?: number;
  receiptTimeoutMs?: number;
  log: Logger;
}

export interface KioskSyncStatus {
  connected: boolean;
  outboxDepth: number;
  outboxFull: boolean;
  lastReceiptAt: string | null;
  eventsSent: number;
  /** Messages dropped, by reason (bad_json, invalid, bad_signature, receipt_mismatch, …). */
  dropped: Record<string, number>;
}

/**
 * The kiosk's link to the cloud: its outbox drained in seq order as QoS 1 batches to
 * `stile/{site}/kiosks/{kiosk}/sales` (gate-agent's OutboxDrain, the same rules as a gate's
 * entries: rows leave only on a verified receipt), and the retained signed offline pack.
 * What the daemon uses: `offline.canSell/issue`, `enqueue`, `online`.
 */
export class KioskSync {
  readonly outbox: KioskOutbox;
  readonly packs: PackStore;
  readonly offline: OfflineSeller;
  readonly status: KioskSyncStatus = { connected: false, outboxDepth: 0, outboxFull: false, lastReceiptAt: null, eventsSent: 0, dropped: {} };
  private readonly drain: OutboxDrain<KioskSalesMessage>;
  private client: MqttClient | null = null;
  private stopping = false;

  constructor(private readonly o: KioskSyncOptions) {
    this.outbox = new KioskOutbox(o.dbPath);
    this.packs = new PackStore(this.outbox, { site: o.site, kiosk: o.kiosk }, o.control);
    this.offline = new OfflineSeller({ outbox: this.outbox, packs: this.packs, key: o.offlineKey, site: o.site, idHashKey: o.idHashKey });
    this.drain = new OutboxDrain<KioskSalesMessage>({
      store: this.outbox,
      site: o.site,
      gate: o.kiosk,
      batchSize: o.batchSize ?? 100,
      outboxMax: o.outboxMax ?? 100_000,
      ...(o.receiptTimeoutMs !== undefined ? { receiptTimeoutMs: o.receiptTimeoutMs } : {}),
      status: this.status,
      log: o.log,
      message: (payloads) => ({ v: 1, site: o.site, kiosk: o.kiosk, records: payloads.map((p) => JSON.parse(p) as KioskRecord) }),
      publish: (m) => this.publish(m),
    });
    this.drain.refreshDepth(true);
  }

  /** Connected to the broker (the cloud may still be down: the outbox and receipts tell). */
  get online(): boolean {
    return this.status.connected;
  }

  /** Record a sale, print or cash movement; it leaves for the cloud in order. */
  enqueue(record: KioskRecordInput): KioskRecord {
    const r = this.outbox.enqueue(record);
    this.drain.kick();
    return r;
  }

  /** After an offline sale (OfflineSeller.issue wrote its record): send it when connected. */
  kick(): void {
    this.drain.kick();
  }

  start(): void {
    const t = { ack: kioskTopics.salesAck(this.o.site, this.o.kiosk), pack: kioskTopics.pack(this.o.site, this.o.kiosk) };
    const opts = deviceMqttOptions(this.o.mqtt, { clientId: defaultClientId({ kind: 'kiosk', site: this.o.site, id: this.o.kiosk }), defaultUsername: kioskUsername(this.o.site, this.o.kiosk) });
    const client = connect(this.o.url, opts);
    this.client = client;
    let reconnectMs = this.o.mqtt.reconnectMinMs;
    client.on('connect', () => {
      reconnectMs = this.o.mqtt.reconnectMinMs;
      client.options.reconnectPeriod = reconnectMs;
      this.status.connected = true;
      this.o.log.info({ event: 'mqtt_connected' }, 'kiosk connected to the broker');
      // Made on every connect: a broker restored from persistence may not hold them.
      client.subscribeAsync({ [t.ack]: { qos: 1 }, [t.pack]: { qos: 1 } }).catch((err: Error) => this.o.log.error({ event: 'subscribe_failed', err: err.message }, 'could not subscribe'));
      this.drain.connected();
    });
    client.on('close', () => {
      this.drain.disconnected();
      this.status.connected = false;
      reconnectMs = nextReconnectMs(reconnectMs, this.o.mqtt.reconnectMinMs, this.o.mqtt.reconnectMaxMs);
      client.options.reconnectPeriod = reconnectMs;
    });
    client.on('error', (err) => this.o.log.warn({ event: 'mqtt_error', err: err.message }, 'mqtt error'));
    client.on('message', (topic, payload) => {
      try {
        if (topic === t.ack) this.handleReceipt(payload);
        else if (topic === t.pack) this.handlePack(payload);
      } catch (err) {
        this.dropped('handler_error', (err as Error).message);
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.drain.disconnected();
    if (this.client) await this.client.endAsync();
    this.outbox.close();
  }

  private publish(m: KioskSalesMessage): Promise<void> {
    const c = this.client;
    if (!c || this.stopping) return Promise.reject(new Error('not connected'));
    return c.publishAsync(kioskTopics.sales(this.o.site, this.o.kiosk), JSON.stringify(m), { qos: 1 }).then(() => undefined);
  }

  private dropped(reason: string, detail: string): void {
    this.status.dropped[reason] = (this.status.dropped[reason] ?? 0) + 1;
    this.o.log.warn({ event: 'message_dropped', reason, detail }, 'cloud message dropped');
  }

  /**
   * Only a receipt signed by the site's control key, naming this kiosk and the saleIds this
   * outbox holds at `from` and `to`, empties the outbox (a forged or replayed one does nothing).
   */
  private handleReceipt(payload: Buffer): void {
    const raw = parseJson(payload);
    if (raw === undefined) return this.dropped('bad_json', 'receipt is not JSON');
    const v = verifySiteDocument(raw, KioskSalesAckSchema, this.o.site, this.o.control, new Date().toISOString().slice(0, 10));
    if (!v.ok) return this.dropped(v.reason, v.detail);
    const r = v.doc;
    if (r.kiosk !== this.o.kiosk) return this.dropped('wrong_kiosk', `receipt is for ${r.kiosk}`);
    const from = Number(r.from);
    const to = Number(r.to);
    const first = this.outbox.saleIdAt(from);
    const last = this.outbox.saleIdAt(to);
    if (first !== r.firstSaleId || last !== r.lastSaleId) return this.dropped('receipt_mismatch', `seq ${from}..${to} holds ${first ?? 'nothing'}..${last ?? 'nothing'}`);
    this.drain.receipt(from, to);
  }

  private handlePack(payload: Buffer): void {
    const raw = parseJson(payload);
    if (raw === undefined) return this.dropped('bad_json', 'pack is not JSON');
    const c = this.packs.offer(raw);
    if (!c.ok) return this.dropped(c.reason, c.detail);
    this.o.log.info({ event: 'pack', date: c.pack.date, cap: c.pack.offlineCap, expiresAt: c.pack.expiresAt }, 'offline pack kept');
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
