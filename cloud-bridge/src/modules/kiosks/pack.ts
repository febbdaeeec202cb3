import { kioskTopics, localClock, type KioskPack } from '@stile/config';
import type { Logger } from '../../core/log.js';
import type { Publisher } from '../../core/mqtt/publisher.js';
import type { KioskConfig, SalesSite, SiteRegistry } from '../../core/sites.js';

/**
 * A kiosk's offline pack for the park's local day at `now`: the types its channel sells at
 * today's channel price (base price, or the catalogue's channelPrice for that channel; the
 * early-bird/night/off-season discounts are not applied offline), the slots, its cap and
 * its key id. It expires at the next local midnight: a kiosk offline into the next day stops
 * selling offline until it hears the cloud again.
 */
export function buildPack(site: SalesSite, kiosk: KioskConfig, now: Date): Omit<KioskPack, 'sig'> {
  const cat = site.catalogue;
  const local = localClock(cat.timeZone, now.getTime());
  const types = cat.ticketTypes
    .filter((t) => !t.channels || t.channels.includes(kiosk.channel))
    .map((t) => {
      const special = cat.pricing.find((p) => p.kind === 'channelPrice' && p.channel === kiosk.channel && p.type === t.id);
      return { id: t.id, name: { 'zh-CN': t.name['zh-CN'], en: t.name.en }, priceFen: special && special.kind === 'channelPrice' ? special.priceFen : t.priceFen, persons: t.persons };
    });
  return {
    v: 1,
    site: site.id,
    kiosk: kiosk.id,
    date: local.date,
    timeZone: cat.timeZone,
    issuedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + (86_400 - local.secondOfDay) * 1000).toISOString(),
    keyId: kiosk.offlineKey.id,
    offlineCap: kiosk.offlineCap,
    types,
    slots: cat.slots.filter((s) => s.quota > 0).map((s) => ({ id: s.id, start: s.start, end: s.end })),
  };
}

/**
 * Publishes every kiosk's signed pack, retained, at start and whenever the local date has
 * changed since the last one (checked every `everyMs`), and again every `refreshMs`.
 */
export class PackPublisher {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly last = new Map<string, { date: string; at: number }>();

  constructor(
    private readonly d: { sites: SiteRegistry; publisher: Publisher; clock: () => Date; log: Logger; everyMs?: number; refreshMs?: number },
  ) {}

  async start(): Promise<void> {
    await this.publishDue();
    this.timer = setInterval(() => void this.publishDue(), this.d.everyMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Publish the packs that are new for the day or older than refreshMs. Never throws. */
  async publishDue(force = false): Promise<number> {
    let n = 0;
    const now = this.d.clock();
    for (const id of this.d.sites.ids) {
      const site = this.d.sites.site(id);
      for (const kiosk of this.d.sites.config(id)?.kiosks ?? []) {
        if (!site) continue;
        const pack = buildPack(site, kiosk, now);
        const key = `${id}/${kiosk.id}`;
        const prev = this.last.get(key);
        if (!force && prev && prev.date === pack.date && now.getTime() - prev.at < (this.d.refreshMs ?? 3_600_000)) continue;
        try {
          await this.d.publisher.publish(kioskTopics.pack(id, kiosk.id), JSON.stringify(this.d.sites.keys.sign(id, pack)), { qos: 1, retain: true });
          this.last.set(key, { date: pack.date, at: now.getTime() });
          n++;
        } catch (err) {
          this.d.log.warn({ site: id, kiosk: kiosk.id, err: (err as Error).message }, 'kiosk pack not published; trying again');
        }
      }
    }
    return n;
  }
}
