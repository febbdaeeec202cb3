/**
 * kiosk.yaml `sync`: the kiosk's link to the cloud's broker (its outbox and the offline pack,
 * docs/kiosk-offline.md) and what it needs to sell offline. Absent, the kiosk sells only online
 * and keeps no outbox.
 */
import { PublicKeySchema, type ConfigIssues } from '@stile/config';
import { z } from 'zod';

export const KioskSyncConfigSchema = z
  .object({
    /** The broker: the park's or the cloud's. */
    url: z.string().regex(/^(mqtts?|wss?):\/\//, 'expected mqtt://, mqtts://, ws:// or wss:// URL'),
    /** 4 for a broker without MQTT 5 (the embedded Aedes of a single-box install, the demo). */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
    username: z.string().optional(),
    passwordFile: z.string().optional(),
    caFile: z.string().optional(),
    certFile: z.string().optional(),
    keyFile: z.string().optional(),
    keepaliveSec: z.number().int().min(5).max(600).default(30),
    reconnectMinMs: z.number().int().min(10).default(1000),
    reconnectMaxMs: z.number().int().min(10).default(60_000),
    sessionExpirySec: z.number().int().min(0).default(600),
    /** The outbox database (its own SQLite file). */
    outbox: z.string().min(1),
    /** The kiosk's own ST2 signing key (provisionKioskKey): its id as cloud.yaml and the gates name it, and the PEM file. */
    offlineKey: z.object({ id: z.string().min(1), file: z.string().min(1) }).strict(),
    /** The site's control keys: the cloud's receipts and the offline pack verify under them. */
    control: z.array(PublicKeySchema).min(1, 'at least one control key: receipts and the offline pack are signed with it'),
    /** The site's ID hash key (the gates' keys.idHash file): offline visitors are recorded as its keyed hash. */
    idHashKeyFile: z.string().min(1),
    /** How often the channel API is tried again while it is unreachable. */
    probeMs: z.number().int().min(200).max(600_000).default(5000),
    receiptTimeoutMs: z.number().int().min(500).max(600_000).optional(),
  })
  .strict()
  .refine((s) => s.reconnectMaxMs >= s.reconnectMinMs, { message: 'reconnectMaxMs must be at least reconnectMinMs', path: ['reconnectMaxMs'] });

export type KioskSyncConfigFile = z.infer<typeof KioskSyncConfigSchema>;
export type KioskSyncConfig = Omit<KioskSyncConfigFile, 'idHashKeyFile'> & { idHashKey: string };

/** Paths absolute against kiosk.yaml's folder, the ID hash key read (a missing or empty file is a config error). */
export function resolveSyncConfig(s: KioskSyncConfigFile, issues: ConfigIssues): KioskSyncConfig {
  const abs = (p: string) => issues.resolve(p, []);
  const { idHashKeyFile, ...rest } = s;
  const idHashKey = issues.readText('sync.idHashKeyFile', idHashKeyFile)?.trim() ?? '';
  if (idHashKey === '' && issues.list.every((i) => i.path !== 'sync.idHashKeyFile')) issues.add('sync.idHashKeyFile', 'the key file is empty');
  const file = (k: 'passwordFile' | 'caFile' | 'certFile' | 'keyFile') => (s[k] === undefined ? {} : { [k]: abs(s[k]) });
  return {
    ...rest,
    ...file('passwordFile'),
    ...file('caFile'),
    ...file('certFile'),
    ...file('keyFile'),
    outbox: abs(s.outbox),
    offlineKey: { id: s.offlineKey.id, file: abs(s.offlineKey.file) },
    idHashKey,
  };
}
