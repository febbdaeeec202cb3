import { parseArgs } from 'node:util';
import { isStileError } from '@stile/config';
import { startCloudBridge } from '../bridge.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker.js';
import { loadCloudConfig } from '../config.js';
import { createLogger } from '../log.js';
import { CHANNEL_USAGE, channelCommand } from './channel-command.js';

const USAGE = `usage: stile-cloud --config cloud.yaml\n  env: DATABASE_URL=postgres://… (overrides database.url), LOG_LEVEL=info\n${CHANNEL_USAGE}`;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'channel') return channelCommand(argv.slice(1), process.env, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
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
  const log = createLogger();
  let loaded;
  try {
    loaded = loadCloudConfig(values.config);
  } catch (err) {
    process.stderr.write(`${isStileError(err) ? err.message : String(err)}\n`);
    return 2;
  }
  let broker: EmbeddedBroker | undefined;
  if (loaded.broker) {
    broker = await startEmbeddedBroker(loaded.broker.port);
    log.info({ port: broker.port }, 'embedded MQTT broker listening');
  }
  const bridge = await startCloudBridge({ ...loaded.options, logger: log });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info('stopping');
  await bridge.close();
  await broker?.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`stile-cloud: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
