import { createHash, createPublicKey } from 'node:crypto';
import { loadSigningKey, loadTrustedKeys, signControl, type PublicKeyConfig, type SigningKey, type TrustedKeys } from '@stile/config';
import type { CapacityLimits } from './capacity-levels.js';
import type { Catalogue, Channel } from './catalogue.js';
import { CloudError } from './errors.js';
import type { InsightConfig } from './site-config/insight.js';
import type { MarketingConfig } from './site-config/marketing.js';
import type { PartnersConfig } from './site-config/partners.js';
import type { PosConfig } from './site-config/pos.js';
import type { VisitorsConfig } from './site-config/visitors.js';

/** What a site sells: its catalogue, its daily capacity and the key its gates hash ID numbers with. */
export interface SalesSite {
  id: string;
  catalogue: Catalogue;
  /** Daily capacity and level thresholds: online sales stop below orange, all sales at red. */
  capacity: CapacityLimits;
  /** Same secret as the gates' keys.idHash, so an ID card tapped at a gate finds the ticket. */
  idHashKey: string;
  /** Put into the SMS: the park's tour-route page. */
  tourRouteUrl?: string;
  /** Local time of day ("HH:MM") the daily report is generated; default 22:00. */
  reportAt?: string;
  /** The channel the visitor booking page sells on (online, paid through the providers); absent: no booking page. */
  bookingChannel?: string;
}

export interface SiteConfig {
  id: string;
  /** The site's Ed25519 control key: the cloud signs whitelist deltas and gate commands with it. */
  controlKey: { id: string; privateKeyPem: string };
  /** Gates registered up front (the default unknown-gate policy accepts only registered gates). */
  gates?: string[];
  /**
   * Public keys that sign this site's offline `ST2` tickets (the gates' `keys.offline`): an
   * ST2 admission is believed only when the code it carries verifies under one of them.
   */
  offlineKeys?: PublicKeyConfig[];
  /** Admissions per second one lane can pass (token bucket over the events' own time); 0 turns the check off. Default 5. */
  maxAdmissionsPerSecond?: number;
  /**
   * The site's kiosks (modules/kiosks): each sells on a kiosk channel of the catalogue and, with
   * the cloud unreachable, offline for cash up to `offlineCap` persons a day, as ST2 codes signed
   * by its own key. That key is one of the site's offline keys (the gates must list it too).
   */
  kiosks?: KioskConfig[];
  /** Sales through the channel API (catalogue, capacity, ID hash key); absent: sync only. */
  sales?: Omit<SalesSite, 'id'> & { staffTokenSha256?: string };  // #19 (docs/visitor-data.md): each module reads its own section.
  visitors?: VisitorsConfig;
  pos?: PosConfig;
  marketing?: MarketingConfig;
  partners?: PartnersConfig;
  insight?: InsightConfig;
}

export interface KioskConfig {
  id: string;
  /** The catalogue channel (kind kiosk) its sales are counted on. */
  channel: string;
  /** Persons it may sell offline per local day. */
  offlineCap: number;
  /** Its own Ed25519 public key for ST2 codes; remove it (or set notAfter) to revoke. */
  offlineKey: PublicKeyConfig;
}

/** Control keys by site. */
export class SiteKeys {
  private readonly keys = new Map<string, SigningKey>();
  private readonly offline = new Map<string, TrustedKeys>();

  constructor(sites: SiteConfig[]) {
    for (const s of sites) {
      this.keys.set(s.id, loadSigningKey(s.controlKey.id, s.controlKey.privateKeyPem));
      // A kiosk's own key signs ST2 codes of this site like any offline key.
      this.offline.set(s.id, loadTrustedKeys([...(s.offlineKeys ?? []), ...(s.kiosks ?? []).map((k) => k.offlineKey).filter((k) => !(s.offlineKeys ?? []).some((o) => o.id === k.id))]));
    }
  }

  /** The site's offline-ticket public keys (empty: no ST2 admission of this site can be verified). */
  offlineKeys(site: string): TrustedKeys {
    return this.offline.get(site) ?? new Map();
  }

  has(site: string): boolean {
    return this.keys.has(site);
  }

  sign<T extends Record<string, unknown>>(site: string, message: T): T & { sig: string } {
    const key = this.keys.get(site);
    if (!key) throw new CloudError('unknown_site', `no control key for site "${site}"`);
    return signControl(message, key);
  }

  keyId(site: string): string | undefined {
    return this.keys.get(site)?.keyId;
  }

  /** Raw base64url public key, the form gate.yaml takes. */
  publicKey(site: string): string | undefined {
    const key = this.keys.get(site);
    return key ? (createPublicKey(key.privateKey).export({ format: 'jwk' }).x as string) : undefined;
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The sites this instance serves, as configured: their keys, and for sites that sell, the
 * catalogue and capacity. Every module looks sites up here (one registry, read-only after start).
 */
export class SiteRegistry {
  readonly keys: SiteKeys;
  private readonly configs = new Map<string, SiteConfig>();
  private readonly selling = new Map<string, SalesSite & { staffTokenSha256?: string }>();
  private readonly byKeyHash = new Map<string, { site: SalesSite; channel: Channel }>();
  private readonly byKnownKey = new Map<string, { site: SalesSite; channel: Channel }>();

  constructor(sites: SiteConfig[]) {
    this.keys = new SiteKeys(sites);
    for (const s of sites) {
      this.configs.set(s.id, s);
      if (!s.sales) continue;
      const site = { id: s.id, ...s.sales };
      this.selling.set(s.id, site);
      for (const c of site.catalogue.channels) {
        const taken = this.byKeyHash.get(c.apiKeySha256);
        // One key must name one channel of one site, or a partner could sell for another park.
        if (taken) throw new CloudError('config_invalid', `sites ${taken.site.id} (channel ${taken.channel.id}) and ${s.id} (channel ${c.id}) have the same API key`);
        this.byKeyHash.set(c.apiKeySha256, { site, channel: c });
      }
    }
  }

  /** Every configured site. */
  get ids(): string[] {
    return [...this.configs.keys()];
  }

  config(id: string): SiteConfig | undefined {
    return this.configs.get(id);
  }

  /** Sites with sales (catalogue, capacity). */
  get salesIds(): string[] {
    return [...this.selling.keys()];
  }

  /** A site with sales, or undefined (unknown, or sync only). */
  site(id: string): SalesSite | undefined {
    return this.selling.get(id);
  }

  /** SHA-256 (hex) of the site's staff token; undefined: no staff API for this site. */
  staffTokenSha256(id: string): string | undefined {
    return this.selling.get(id)?.staffTokenSha256;
  }

  /** The channel an API key belongs to (keys are configured as SHA-256 only). */
  channelForKey(apiKey: string): { site: SalesSite; channel: Channel } | undefined {
    const known = this.byKnownKey.get(apiKey);
    if (known) return known;
    const found = this.byKeyHash.get(sha256(apiKey));
    // Only keys that name a channel are remembered (at most one per channel): unknown keys
    // cannot grow the map, and a known key skips the hash on every later call.
    if (found) this.byKnownKey.set(apiKey, found);
    return found;
  }
}
