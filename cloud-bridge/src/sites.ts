import { createPublicKey } from 'node:crypto';
import { loadSigningKey, signControl, type SigningKey } from '@stile/config';
import type { SalesSite } from './sales/sales.js';

export interface SiteConfig {
  id: string;
  /** The site's Ed25519 control key: the cloud signs whitelist deltas and gate commands with it. */
  controlKey: { id: string; privateKeyPem: string };
  /** Gates registered up front (the default unknown-gate policy accepts only registered gates). */
  gates?: string[];
  /** Sales through the channel API (catalogue, capacity, ID hash key); absent: sync only. */
  sales?: Omit<SalesSite, 'id'> & { staffTokenSha256?: string };
}

/** Control keys by site. */
export class SiteKeys {
  private readonly keys = new Map<string, SigningKey>();

  constructor(sites: SiteConfig[]) {
    for (const s of sites) this.keys.set(s.id, loadSigningKey(s.controlKey.id, s.controlKey.privateKeyPem));
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
