import type { Logger } from './log.js';
import type { Level } from './capacity-levels.js';
import type { StaffAlert } from './notify/webhook.js';
import type { TodayLoad } from './ports.js';

/**
 * What happens at a site that other modules react to. A module announces facts here instead
 * of calling the module that cares (no module imports another; see docs/architecture.md).
 */
export interface SiteEventMap {
  /** Sold, admitted, refunded or paused: the site's load or what staff see may have moved (capacity recounts, dashboards refresh). */
  changed: { site: string };
  /** The shared capacity level of a site for a local date (capacity → sales refuse at red/orange, dashboards). */
  level: { site: string; date: string; level: Level };
  /** A channel was paused or resumed by staff (sales drops what it keeps of the pause state). */
  channel: { site: string; channel: string; paused: boolean };
  /** Capacity recounted a site (after `changed` or an alert, coalesced): dashboards show the new numbers. */
  capacity: { site: string; level: Level; load: TodayLoad; at: Date };
  /** A staff alert was raised and stored (core/alerts.ts; capacity recounts, dashboards show it). */
  alert: StaffAlert;
  /**
   * Sales committed the refund of an order paid through a payment provider (channel mode
   * `provider`): the payments module sends the money back under `outRefundNo` and reports the
   * refund's state through the OrderPayments port (core/ports.ts).
   */
  refund: { site: string; orderId: string; amountFen: number; reason: string; outRefundNo: string };
}

export type SiteEventName = keyof SiteEventMap;
type Listener<K extends SiteEventName> = (event: SiteEventMap[K]) => void;

/**
 * Typed, synchronous site events. A listener that throws is logged and does not stop the
 * others or the emitter: the sale or the ingest that emitted has already committed.
 */
export class SiteEvents {
  private readonly listeners = new Map<SiteEventName, Set<(event: never) => void>>();

  constructor(private readonly log?: Logger) {}

  on<K extends SiteEventName>(name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends SiteEventName>(name: K, event: SiteEventMap[K]): void {
    const set = this.listeners.get(name) as Set<Listener<K>> | undefined;
    if (!set) return;
    for (const l of set) {
      try {
        l(event);
      } catch (err) {
        this.log?.warn({ err, event: name }, 'site event listener failed');
      }
    }
  }
}
