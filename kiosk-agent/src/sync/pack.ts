import { KioskPackSchema, localDate, verifySiteDocument, type KioskPack, type TrustedKeys } from '@stile/config';
import type { KioskOutbox } from './outbox.js';

export type PackCheck = { ok: true; pack: KioskPack } | { ok: false; reason: string; detail: string };

/** A pack as received: signed by a trusted control key, for this site and kiosk. Pure. */
export function checkPack(raw: unknown, who: { site: string; kiosk: string }, control: TrustedKeys, nowMs: number): PackCheck {
  const today = new Date(nowMs).toISOString().slice(0, 10);
  const v = verifySiteDocument(raw, KioskPackSchema, who.site, control, today);
  if (!v.ok) return { ok: false, reason: v.reason, detail: v.detail };
  if (v.doc.kiosk !== who.kiosk) return { ok: false, reason: 'wrong_kiosk', detail: `pack is for kiosk "${v.doc.kiosk}"` };
  return { ok: true, pack: v.doc };
}

/** Why a pack does not let the kiosk sell offline at `at`, or null when it does. */
export function packUnusable(pack: KioskPack | undefined, at: number): string | null {
  if (!pack) return 'no_pack';
  if (Date.parse(pack.expiresAt) <= at) return 'pack_expired';
  if (localDate(at, pack.timeZone) !== pack.date) return 'pack_not_today';
  return null;
}

/**
 * The last good pack, on disk in the outbox database: verified again when read, so a file
 * edited by hand does not raise the cap. A newer pack replaces it only if it verifies and is
 * not older (issuedAt) than the one kept.
 */
export class PackStore {
  private current: KioskPack | undefined;

  constructor(
    private readonly outbox: KioskOutbox,
    private readonly who: { site: string; kiosk: string },
    private readonly control: TrustedKeys,
  ) {
    const kept = outbox.meta('pack');
    if (kept) {
      try {
        const c = checkPack(JSON.parse(kept), who, control, Date.now());
        if (c.ok) this.current = c.pack;
      } catch {
        this.current = undefined;
      }
    }
  }

  get pack(): KioskPack | undefined {
    return this.current;
  }

  /** Offer a pack from the broker; returns the verdict (kept: ok). */
  offer(raw: unknown, nowMs = Date.now()): PackCheck {
    const c = checkPack(raw, this.who, this.control, nowMs);
    if (!c.ok) return c;
    if (this.current && Date.parse(c.pack.issuedAt) < Date.parse(this.current.issuedAt)) return { ok: false, reason: 'older', detail: `issued ${c.pack.issuedAt}, kept ${this.current.issuedAt}` };
    this.outbox.setMeta('pack', JSON.stringify(raw));
    this.current = c.pack;
    return c;
  }
}
