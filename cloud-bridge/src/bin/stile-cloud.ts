import { parseArgs } from 'node:util';
import { isStileError } from '@stile/config';
import { isCloudError } from '../core/errors.js';
import { startCloudBridge } from '../bridge.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker.js';
import { loadCloudConfig } from '../config.js';
import { assertCredentials } from '../credential-checks.js';
import { createLogger } from '../core/log.js';
import { BACKUP_USAGE, backupCommand } from './backup-command.js';
import { CHANNEL_USAGE, channelCommand } from './channel-command.js';
import { DEVICE_USAGE, deviceCommand } from './device-command.js';
import { POS_USAGE, posCommand } from './pos-command.js';
import { PROVISION_USAGE, provisionCommand } from './provision-command.js';
import type { DeviceIdentity } from '@stile/config';
import { createNotifier, guardRoot, NotifyError, type Notifier } from '@stile/service';
import { superviseCloud } from '../supervision.js';

const USAGE = `usage: stile-cloud --config cloud.yaml\n  env: DATABASE_URL=postgres://… (overrides database.url), LOG_LEVEL=info\n${CHANNEL_USAGE}\n${BACKUP_USAGE}\n${PROVISION_USAGE}\n${DEVICE_USAGE}\n${POS_USAGE}`;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'backup' || argv[0] === 'restore') return backupCommand(argv, process.env, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  if (argv[0] === 'channel') return channelCommand(argv.slice(1), process.env, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  if (['gates', 'kiosks', 'announcers', 'gate', 'kiosk', 'announcer'].includes(argv[0] ?? '')) return provisionCommand(argv, process.env, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  if (argv[0] === 'pos') return posCommand(argv.slice(1), process.env, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  if (argv[0] === 'screen' || argv[0] === 'devices') return deviceCommand(argv, process.env, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  let values;
  try {
    ({ values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`stile-cloud: --config is required\n${USAGE}\n`);
    return 2;
  }
  const root = guardRoot('stile-cloud');
  if (!root.ok) return 1;
  const log = createLogger();
  if (root.warning) log.warn({ event: 'running_as_root' }, root.warning);
  let loaded;
  try {
    loaded = loadCloudConfig(values.config);
  } catch (err) {
    process.stderr.write(`${isStileError(err) || isCloudError(err) ? err.message : String(err)}\n`);
    return 2;
  }
  try {
    // Weak keys, public demo keys, an unsigned webhook: refused before any port is opened.
    assertCredentials(loaded.options);
  } catch (err) {
    process.stderr.write(`${isStileError(err) || isCloudError(err) ? err.message : String(err)}\n`);
    return 2;
  }
  let notifier: Notifier;
  try {
    // Under systemd (Type=notify): READY=1 once the bridge started and every subscription is in place.
    notifier = createNotifier({ log });
  } catch (err) {
    if (!(err instanceof NotifyError)) throw err;
    process.stderr.write(`stile-cloud: ${err.message}\n`);
    return 1;
  }
  let broker: EmbeddedBroker | undefined;
  // The broker comes up before the bridge (which connects to it) and checks devices against
  // the bridge's registry once that is open; until then only the bridge itself gets in.
  // Devices that connect before the registry is open wait for it (bounded by their connect
  // timeout) instead of being refused: a refusal right after a restart strands them.
  let registryReady!: (verify: (u: string | undefined, p: Buffer | undefined) => Promise<DeviceIdentity | null>) => void;
  const registry = new Promise<(u: string | undefined, p: Buffer | undefined) => Promise<DeviceIdentity | null>>((resolve) => (registryReady = resolve));
  const verifyDevice = async (u: string | undefined, p: Buffer | undefined): Promise<DeviceIdentity | null> => (await registry)(u, p);
  let refused: (reason: string) => void = () => {};
  if (loaded.broker) {
    broker = await startEmbeddedBroker({ port: loaded.broker.port, host: loaded.broker.host, verifyDevice: (u, p) => verifyDevice(u, p), onRefuse: (r) => refused(r), log });
    log.info({ port: broker.port }, 'embedded MQTT broker listening (every client authenticated against the device registry)');
  }
  // A start that hangs (a broker that takes the connection and never answers) must end in a
  // non-zero exit a supervisor restarts, not in a process that serves nothing.
  const startLimitS = Number(process.env.STILE_START_TIMEOUT_S ?? '') || 120;
  const startDeadline = setTimeout(() => fatal(`start did not finish within ${startLimitS} s (database, broker or subscriptions); see the log above`), startLimitS * 1000);
  const bridge = await startCloudBridge({ ...loaded.options, ...(broker ? { mqttUrl: broker.cloudUrl } : {}), logger: log });
  registryReady((u, p) => bridge.registry.verify(u, p));
  refused = (r) => bridge.metrics.refuse(`broker_${r}`);
  // startCloudBridge gives up waiting for subscriptions after 10 s (then /healthz says not ready); READY waits for them, within the start deadline.
  const supervision = superviseCloud({ health: () => bridge.health(), httpPort: bridge.httpPort, sites: loaded.options.sites.length, notifier });
  await supervision.ready;
  clearTimeout(startDeadline);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  stopping = true;
  log.info('stopping');
  supervision.stop();
  notifier.stopping('stopping');
  await bridge.close();
  await broker?.close();
  return 0;
}

let stopping = false;

/** Any fatal error: one line on stderr and a non-zero exit, so `Restart=on-failure` brings it back. */
function fatal(reason: string): never {
  process.stderr.write(`stile-cloud: ${reason.split('\n')[0]}\n`);
  process.exit(1);
}

process.on('uncaughtException', (err) => fatal(`fatal: ${err.message}`));
process.on('unhandledRejection', (err) => fatal(`fatal: ${err instanceof Error ? err.message : String(err)}`));
// Nothing left to wait for before a stop was asked: the event loop ran dry (the old "exit 0, no message").
process.on('beforeExit', () => {
  if (!stopping) fatal('stopped unexpectedly: nothing left to run (the broker or database went away during start?)');
});

main().then(
  (code) => {
    stopping = true;
    process.exit(code);
  },
  (err: unknown) => fatal(err instanceof Error ? err.message : String(err)),
);
