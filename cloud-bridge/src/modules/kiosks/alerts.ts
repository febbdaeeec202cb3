import type { Alerts } from '../../core/alerts.js';
import type { Clock } from '../../core/clock.js';
import type { StaffAlert } from '../../core/notify/webhook.js';
import type { KioskAnomaly } from './judge.js';

const EVERY_MS = 60_000;

const TEXT: Record<KioskAnomaly, { zh: string; en: string }> = {
  unverified_code: { zh: '上报的离线票不是本机密钥签发的，未计入', en: 'reported offline tickets not signed by its own key; not counted' },
  over_cap: { zh: '离线售票超过每日上限（已计入，票可入园）', en: 'sold more offline than its daily cap (counted; the tickets admit)' },
  duplicate_sale: { zh: '重复上报同一笔销售，未重复计入', en: 'reported the same sale twice; counted once' },
  not_counted: { zh: '的离线销售无法计入（渠道配置有误）', en: 'made offline sales that cannot be counted (check kiosks[].channel)' },
};

export function kioskAlert(site: string, kiosk: string, reason: KioskAnomaly, n: number, at: Date): StaffAlert {
  const t = TEXT[reason];
  return {
    site,
    kind: 'kiosk_anomaly',
    message: { zh: `自助机 ${kiosk} ${t.zh}（${n} 笔），请检查该机；必要时吊销其离线密钥。`, en: `Kiosk ${kiosk} ${t.en} (${n}). Please check it; revoke its offline key if needed.` },
    at: at.toISOString(),
    details: { kiosk, reason, count: n },
  };
}

/** At most one alert per kiosk and reason a minute. */
export class KioskAlerts {
  private readonly alerted = new Map<string, number>();

  constructor(
    private readonly alerts: Pick<Alerts, 'raise'>,
    private readonly clock: Clock,
  ) {}

  raise(site: string, kiosk: string, counts: ReadonlyMap<KioskAnomaly, number>): void {
    for (const [reason, n] of counts) {
      const key = `${site}/${kiosk}/${reason}`;
      const now = this.clock();
      if (now.getTime() - (this.alerted.get(key) ?? 0) < EVERY_MS) continue;
      this.alerted.set(key, now.getTime());
      void this.alerts.raise(kioskAlert(site, kiosk, reason, n, now));
    }
  }
}
