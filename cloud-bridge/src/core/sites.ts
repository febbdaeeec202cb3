import { createPublicKey } from 'node:crypto';
import { loadSigningKey, loadTrustedKeys, signControl, type PublicKeyConfig, type SigningKey, type TrustedKeys } from '@stile/config';
import type { SalesSite } from '../modules/sales/sales.js';

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
  /** Sales through the channel API (catalogue, capacity, ID hash key); absent: sync only. */
  sales?: Omit<SalesSite, 'id'> & { staffTokenSha256?: string };
}

/** Control keys by site. */
export class SiteKeys {
  private readonly keys = new Map<string, SigningKey>();
  private readonly offline = new Map<string, TrustedKeys>();

  constructor(sites: SiteConfig[]) {
    for (const s of sites) {
      this.keys.set(s.id, loadSigningKey(s.controlKey.id, s.controlKey.privateKeyPem));
      this.offline.set(s.id, loadTrustedKeys(s.offlineKeys ?? []));
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
    if (!key) throw new Error(`no control key for site "${site}"`);
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
