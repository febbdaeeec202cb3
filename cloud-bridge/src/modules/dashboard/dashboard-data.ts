import { daysAround as around, GateStatusSchema, localDate, localDateHour } from '@stile/config';
import { percentOf } from '../../core/capacity-levels.js';
import type { SalesSite } from '../sales/sales.js';
import type { CloudStore } from '../../core/db/store.js';
import type { DashboardModel, Level } from './model.js';

export interface TodayLoad {
  date: string;
  /** Persons admitted today at all gates. */
  admitted: number;
  /** Persons sold for today through the channels. */
  soldToday: number;
  /** Sold for today, plus admissions on tickets that were not (walk-ins on offline kiosk tickets, multi-day tickets…). */
  load: number;
  entriesByHour: { hour: number; persons: number }[];
}

/**
 * Today's load for the capacity level: sold for today plus those admitted today on tickets
 * not sold for today. A visitor with a ticket for today counts once, entered or not.
 */
export async function todayLoad(store: CloudStore, site: SalesSite, now: Date): Promise<TodayLoad> {
  const tz = site.catalogue.timeZone;
  const date = localDate(now, tz);
  const { from, to } = around(date);
  const db = store.db;
  const [sold, entries, soldTickets] = await Promise.all([
    db.selectFrom('inventory').select('sold').where('site', '=', site.id).where('visit_date', '=', date).where('slot_id', '=', '*').executeTakeFirst(),
    db.selectFrom('entries').select(['at', 'persons', 'ticket_id']).where('site', '=', site.id).where('kind', '=', 'admit').where('anomaly', 'is', null).where('at', '>=', from).where('at', '<', to).execute(),
    db
      .selectFrom('order_visitors')
      .innerJoin('orders', 'orders.order_id', 'order_visitors.order_id')
      .select('order_visitors.ticket_id')
      .where('orders.site', '=', site.id)
      .where('orders.visit_date', '=', date)
      .where('orders.status', '=', 'paid')
      .execute(),
  ]);
  const soldIds = new Set(soldTickets.map((r) => r.ticket_id));
  const byHour = Array.from({ length: 24 }, (_, hour) => ({ hour, persons: 0 }));
  let admitted = 0;
  let walkIns = 0;
  for (const e of entries) {
    const local = localDateHour(e.at, tz);
    if (!local || local.date !== date) continue;
    const persons = Number(e.persons);
    admitted += persons;
    byHour[local.hour]!.persons += persons;
    if (!soldIds.has(e.ticket_id)) walkIns += persons;
  }
  const soldToday = Number(sold?.sold ?? 0);
  return { date, admitted, soldToday, load: soldToday + walkIns, entriesByHour: byHour };
}

function deviceStates(lastStatus: string | null): { outboxDepth: number | null; devices: Record<string, string> } {
  if (!lastStatus) return { outboxDepth: null, devices: {} };
  try {
    const s = GateStatusSchema.parse(JSON.parse(lastStatus));
    return { outboxDepth: s.outboxDepth ?? null, devices: Object.fromEntries((s.devices ?? []).map((d) => [d.name, d.state])) };
  } catch {
    return { outboxDepth: null, devices: {} };
  }
}

/** Everything the staff dashboard shows for one site, from the store. */
export async function dashboardModel(store: CloudStore, site: SalesSite, level: Level, load: TodayLoad, now: Date, cloud: DashboardModel['cloud'] = { ready: true, problems: [] }): Promise<DashboardModel> {
  const db = store.db;
  const [gates, channelRows, alerts, conflicts] = await Promise.all([
    db.selectFrom('gate_state').select(['gate', 'online', 'state', 'last_status', 'status_at']).where('site', '=', site.id).orderBy('gate').execute(),
    db.selectFrom('channel_state').selectAll().where('site', '=', site.id).execute(),
    db.selectFrom('alerts').selectAll().where('site', '=', site.id).orderBy('at', 'desc').limit(20).execute(),
    db.selectFrom('conflicts').selectAll().where('site', '=', site.id).orderBy('detected_at', 'desc').limit(20).execute(),
  ]);
  const state = new Map(channelRows.map((r) => [r.channel, r]));
  const { daily, yellow, orange } = site.capacity;
  const red = site.capacity.red ?? 1;
  return {
    site: site.id,
    date: load.date,
    timeZone: site.catalogue.timeZone,
    capacity: { daily, load: load.load, admitted: load.admitted, soldToday: load.soldToday, percent: percentOf(load.load, daily), level, thresholds: { yellow, orange, red } },
    gates: gates.map((g) => ({ gate: g.gate, online: Number(g.online) === 1, state: g.state, ...deviceStates(g.last_status), statusAt: g.status_at })),
    channels: site.catalogue.channels.map((c) => {
      const s = state.get(c.id);
      const paused = s !== undefined && Number(s.paused) === 1;
      return { id: c.id, name: c.name ?? c.id, kind: c.kind, paused, by: s?.changed_by ?? null, reason: s?.reason ?? null, at: s?.changed_at ?? null };
    }),
    entriesByHour: load.entriesByHour,
    alerts: alerts.map((a) => ({ at: a.at, kind: a.kind, ...(a.level ? { level: a.level as Level } : {}), message: { zh: a.message_zh, en: a.message_en } })),
    conflicts: conflicts.map((c) => ({ ticketId: c.ticket_id, firstGate: c.first_gate, secondGate: c.second_gate, detectedAt: c.detected_at })),
    cloud,
    updatedAt: now.toISOString(),
  };
}
