/**
 * The kiosk under systemd (docs/supervision.md): READY=1 once the journal is open, the sale
 * open at the last stop is resumed (startKiosk), and every configured device has been tried;
 * a STATUS= line; the watchdog; the clock check at start.
 *
 * As at a gate, a device missing at start does not hold READY back: a kiosk without its
 * bill validator still sells by payment code, and the STATUS line names what is missing.
 */
import type { Logger } from 'pino';
import { CLOCK_BACK_TOLERANCE_MS, deviceSummary, devicesSettled, startClockVerdict, supervise, type ClockVerdict, type DeviceView, type Notifier, type Supervision } from '@stile/service';
import type { KioskDaemon } from './kiosk-daemon.js';

export const DEVICE_SETTLE_MS = 10_000;

export function kioskDevices(d: Pick<KioskDaemon, 'cash' | 'printer' | 'inputs'>): DeviceView[] {
  const p = d.printer.health;
  return [
    { name: 'printer', state: p.state, ...(p.faults.length ? { error: p.faults.join(', ') } : {}) },
    ...(d.cash?.health() ?? []),
    ...d.inputs.map((i) => i.health),
  ];
}

export interface KioskStatusFacts {
  phase: string;
  devices: DeviceView[];
  online: boolean;
  /** null without a `sync` section. */
  outbox: number | null;
  clock: ClockVerdict;
}

/** "idle; 3 devices ok; cloud reachable; outbox 0". */
export function kioskStatusLine(f: KioskStatusFacts): string {
  const parts = [f.phase === 'idle' ? 'idle' : `selling (${f.phase})`];
  if (!f.clock.ok) parts.push(f.clock.status);
  parts.push(deviceSummary(f.devices));
  parts.push(f.online ? 'cloud reachable' : 'cloud unreachable');
  if (f.outbox !== null) parts.push(`outbox ${f.outbox}`);
  return parts.join('; ');
}

/**
 * The newest journal time ahead of `now` by more than the tolerance, if any: only such a
 * record can say the clock jumped back, so only those rows are read.
 */
export function newestAheadOf(journal: KioskDaemon['journal'], now: number, toleranceMs: number): number | undefined {
  const ahead = journal.entriesBetween(now + toleranceMs, Number.MAX_SAFE_INTEGER);
  return ahead.length ? Math.max(...ahead.map((e) => e.at)) : undefined;
}

export function superviseKiosk(d: { daemon: KioskDaemon; notifier: Notifier; log: Logger; clock?: () => number; settleMs?: number }): Supervision {
  const clock = d.clock ?? Date.now;
  const tol = CLOCK_BACK_TOLERANCE_MS;
  const newest = newestAheadOf(d.daemon.journal, clock(), tol);
  const clockVerdict = (): ClockVerdict => startClockVerdict({ now: clock(), newestRecordedAt: newest, what: 'sale', toleranceMs: tol });
  const atStart = clockVerdict();
  if (!atStart.ok) d.log.warn({ event: 'clock_suspect', problem: atStart.problem }, atStart.message);
  return supervise(d.notifier, {
    isReady: () => devicesSettled(kioskDevices(d.daemon)),
    readyTimeoutMs: d.settleMs ?? DEVICE_SETTLE_MS,
    status: () => {
      const s = d.daemon.runtime.state();
      return kioskStatusLine({
        phase: s.phase,
        devices: kioskDevices(d.daemon),
        online: s.dev.online,
        outbox: d.daemon.sync ? d.daemon.sync.status.outboxDepth : null,
        clock: clockVerdict(),
      });
    },
  });
}
