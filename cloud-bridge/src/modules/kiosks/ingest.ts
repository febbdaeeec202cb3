import { createHash } from 'node:crypto';
import { KioskSalesMessageSchema, localDate, parseKioskTopic, zodIssueLines, type KioskRecord, type KioskSaleRecord, type KioskSalesMessage, type SnapshotTicket, type WhitelistDelta } from '@stile/config';
import type { Clock } from '../../core/clock.js';
import type { CloudStore, Db } from '../../core/db/store.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import type { IngestLedger } from '../../core/ports.js';
import type { KioskConfig, SalesSite, SiteRegistry } from '../../core/sites.js';
import { judgeOfflineSale, overCap, type KioskAnomaly } from './judge.js';
import type { KioskRepository } from './repository.js';

export const MAX_KIOSK_PAYLOAD = 512 * 1024;

/** What the cloud tells a kiosk once a batch is committed. */
export interface KioskReceipt {
  from: string;
  to: string;
  firstSaleId: string;
  lastSaleId: string;
}

export interface KioskIngestDeps {
  store: CloudStore;
  repository: KioskRepository;
  ledger: Pick<IngestLedger, 'lockSite' | 'stageChanges' | 'announce' | 'getTicket'>;
  sites: SiteRegistry;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
  /** A kiosk whose credential was revoked: its batches are refused (acknowledged, not stored). */
  isRevoked: (site: string, kiosk: string) => Promise<boolean>;
  receipt: (site: string, kiosk: string, r: KioskReceipt) => void;
  /** After a commit that counted sales: capacity recounts. */
  changed: (site: string) => void;
  /** Records flagged by the cloud: alert staff. */
  onAnomalies: (site: string, kiosk: string, counts: ReadonlyMap<KioskAnomaly, number>) => void;
}

/** A counted offline sale becomes this paid order (deterministic: the same sale twice is one order). */
export function kioskOrderId(site: string, kiosk: string, saleId: string): string {
  return `K${createHash('sha256').update(`${site}/${kiosk}/${saleId}`, 'utf8').digest('base64url').slice(0, 24)}`;
}

/**
 * The order's visitor rows: visitor i holds the ticket that admits person i. Capacity reads
 * sold tickets through these rows, so a sale without visitors gets one unnamed row per ticket
 * (no ID hash: it matches nobody's real-name limit).
 */
export function visitorRows(r: KioskSaleRecord): { name: string; idHash: string; idMasked: string; ticketId: string }[] {
  const visitors = r.visitors ?? [];
  if (visitors.length === 0) return r.tickets.map((t) => ({ name: '', idHash: '', idMasked: '', ticketId: t.ticketId }));
  const holder: string[] = r.tickets.flatMap((t) => Array.from({ length: t.persons }, () => t.ticketId));
  return visitors.map((v, i) => ({ ...v, ticketId: holder[Math.min(i, holder.length - 1)]! }));
}

interface BatchOutcome {
  inserted: number;
  duplicates: number;
  counted: number;
  anomalies: Map<KioskAnomaly, number>;
  delta: WhitelistDelta | null;
}

/**
 * Kiosk records → database, one transaction per batch: each record idempotent on (site,
 * kiosk, seq); an offline-cash sale whose codes this kiosk signed becomes a paid order of the
 * kiosk's channel, its places sold and its tickets staged as a whitelist delta, so capacity,
 * reports and the gates see it. A sale over the kiosk's daily offline cap is counted (its
 * visitors hold valid codes) and flagged; a sale whose codes the kiosk did not sign is stored
 * and flagged, and counts nowhere. Then a signed receipt, also for duplicates.
 */
export class KioskIngest {
  constructor(private readonly d: KioskIngestDeps) {}

