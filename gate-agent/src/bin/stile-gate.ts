import { parseArgs } from 'node:util';
import { isStileError, loadGateConfig } from '@stile/config';
import { startGateDaemon } from '../daemon/gate-daemon.js';
import { createLogger } from '../daemon/logger.js';

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
  let daemon;
  let logger;
  try {
    const cfg = loadGateConfig(configPath);
    logger = createLogger(cfg.log.level);
    daemon = startGateDaemon(cfg, logger, { configPath });
  } catch (err) {
    console.error(isStileError(err) ? `stile-gate: ${err.code}: ${err.message}` : `stile-gate: ${(err as Error).stack}`);
    return 1;
  }
  const log = logger;
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, 'shutting down');
      daemon.stop().then(resolve, (err: Error) => {
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
