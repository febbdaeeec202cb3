/**
 * The gate under systemd (docs/supervision.md): READY=1 once the store is open and every
 * configured device has been tried, a STATUS= line a technician reads in `systemctl status`,
 * the watchdog, and the clock check at start.
 *
 * A device that is missing at start does not hold READY back: the gate admits with what it
 * has (a lane with its ID-card reader unplugged still takes QR codes, staff can open by hand
 * when the relay is gone) and keeps reopening the device; the STATUS line names it. Holding
 * READY would make systemd kill and restart a gate that works, over and over.
 */
import type { Logger } from 'pino';
import { deviceSummary, devicesSettled, startClockVerdict, supervise, type ClockVerdict, type DeviceView, type Notifier, type Supervision } from '@stile/service';
import type { GateStore } from '../store/gate-store.js';
import type { DaemonStatus } from './gate-daemon.js';

/** A device that has not answered its first open in this long is reported as not opened, and READY goes out. */
export const DEVICE_SETTLE_MS = 10_000;

export function gateDevices(st: DaemonStatus): DeviceView[] {
  const lane = st.lane ? [st.lane.sensor, st.lane.display].filter((d): d is NonNullable<typeof d> => d !== null) : [];
  return [...st.inputs, st.relay, ...lane];
}

export interface GateStatusFacts {
  devices: DeviceView[];
  locked: boolean;
  emergency: boolean;
  whitelistSeq: string | undefined;
  outbox: number;
  /** null: no `mqtt` section (an offline gate). */
  cloud: { connected: boolean; subscribed: boolean } | null;
  clock: ClockVerdict;
}

/** "admitting; 3 devices ok; whitelist seq 123; outbox 0; cloud connected" — what `systemctl status` shows. */
export function gateStatusLine(f: GateStatusFacts): string {
  const mode = f.locked ? 'LOCKED by remote command (every scan refused)' : f.emergency ? 'EMERGENCY OPEN' : 'admitting';
  const parts = [mode];
  if (!f.clock.ok) parts.push(f.clock.status);
  parts.push(deviceSummary(f.devices));
  parts.push(`whitelist seq ${f.whitelistSeq ?? 'none (no snapshot imported)'}`);
  parts.push(`outbox ${f.outbox}`);
  if (f.cloud) parts.push(!f.cloud.connected ? 'cloud link down' : f.cloud.subscribed ? 'cloud connected' : 'cloud connected, not subscribed');
  return parts.join('; ');
}

/** The newest entry this gate recorded before this start (its clock's last known good time). */
export function newestEntryAt(store: GateStore): number | undefined {
  return store.recentEntries(1)[0]?.at;
}

export interface SuperviseGateDeps {
  status: () => DaemonStatus;
  store: GateStore;
  notifier: Notifier;
  log: Logger;
  clock?: () => number;
  settleMs?: number;
}

/** Clock check (logged whether or not systemd listens), then READY, watchdog and STATUS. */
export function superviseGate(d: SuperviseGateDeps): Supervision {
  const clock = d.clock ?? Date.now;
  const newest = newestEntryAt(d.store);
  // Checked again on every STATUS refresh: once NTP sets the clock the warning goes away.
  const clockVerdict = (): ClockVerdict => startClockVerdict({ now: clock(), newestRecordedAt: newest, what: 'entry' });
  const atStart = clockVerdict();
  if (!atStart.ok) d.log.warn({ event: 'clock_suspect', problem: atStart.problem }, atStart.message);
  return supervise(d.notifier, {
    isReady: () => devicesSettled(gateDevices(d.status())),
    readyTimeoutMs: d.settleMs ?? DEVICE_SETTLE_MS,
    status: () => {
      const st = d.status();
      return gateStatusLine({
        devices: gateDevices(st),
        locked: st.locked,
        emergency: st.lane?.emergency.active ?? false,
        whitelistSeq: d.store.whitelistSeq(),
        outbox: d.store.outboxDepth(),
        cloud: st.sync ? { connected: st.sync.connected, subscribed: st.sync.subscribed } : null,
        clock: clockVerdict(),
      });
    },
  });
}
