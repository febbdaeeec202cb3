import { loadTrustedKeys, StileError, StileErrorCode, type GateConfig } from '@stile/config';
import { StoreLock } from '@stile/service';
import { GateStore, openDatabase } from '../store/index.js';
import type { GateContext } from '../validation/index.js';
import { Gatekeeper } from '../gate/gatekeeper.js';
import type { Logger } from 'pino';

export function gateContextOf(cfg: GateConfig): GateContext {
  return { siteId: cfg.site.id, gateId: cfg.gate.id, zone: cfg.gate.zone, timeZone: cfg.site.timezone };
}

/**
 * Open the store and build a Gatekeeper from a validated config. The daemon and
 * gatectl both go through here, so `gatectl check` decides exactly as the gate would.
 */
export function openGate(cfg: GateConfig, logger: Logger, opts: { clock?: () => number; inspectOnly?: boolean; lock?: boolean } = {}) {
  // The daemon holds <db>.lock while it runs: "gatectl restore" knows from it that the gate is stopped.
  const lock = opts.lock ? holdStoreLock(cfg.store.path) : undefined;
  try {
    return { ...openGateStore(cfg, logger, opts), lock };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/**
 * The daemon's shared hold on its store (StoreLock). Refused while "gatectl restore" holds
 * it; ':memory:' has nothing to lock.
 */
export function holdStoreLock(path: string): StoreLock | undefined {
  if (path === ':memory:' || path === '') return undefined;
  const lock = StoreLock.share(path);
  if (!lock) {
    throw new StileError(
      StileErrorCode.StoreUnavailable,
      `gate database ${path} is being restored ("gatectl restore" holds ${StoreLock.pathFor(path)}); start stile-gate when it has finished`,
    );
  }
  return lock;
}

function openGateStore(cfg: GateConfig, logger: Logger, opts: { clock?: () => number; inspectOnly?: boolean }) {
  const onMigrated = (r: { from: number; to: number; backup?: string }) =>
    logger.info({ event: 'store_migrated', from: r.from, to: r.to, backup: r.backup }, `gate database migrated from schema ${r.from} to ${r.to}; the copy from before is ${r.backup}`);
  const store = new GateStore(openDatabase(cfg.store.path, { mustExist: opts.inspectOnly ?? false, onMigrated }));
  // gatectl inspects with the config's rules but leaves the daemon's stored copy alone.
  if (!opts.inspectOnly) {
    store.saveTicketTypes(cfg.ticketTypes);
    // Replaces gate.yaml's own revocations only: cloud ones came as deltas and are not sent again.
    store.saveKeysAndRevocations(cfg.keys.offline, cfg.revokedTickets);
  }
  const ticketTypes = new Map(cfg.ticketTypes.map((t) => [t.id, t]));
  const trustedKeys = loadTrustedKeys(cfg.keys.offline);
  const gatekeeper = new Gatekeeper({
    store,
    gate: gateContextOf(cfg),
    ticketTypes,
    trustedKeys,
    clock: opts.clock ?? Date.now,
    logger,
  });
  // Mutable on purpose: reload-config swaps the rules in place (see gate-daemon).
  return { store, gatekeeper, ticketTypes };
}
