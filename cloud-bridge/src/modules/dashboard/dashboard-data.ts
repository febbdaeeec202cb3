import { GateStatusSchema } from '@stile/config';
import { percentOf } from '../../core/capacity-levels.js';
import type { TodayLoad } from '../../core/ports.js';
import type { SalesSite } from '../../core/sites.js';
import type { DashboardModel, Level } from './model.js';
import type { DashboardRows } from './repository.js';

function deviceStates(lastStatus: string | null): { outboxDepth: number | null; devices: Record<string, string> } {
  if (!lastStatus) return { outboxDepth: null, devices: {} };
  try {
    const s = GateStatusSchema.parse(JSON.parse(lastStatus));
    return { outboxDepth: s.outboxDepth ?? null, devices: Object.fromEntries((s.devices ?? []).map((d) => [d.name, d.state])) };
  } catch {
    return { outboxDepth: null, devices: {} };
  }
}

/** Everything the staff dashboard shows for one site, from the store's rows and the capacity module's level and load. */
export function dashboardModel(site: SalesSite, level: Level, load: TodayLoad, rows: DashboardRows, now: Date, cloud: DashboardModel['cloud'] = { ready: true, problems: [] }): DashboardModel {
  const { gates, channels: channelRows, alerts, conflicts } = rows;
  const state = new Map(channelRows.map((r) => [r.channel, r]));
  const { daily, yellow, orange } = site.capacity;
  const red = site.capacity.red ?? 1;
  return {
    site: site.id,
    siteName: site.catalogue.name ?? { 'zh-CN': site.id, en: site.id },
    date: load.date,
    timeZone: site.catalogue.timeZone,
    capacity: { daily, load: load.load, admitted: load.admitted, soldToday: load.soldToday, percent: percentOf(load.load, daily), level, thresholds: { yellow, orange, red } },
    gates: gates.map((g) => ({ gate: g.gate, online: Number(g.online) === 1, state: g.state, ...deviceStates(g.last_status), statusAt: g.status_at })),
    channels: site.catalogue.channels.map((c) => {
      const s = state.get(c.id);
      const paused = s !== undefined && Number(s.paused) === 1;
      return { id: c.id, name: c.name?.['zh-CN'] ?? c.id, ...(c.name ? { names: c.name } : {}), kind: c.kind, paused, by: s?.changed_by ?? null, reason: s?.reason ?? null, at: s?.changed_at ?? null };
    }),
    entriesByHour: load.entriesByHour,
    alerts: alerts.map((a) => ({ at: a.at, kind: a.kind, ...(a.level ? { level: a.level as Level } : {}), message: { zh: a.message_zh, en: a.message_en } })),
    conflicts: conflicts.map((c) => ({ ticketId: c.ticket_id, firstGate: c.first_gate, secondGate: c.second_gate, detectedAt: c.detected_at })),
    cloud,
    updatedAt: now.toISOString(),
  };
}
