/**
 * The daemon's offline side, built from kiosk.yaml `sync` (docs/kiosk-offline.md): the outbox
 * and its link to the broker (KioskSync), the cloud with the offline fallback in front
 * (FallbackCloud), the recorder that puts every closed sale into the outbox, and the machine
 * told when the cloud comes and goes (`network_status`: codes and QR refused while it is away).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { loadTrustedKeys, localDate } from '@stile/config';
import type { KioskConfig } from '../config.js';
import type { KioskJournal } from '../store/journal.js';
import { KioskSync } from '../sync/kiosk-sync.js';
import { loadKioskKey } from '../sync/keys.js';
import type { KioskSyncConfig } from '../sync/sync-config.js';
import type { KioskCloud } from './cloud.js';
import { FallbackCloud } from './offline-cloud.js';
import type { KioskRuntime } from './runtime.js';
import { recordClosedSales } from './sale-records.js';

export interface OfflineSideHandle {
  sync: KioskSync;
  cloud: FallbackCloud;
  /** Before runtime.start(): sales closed while recovering are recorded too. */
  attach(rt: KioskRuntime): void;
  /** After runtime.start(): the machine hears whether the cloud answers. */
  started(rt: KioskRuntime): void;
  stop(): Promise<void>;
}

export function openOfflineSide(cfg: KioskConfig, s: KioskSyncConfig, inner: KioskCloud, journal: KioskJournal, log: Logger, now: () => number): OfflineSideHandle {
  mkdirSync(dirname(s.outbox), { recursive: true });
  const sync = new KioskSync({
    site: cfg.site.id,
    kiosk: cfg.kiosk.id,
    url: s.url,
    mqtt: {
      protocolVersion: s.protocolVersion,
      keepaliveSec: s.keepaliveSec,
      reconnectMinMs: s.reconnectMinMs,
      reconnectMaxMs: s.reconnectMaxMs,
      sessionExpirySec: s.sessionExpirySec,
      username: s.username,
      passwordFile: s.passwordFile,
      caFile: s.caFile,
      certFile: s.certFile,
      keyFile: s.keyFile,
    },
    dbPath: s.outbox,
    control: loadTrustedKeys(s.control),
    offlineKey: loadKioskKey(s.offlineKey.file, s.offlineKey.id),
    idHashKey: s.idHashKey,
    ...(s.receiptTimeoutMs !== undefined ? { receiptTimeoutMs: s.receiptTimeoutMs } : {}),
    log: log.child({ module: 'sync' }),
  });
  const cloud = new FallbackCloud(inner, sync, { probeMs: s.probeMs, saleEntries: (id) => journal.saleEntries(id), today: () => localDate(now(), cfg.site.timezone), log: log.child({ module: 'cloud' }), now });
  const undo: (() => void)[] = [];
  sync.start();
  return {
    sync,
    cloud,
    attach(rt) {
      undo.push(recordClosedSales(rt, journal, sync, log.child({ module: 'records' })));
    },
    started(rt) {
      undo.push(cloud.onReachability((online) => rt.dispatch({ kind: 'network_status', online })));
      if (!cloud.reachable) rt.dispatch({ kind: 'network_status', online: false });
    },
    async stop() {
      for (const u of undo) u();
      cloud.stop();
      await sync.stop();
    },
  };
}
