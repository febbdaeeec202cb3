/**
 * stile-sim: virtual gate hardware on pseudo-terminals.
 *
 *   stile-sim [--dir /tmp/stile-sim] [device options]   devices + stdin commands
 *   stile-sim visitors --rate 30 --count 100 [options]   visitor flow and a latency report
 */
import { parseArgs } from 'node:util';
import { isSimError } from '../errors.js';
import { runInteractive } from '../cli/interactive.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, gateOptions } from '../cli/options.js';
import { runVisitors, VISITORS_USAGE } from '../cli/visitors-cmd.js';

const USAGE = `usage: stile-sim [options]             make the devices, print their paths, read commands from stdin
       stile-sim visitors [options]    play a visitor flow (stile-sim visitors --help)
  --no-stdin             ignore stdin; run until SIGINT/SIGTERM
${DEVICE_USAGE}

${VISITORS_USAGE}`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'visitors') return runVisitors(argv.slice(1));
  const { values: v, positionals } = parseArgs({ args: argv, options: { ...DEVICE_OPTIONS, 'no-stdin': { type: 'boolean', default: false } }, allowPositionals: true });
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) {
    process.stderr.write(`stile-sim: unknown command "${positionals[0]}"\n${USAGE}\n`);
    return 2;
  }
  await runInteractive(gateOptions(v), { json: v.json, stdin: !v['no-stdin'] });
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    // -1: the interactive session runs on and exits by itself.
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    const usage = isSimError(err, 'BAD_ARGUMENT') || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`stile-sim: ${(err as Error).message}\n${usage ? 'try stile-sim --help\n' : ''}`);
    process.exit(usage ? 2 : 1);
  },
);
