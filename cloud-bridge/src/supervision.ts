/**
 * The cloud under systemd (docs/supervision.md): READY=1 only once startCloudBridge resolved
 * AND what /healthz calls ready holds — the store answers and every broker connection is
 * connected with its subscriptions granted. Until then gates' entries would not be taken.
 * No bounded wait here: bin/stile-cloud.ts's start deadline ends a start that never gets there.
 */
import { supervise, type Notifier, type Supervision } from '@stile/service';
import { healthProblems, type BridgeHealth } from './bridge.js';

export interface CloudStatusFacts {
  health: BridgeHealth;
  httpPort: number;
  sites: number;
}

/** "serving 2 sites on :8080; store ok; broker ok (9 connections, subscriptions in place)", or what is wrong. */
export function cloudStatusLine(f: CloudStatusFacts): string {
  const { ready, problems } = healthProblems(f.health);
  const head = `${ready ? 'serving' : 'NOT READY'} ${f.sites} site${f.sites === 1 ? '' : 's'} on :${f.httpPort}`;
  if (!ready) return `${head}; ${problems.join('; ')}`;
  return `${head}; store ok; broker ok (${f.health.mqtt.length} connection${f.health.mqtt.length === 1 ? '' : 's'}, subscriptions in place)`;
}

export function superviseCloud(d: { health: () => Promise<BridgeHealth>; httpPort: number; sites: number; notifier: Notifier }): Supervision {
  return supervise(d.notifier, {
    isReady: async () => (await d.health()).ready,
    pollMs: 100,
    status: async () => cloudStatusLine({ health: await d.health(), httpPort: d.httpPort, sites: d.sites }),
  });
}
