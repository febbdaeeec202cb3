import { parseArgs } from 'node:util';
import { isStileError, loadGateConfig } from '@stile/config';
import { startGateDaemon } from '../daemon/gate-daemon.js';
import { createLogger } from '../daemon/logger.js';
import { createNotifier, effectiveLogLevel, guardRoot, NotifyError, type Notifier, type Supervision } from '@stile/service';
import { superviseGate } from '../daemon/supervision.js';
import { startGateMetrics, type GateMetrics } from '../daemon/gate-metrics.js';

const USAGE = 'usage: stile-gate --config <gate.yaml>';

async function main(): Promise<number> {
  let configPath: string | undefined;
  try {
    const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    configPath = values.config;
  } catch (err) {
    console.error(`stile-gate: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!configPath) {
    console.error(`stile-gate: --config is required\n${USAGE}`);
    return 2;
  }
  const root = guardRoot('stile-gate');
  if (!root.ok) return 1;
  let daemon;
  let logger;
  let metrics: GateMetrics | undefined;
  let notifier: Notifier;
  let supervision: Supervision;
  try {
    const cfg = loadGateConfig(configPath);
    logger = createLogger(effectiveLogLevel(cfg.log.level));
    if (root.warning) logger.warn({ event: 'running_as_root' }, root.warning);
    // Under systemd (Type=notify): READY=1 once the store is open and each device tried (daemon/supervision.ts).
    notifier = createNotifier({ log: logger });
    // gate.yaml `metrics`: before the daemon, so its first scan is counted (not fatal when it cannot start).
    metrics = await startGateMetrics(cfg, logger);
    daemon = startGateDaemon(cfg, logger, { configPath, ...(metrics ? { observer: metrics.observer } : {}) });
    metrics?.watch(daemon);
    supervision = superviseGate({ status: daemon.status, store: daemon.store, notifier, log: logger });
  } catch (err) {
    console.error(isStileError(err) ? `stile-gate: ${err.code}: ${err.message}` : err instanceof NotifyError ? `stile-gate: ${err.message}` : `stile-gate: ${(err as Error).stack}`);
    return 1;
  }
  const log = logger;
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, 'shutting down');
      supervision.stop();
      notifier.stopping(`stopping (${signal})`);
      daemon.stop().finally(() => metrics?.close()).then(resolve, (err: Error) => {
        log.error({ err: err.message }, 'error during shutdown');
        resolve();
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}

process.on('uncaughtException', (err) => {
  // Keep serving scans: one bad event must not take the lane down. It is logged loudly.
  console.error(JSON.stringify({ level: 50, msg: 'uncaught exception', err: err.stack }));
});

let finished = false;
// A daemon whose event loop runs dry has lost its inputs and timers: say so and exit non-zero
// (a supervisor restarts it) instead of ending with code 0 and no message.
process.on('beforeExit', () => {
  if (finished) return;
  console.error('stile-gate: stopped unexpectedly: nothing left to run (every input and timer gone)');
  process.exit(1);
});

main().then(
  (code) => {
    finished = true;
    process.exit(code);
  },
  (err: unknown) => {
    finished = true;
    console.error(`stile-gate: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
