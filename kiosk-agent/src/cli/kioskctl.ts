import { parseArgs } from 'node:util';
import { isStileError } from '@stile/config';
import { CliError, findConfigPath, makeOut, reportFailure } from '@stile/gate-agent';
import * as cmd from './commands.js';
import { restore } from './restore.js';
import { doctorCmd } from './doctor.js';
import { provision } from './provision.js';

const HELP = `kioskctl — Stile kiosk and ticket-window tool

usage: kioskctl [--config kiosk.yaml] [--json] <command>

  status                      daemon, devices, cloud, the open sale, outbox, today's counts
  cash [--date YYYY-MM-DD]    the day's cash journal: notes in by value, coins out, owed, expected in the box
  reprint <sale id>           print a paid, recorded sale's tickets again when they did not print
  close-day [--counted ¥X] [--date D]   reconcile the cash journal with the cash counted (prompted if not given);
                              prints the report; refused while a sale is open; once per day
  refill --coins N            N coins loaded into the hopper (recorded)
  hash-pin [--pin P]          a staff PIN's hash for kiosk.yaml window.staff (reads the PIN from stdin if not given)
  restore [--yes]             rebuild a damaged or missing kiosk.db / outbox (stile-kiosk stopped): every readable
                              row carried over, the old files kept aside (docs/backup.md)
  doctor [--user stile]       every check a technician would do (config, devices, printer, cash, clock, disk,
                              journal, broker, keys, outbox), one line each with the fix; exit 0 only when all
                              pass (docs/doctor.md)
  provision [<bundle> | -] [--contact-phone N] [--force] [--no-check]   write kiosk.yaml and its keys from the
                              bundle "stile-cloud kiosks add" printed (- or nothing: from stdin), check the
                              broker and the channel API; --config defaults to /etc/stile/kiosk.yaml here

  --staff ID                  who does it (recorded with reprint, refill and close-day)

Config: --config, else $STILE_KIOSK_CONFIG, else ./kiosk.yaml, else /etc/stile/kiosk.yaml.
Every command takes --json. Set KIOSKCTL_DEBUG=1 for a stack trace on failure.
Exit codes: 0 success, 1 failure or refusal (one-line reason on stderr), 2 usage, 3 close-day counted ≠ expected.`;

type Handler = (ctx: cmd.Ctx) => void | Promise<void>;
const COMMANDS: Record<string, Handler> = {
  status: cmd.status,
  cash: cmd.cash,
  reprint: cmd.reprint,
  'close-day': cmd.closeDayCmd,
  refill: cmd.refill,
  'hash-pin': cmd.hashPinCmd,
  restore,
  doctor: doctorCmd,
  provision,
};

const fail = (json: boolean, code: string, message: string): void => reportFailure('kioskctl', json, code, message);

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        date: { type: 'string' }, counted: { type: 'string' }, coins: { type: 'string' }, staff: { type: 'string' }, pin: { type: 'string' },
        user: { type: 'string' }, yes: { type: 'boolean', short: 'y' },
        force: { type: 'boolean' }, 'no-check': { type: 'boolean' }, 'contact-phone': { type: 'string' },
      },
    });
  } catch (err) {
    const reason = (err as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '');
    fail(argv.includes('--json'), 'USAGE', `${reason} (see kioskctl --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  const json = values.json ?? false;
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const name = positionals[0];
  if (!name) {
    fail(json, 'USAGE', 'no command given (see kioskctl --help)');
    return 2;
  }
  const handler = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!handler) {
    fail(json, 'USAGE', `unknown command "${positionals.join(' ')}" (see kioskctl --help)`);
    return 2;
  }
  try {
    await handler({ configPath: findConfigPath(values.config, { env: 'STILE_KIOSK_CONFIG', file: 'kiosk.yaml' }), out: makeOut(json), flags: values, args: positionals.slice(1) });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (process.env.KIOSKCTL_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    const exit = err instanceof CliError ? err.exitCode : 1;
    const code = isStileError(err) ? err.code : err instanceof CliError ? err.code : 'ERROR';
    fail(json, code, err instanceof Error ? err.message : String(err));
    return exit;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
