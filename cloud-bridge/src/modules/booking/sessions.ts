import type { Clock } from '../../core/clock.js';
import type { Db } from '../../core/db/store.js';
import { maskPhone } from '../../core/notify/sms.js';
import type { BookingRepository } from './repository.js';
import { isToken, newToken, openPhone, sealPhone, type SiteSecrets, tokenHash } from './secrets.js';

/** A visitor logged in on a site's booking page. */
export interface VisitorSession {
  site: string;
  phone: string;
  phoneHash: string;
  phoneMasked: string;
  expiresAt: string;
}

/**
 * Booking-page sessions: a random token (256 bits) the page sends as a bearer token; the store
 * keeps its SHA-256, the phone's keyed hash and masked form, and the phone sealed under the
 * token (secrets.ts). A stored session can be ended (logout, or by staff deleting the row),
 * which a signed stateless token could not.
 */
export class Sessions {
  constructor(
    private readonly repo: BookingRepository,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** Inside the login's transaction: a new session for the phone. */
  async create(trx: Db, site: string, phone: string, secrets: SiteSecrets): Promise<{ token: string; phoneMasked: string; expiresAt: string }> {
    const token = newToken();
    const now = this.clock().getTime();
    const expiresAt = new Date(now + this.ttlMs).toISOString();
    const phoneMasked = maskPhone(phone);
    await this.repo.insertSession(trx, {
      token_hash: tokenHash(token),
      site,
      phone_hash: secrets.phoneHash(phone),
      phone_enc: sealPhone(token, phone),
      phone_masked: phoneMasked,
      created_at: new Date(now).toISOString(),
      expires_at: expiresAt,
    });
    return { token, phoneMasked, expiresAt };
  }

  /** The live session of `site` this token names, or undefined (garbage, unknown, expired, another site's). */
  async verify(site: string, token: string | undefined): Promise<VisitorSession | undefined> {
    if (!token || !isToken(token)) return undefined;
    const row = await this.repo.session(tokenHash(token));
    if (!row || row.site !== site || Date.parse(row.expires_at) <= this.clock().getTime()) return undefined;
    const phone = openPhone(token, row.phone_enc);
    if (!phone) return undefined;
    return { site, phone, phoneHash: row.phone_hash, phoneMasked: row.phone_masked, expiresAt: row.expires_at };
  }

  /** Log out: the token stops working everywhere. */
  async end(token: string | undefined): Promise<boolean> {
    if (!token || !isToken(token)) return false;
    return this.repo.deleteSession(tokenHash(token));
  }
}
