import type { Alerts } from '../../core/alerts.js';
import type { Clock } from '../../core/clock.js';
import type { StaffAlert } from '../../core/notify/webhook.js';
import type { Anomaly } from './admission-check.js';

/** One staff alert per gate and reason in this window. */
const ALERT_EVERY_MS = 60_000;

export const ANOMALY_TEXT: Record<Anomaly, { zh: string; en: string }> = {
  unknown_ticket: { zh: '上报了云端从未售出的票', en: 'reported tickets the cloud never issued' },
  st2_unverified: { zh: '上报的离线票签名无法验证', en: 'reported offline tickets whose signature does not verify' },
  rate_exceeded: { zh: '上报的入园速度超过通道能力', en: 'reported admissions faster than a lane can pass' },
  future_time: { zh: '上报了未来时间的入园', en: 'reported admissions dated in the future' },
};

export function anomalyAlert(site: string, gate: string, reason: Anomaly, n: number, at: Date): StaffAlert {
  const t = ANOMALY_TEXT[reason];
  return {
    site,
    kind: 'gate_anomaly',
    message: { zh: `闸机 ${gate} ${t.zh}（${n} 条），未计入，请检查该闸机。`, en: `Gate ${gate} ${t.en} (${n}); not counted. Please check the gate.` },
    at: at.toISOString(),
    details: { gate, reason, count: n },
  };
}

/**
 * Staff alerts for admissions stored as anomalies, at most one per gate and reason a
 * minute: a forging gate must not flood the phones.
 */
export class AnomalyAlerts {
  private readonly alerted = new Map<string, number>();

  constructor(
    private readonly alerts: Pick<Alerts, 'raise'>,
    private readonly clock: Clock,
  ) {}

  raise(site: string, gate: string, counts: ReadonlyMap<Anomaly, number>): void {
    for (const [reason, n] of counts) {
      const key = `${site}/${gate}/${reason}`;
      const now = this.clock();
      if (now.getTime() - (this.alerted.get(key) ?? 0) < ALERT_EVERY_MS) continue;
      this.alerted.set(key, now.getTime());
      void this.alerts.raise(anomalyAlert(site, gate, reason, n, now));
    }
  }
}
