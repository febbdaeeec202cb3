import { loadTrustedKeys, type GateConfig } from '@stile/config';
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
export function openGate(cfg: GateConfig, logger: Logger, opts: { clock?: () => number; inspectOnly?: boolean } = {}) {
  const store = new GateStore(openDatabase(cfg.store.path, { mustExist: opts.inspectOnly ?? false }));
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
