import { parseArgs } from 'node:util';
import { isStileError } from '@stile/config';
import { loadKioskConfig } from '../config.js';
import { startKiosk, type KioskDaemon } from '../daemon/kiosk-daemon.js';
import { createNotifier, guardRoot, NotifyError, type Notifier, type Supervision } from '@stile/service';
import { superviseKiosk } from '../daemon/supervision.js';

const USAGE = 'usage: stile-kiosk --config <kiosk.yaml>';

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
    console.error(`stile-kiosk: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!configPath) {
    console.error(`stile-kiosk: --config is required\n${USAGE}`);
    return 2;
  }
  const root = guardRoot('stile-kiosk');
  if (!root.ok) return 1;
  let daemon: KioskDaemon;
  let notifier: Notifier;
  let supervision: Supervision;
  try {
    const cfg = loadKioskConfig(configPath);
    // Under systemd (Type=notify): READY=1 once the journal is open, the open sale resumed and each device tried.
    notifier = createNotifier();
    daemon = await startKiosk(cfg);
    if (root.warning) daemon.log.warn({ event: 'running_as_root' }, root.warning);
    supervision = superviseKiosk({ daemon, notifier, log: daemon.log });
  } catch (err) {
    console.error(isStileError(err) ? `stile-kiosk: ${err.code}: ${err.message}` : err instanceof NotifyError ? `stile-kiosk: ${err.message}` : `stile-kiosk: ${(err as Error).stack}`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      daemon.log.info({ signal }, 'shutting down');
      supervision.stop();
      notifier.stopping(`stopping (${signal})`);
      daemon.stop().then(resolve, (err: Error) => {
        daemon.log.error({ err: err.message }, 'error during shutdown');
        resolve();
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}

process.on('uncaughtException', (err) => {
  // Unlike a gate, a kiosk holding money must not carry on after an unknown fault: exit, and
  // the supervisor's restart resumes the open sale from the journal.
  console.error(JSON.stringify({ level: 60, msg: 'uncaught exception', err: err.stack }));
  process.exit(1);
});

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`stile-kiosk: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