  async handle(topic: string, payload: Buffer): Promise<'ack' | 'retry'> {
    const drop = (reason: string, detail?: unknown): 'ack' => {
      this.d.metrics.drop(`kiosk_${reason}`);
      this.d.log.warn({ topic, reason, detail }, 'kiosk records dropped');
      return 'ack';
    };
    if (payload.length > MAX_KIOSK_PAYLOAD) return drop('oversized', { bytes: payload.length });
    const where = parseKioskTopic(topic);
    if (!where || where.leaf !== 'sales') return drop('bad_topic');
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return drop('bad_json');
    }
    const parsed = KioskSalesMessageSchema.safeParse(json);
    if (!parsed.success) return drop('schema', zodIssueLines(parsed.error.issues, { limit: 3 }));
    const msg = parsed.data;
    if (msg.site !== where.site || msg.kiosk !== where.kiosk) return drop('topic_mismatch', { site: msg.site, kiosk: msg.kiosk });
    const kiosk = this.d.sites.config(msg.site)?.kiosks?.find((k) => k.id === msg.kiosk);
    // Refused and counted: a kiosk the site does not list has no cap, no key, no channel.
    if (!kiosk) return drop('unknown_kiosk', { site: msg.site, kiosk: msg.kiosk });
    const records = [...msg.records].sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : BigInt(a.seq) > BigInt(b.seq) ? 1 : 0));
    let outcome: BatchOutcome;
    try {
      if (await this.d.isRevoked(msg.site, msg.kiosk)) return drop('kiosk_revoked', { site: msg.site, kiosk: msg.kiosk });
      outcome = await this.d.store.db.transaction().execute((trx) => this.storeBatch(trx, msg, kiosk, records));
    } catch (err) {
      this.d.metrics.dbErrors++;
      this.d.metrics.lastWriteError = { at: Date.now(), message: (err as Error).message };
      this.d.log.error({ err, topic }, 'kiosk records not stored; message left unacknowledged for redelivery');
      return 'retry';
    }
    this.d.metrics.inserted += outcome.inserted;
    this.d.metrics.duplicates += outcome.duplicates;
    if (outcome.anomalies.size > 0) {
      for (const [reason, n] of outcome.anomalies) this.d.metrics.anomaly(`kiosk_${reason}`, n);
      this.d.log.warn({ alert: 'kiosk_anomaly', site: msg.site, kiosk: msg.kiosk, anomalies: Object.fromEntries(outcome.anomalies) }, 'kiosk records flagged');
      this.d.onAnomalies(msg.site, msg.kiosk, outcome.anomalies);
    }
    if (outcome.delta) void this.d.ledger.announce(outcome.delta);
    if (outcome.counted > 0) this.d.changed(msg.site);
    const first = records[0]!;
    const last = records[records.length - 1]!;
    this.d.receipt(msg.site, msg.kiosk, { from: first.seq, to: last.seq, firstSaleId: first.saleId, lastSaleId: last.saleId });
    return 'ack';
  }

  private async storeBatch(trx: Db, msg: KioskSalesMessage, kiosk: KioskConfig, records: KioskRecord[]): Promise<BatchOutcome> {
    const out: BatchOutcome = { inserted: 0, duplicates: 0, counted: 0, anomalies: new Map(), delta: null };
    const site = this.d.sites.site(msg.site);
    // Takes turns with other writers of the site (PostgreSQL): the cap sum below sees every earlier sale.
    await this.d.ledger.lockSite(trx, msg.site);
    const tickets: SnapshotTicket[] = [];
    const receivedAt = this.d.clock().toISOString();
    for (const r of records) {
      if (await this.d.repository.recordExists(trx, msg.site, msg.kiosk, r.seq)) {
        out.duplicates++;
        continue;
      }
      let anomaly: KioskAnomaly | null = null;
      let orderId: string | null = null;
      if (r.kind === 'sale' && r.payment === 'offline-cash') {
        const counted = await this.countOfflineSale(trx, msg, kiosk, site, r, tickets);
        anomaly = counted.anomaly;
        orderId = counted.orderId;
        if (orderId) out.counted++;
      }
      if (anomaly) out.anomalies.set(anomaly, (out.anomalies.get(anomaly) ?? 0) + 1);
      await this.d.repository.insertRecord(trx, {
        site: msg.site,
        kiosk: msg.kiosk,
        seq: r.seq,
        sale_id: r.saleId,
        kind: r.kind,
        payment: r.kind === 'sale' ? r.payment : null,
        visit_date: r.kind === 'sale' ? r.date : null,
        persons: r.kind === 'sale' ? r.persons : 0,
        amount_fen: r.kind === 'sale' ? r.amountFen : 0,
        at: r.at,
        received_at: receivedAt,
        payload: JSON.stringify(r),
        anomaly,
        order_id: orderId,
      });
      out.inserted++;
    }
    if (tickets.length > 0) out.delta = await this.d.ledger.stageChanges(trx, msg.site, tickets.map((ticket) => ({ op: 'upsert' as const, ticket })));
    return out;
  }

  /** The order an offline sale is counted as, or why it is not (or is, but flagged). */
  private async countOfflineSale(trx: Db, msg: KioskSalesMessage, kiosk: KioskConfig, site: SalesSite | undefined, r: KioskSaleRecord, tickets: SnapshotTicket[]): Promise<{ anomaly: KioskAnomaly | null; orderId: string | null }> {
    const zone = site?.catalogue.timeZone ?? 'Asia/Shanghai';
    const verdict = judgeOfflineSale(msg.site, kiosk, r, localDate(new Date(r.at), zone));
    if (!verdict.ok) {
      this.d.log.warn({ site: msg.site, kiosk: msg.kiosk, saleId: r.saleId, detail: verdict.detail }, 'offline sale not counted: its codes are not this kiosk\'s');
      return { anomaly: verdict.anomaly, orderId: null };
    }
    if (!site || !site.catalogue.channels.some((c) => c.id === kiosk.channel)) {
      this.d.log.error({ site: msg.site, kiosk: msg.kiosk, channel: kiosk.channel }, 'offline sale not counted: the site has no sales or no such channel (cloud.yaml kiosks[].channel)');
      return { anomaly: 'not_counted', orderId: null };
    }
    const before = await this.d.repository.offlinePersons(trx, msg.site, msg.kiosk, r.date);
    const orderId = kioskOrderId(msg.site, msg.kiosk, r.saleId);
    const visitors = r.visitors ?? [];
    // One visitor per one-person ticket: the ID card finds the ticket at a gate.
    const bindIds = visitors.length === r.tickets.length && r.tickets.every((t) => t.persons === 1);
    const fresh = await this.d.repository.insertOrder(
      trx,
      {
        order_id: orderId,
        site: msg.site,
        channel: kiosk.channel,
        status: 'paid',
        type_id: r.typeId,
        gate_type_id: verdict.payloads[0]!.typeId,
        visit_date: r.date,
        slot_id: r.slotId ?? '',
        persons: r.persons,
        amount_fen: r.amountFen,
        pricing: JSON.stringify({ unitFen: Math.round(r.amountFen / r.tickets.length), baseFen: Math.round(r.amountFen / r.tickets.length), discounts: [], offline: { kiosk: msg.kiosk, saleId: r.saleId } }),
        contact_phone: '',
        created_at: r.at,
        paid_at: r.at,
        payment_ref: `kiosk:${msg.kiosk}:${r.saleId}`,
        refunded_at: null,
        refund_reason: null,
        payment_mode: 'partner',
        refund_state: null,
        refund_no: null,
        lang: null,
      },
      visitorRows(r),
    );
    if (!fresh) return { anomaly: 'duplicate_sale', orderId: null };
    await this.d.repository.addSold(trx, msg.site, r.date, r.slotId, r.persons);
    for (const [i, p] of verdict.payloads.entries()) {
      // A gate may have admitted the code before the sale arrived: keep the usage the cloud learned.
      const known = await this.d.ledger.getTicket(msg.site, p.ticketId, trx);
      tickets.push({ ticketId: p.ticketId, typeId: p.typeId, status: 'valid', visitDate: p.visitDate, slotStart: p.slotStart, slotEnd: p.slotEnd, persons: p.persons, entriesUsed: known?.entriesUsed ?? 0, ...(bindIds ? { idHash: visitors[i]!.idHash } : {}) });
    }
    return { anomaly: overCap(before, r.persons, kiosk.offlineCap) ? 'over_cap' : null, orderId };
  }
}
