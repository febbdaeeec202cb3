import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { defaultClientId, deviceUsername, parseDeviceUsername, type DeviceIdentity, type DeviceKind } from '@stile/config';
import type { CloudStore } from './db/store.js';
import { CloudError } from './errors.js';

export interface IssuedCredential {
  username: string;
  /** Shown once; only its SHA-256 is kept. */
  token: string;
}

export interface DeviceRow {
  site: string;
  kind: DeviceKind;
  device: string;
  username: string;
  createdAt: string;
  revokedAt: string | null;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * The cloud's registry of device credentials (gates, screens). One random token per
 * device; the same username/token pair is the device's MQTT login (embedded broker, or a
 * Mosquitto password file made from it) and its HTTP Basic credential for the gate-facing
 * routes. A stolen device is revoked here and refused from then on by both.
 */
export class DeviceRegistry {
  private readonly revokedCache = new Map<string, { revoked: boolean; until: number }>();

  constructor(
    private readonly store: CloudStore,
    /** How long isRevokedCached() trusts an answer: ingest asks once per message. */
    private readonly cacheMs = 2000,
  ) {}

  /** isRevoked(), answered from memory for cacheMs (a revocation takes effect within that). */
  async isRevokedCached(site: string, kind: DeviceKind, device: string): Promise<boolean> {
    const key = `${site}\u0000${kind}\u0000${device}`;
    const hit = this.revokedCache.get(key);
    const now = Date.now();
    if (hit && hit.until > now) return hit.revoked;
    const revoked = await this.isRevoked(site, kind, device);
    this.revokedCache.set(key, { revoked, until: now + this.cacheMs });
    return revoked;
  }

  /** Issue (or rotate: the old token stops working) a device's credential. */
  async issue(site: string, kind: DeviceKind, device: string): Promise<IssuedCredential> {
    if (!(await this.store.siteExists(site))) throw new CloudError('unknown_site', `unknown site "${site}"`);
    const username = deviceUsername({ kind, site, id: device });
    if (!parseDeviceUsername(username)) throw new CloudError('invalid_device_id', `"${device}": device ids are letters, digits, _ and - (1–64)`);
    const clash = await this.clientIdClash({ kind, site, id: device });
    if (clash) {
      throw new CloudError(
        'invalid_device_id',
        `${kind} "${device}" at ${site} would use the MQTT client id "${defaultClientId({ kind, site, id: device })}" of ${clash.kind} "${clash.id}" at ${clash.site}; choose another id`,
      );
    }
    const token = randomBytes(32).toString('base64url');
    const row = { token_sha256: sha256(token).toString('hex'), created_at: new Date().toISOString(), revoked_at: null };
    await this.store.db
      .insertInto('device_credentials')
      .values({ site, kind, device, ...row })
      .onConflict((oc) => oc.columns(['site', 'kind', 'device']).doUpdateSet(row))
      .execute();
    if (kind === 'gate') await this.store.registerGate(site, device);
    this.revokedCache.clear();
    return { username, token };
  }

  /** Another active device whose default client id is this one's (dashes in site and device ids make that possible). */
  private async clientIdClash(who: DeviceIdentity): Promise<DeviceIdentity | null> {
    const wanted = defaultClientId(who);
    const rows = await this.store.db.selectFrom('device_credentials').select(['site', 'kind', 'device']).where('revoked_at', 'is', null).execute();
    for (const r of rows) {
      const other: DeviceIdentity = { kind: r.kind as DeviceKind, site: r.site, id: r.device };
      if (defaultClientId(other) === wanted && !(other.kind === who.kind && other.site === who.site && other.id === who.id)) return other;
    }
    return null;
  }

  /** Revoke a device's credential; false when it has none. */
  async revoke(site: string, kind: DeviceKind, device: string): Promise<boolean> {
    const r = await this.store.db
      .updateTable('device_credentials')
      .set({ revoked_at: new Date().toISOString() })
      .where('site', '=', site)
      .where('kind', '=', kind)
      .where('device', '=', device)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    this.revokedCache.clear();
    return Number(r.numUpdatedRows) > 0;
  }

  /** The identity a username/password pair proves, or null (unknown, wrong token, revoked). */
  async verify(username: string | undefined, password: string | Buffer | undefined): Promise<DeviceIdentity | null> {
    if (!username || password === undefined) return null;
    const who = parseDeviceUsername(username);
    if (!who) return null;
    const row = await this.store.db
      .selectFrom('device_credentials')
      .select(['token_sha256', 'revoked_at'])
      .where('site', '=', who.site)
      .where('kind', '=', who.kind)
      .where('device', '=', who.id)
      .executeTakeFirst();
    if (!row || row.revoked_at !== null) return null;
    const got = sha256(Buffer.isBuffer(password) ? password.toString('utf8') : password);
    const want = Buffer.from(row.token_sha256, 'hex');
    return want.length === got.length && timingSafeEqual(got, want) ? who : null;
  }

  /** True when the device's credential was revoked (a gate without any credential is not). */
  async isRevoked(site: string, kind: DeviceKind, device: string): Promise<boolean> {
    const row = await this.store.db
      .selectFrom('device_credentials')
      .select('revoked_at')
      .where('site', '=', site)
      .where('kind', '=', kind)
      .where('device', '=', device)
      .executeTakeFirst();
    return row?.revoked_at != null;
  }

  async list(site?: string): Promise<DeviceRow[]> {
    let q = this.store.db.selectFrom('device_credentials').select(['site', 'kind', 'device', 'created_at', 'revoked_at']);
    if (site) q = q.where('site', '=', site);
    const rows = await q.orderBy('site').orderBy('kind').orderBy('device').execute();
    return rows.map((r) => ({
      site: r.site,
      kind: r.kind as DeviceKind,
      device: r.device,
      username: deviceUsername({ kind: r.kind as DeviceKind, site: r.site, id: r.device }),
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    }));
  }
}
