import { parseArgs } from 'node:util';
import { isStileError } from '@stile/config';
import * as cmd from './commands.js';
import * as hw from './hardware.js';
import { doctor } from './doctor.js';
import { resend } from './resend.js';
import { restore } from './restore.js';
import { provision } from './provision.js';
import { findConfigPath } from './config-path.js';
import { CliError, makeOut, reportFailure } from './output.js';

const HELP = `gatectl — Stile gate technician tool

usage: gatectl [--config gate.yaml] [--json] <command>

  status                      daemon, inputs, whitelist, entries and outbox at a glance
  config validate             check gate.yaml; lists every error with its field path
  config show                 the effective config (secrets redacted)
  config pull-types [--url U] [--insecure]  replace ticketTypes with the site's signed catalogue rules
                              from the cloud (https://; --insecure allows http:// on a closed test network)
  tickets import <file>       load a whitelist snapshot (NDJSON) atomically, with progress
  tickets lookup <id|code>    one ticket and its entries
  check <code>                dry-run decision for a scanned code (never uses the ticket)
  check --idcard <number>     dry-run decision for an ID card
  entries tail [-n N] [--follow]
  keys                        trusted offline-ticket keys and revocations
  keys generate <keyId> [--out DIR]
  keys issue --signing-key F --key-id K --ticket ID --type T --date YYYY-MM-DD [--slot HH:MM-HH:MM] [--persons N]
  devices                     serial ports and HID devices present, and the configured ones found or missing
  test-relay [--persons N]    pulse the configured relay (stop stile-gate first: it holds the port)
  scan [--input NAME] [--timeout S]   wait for one scan or card, print it and the dry-run decision
                              (USB HID POS: also the raw reports and the layout used)
  doctor [--relay] [--user stile]   every check a technician would do (config, devices, clock, disk, database,
                              broker, snapshot, whitelist, keys, outbox), one line each with the fix; exit 0 only
                              when all pass; --relay also pulses the relay (stile-gate stopped) (docs/doctor.md)
  restore [--from-cloud] [--yes]   rebuild a damaged gate.db from the cloud (stile-gate stopped): the old file
                              is kept aside, un-synced entries are carried over (docs/backup.md)
  resend                      after the cloud was restored from a backup: queue again the entries it no
                              longer has (stile-gate stopped; docs/backup.md)
  provision [<bundle> | -] [--force] [--no-check]   write gate.yaml, mqtt.pw and idhash.key from the bundle
                              "stile-cloud gates add" printed (- or nothing: read it from stdin), then check
                              the broker login and the cloud; --config defaults to /etc/stile/gate.yaml here

Config: --config, else $STILE_CONFIG, else ./gate.yaml, else /etc/stile/gate.yaml.
Every command takes --json. Set GATECTL_DEBUG=1 for a stack trace on failure.
Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 usage; check --fail-on-reject exits 3 on reject.`;

type Handler = (ctx: cmd.Ctx) => void | Promise<void>;
const COMMANDS: Record<string, Handler> = {
  status: cmd.status,
  'config validate': cmd.configValidate,
  'config show': cmd.configShow,
  'config pull-types': cmd.configPullTypes,
  'tickets import': cmd.ticketsImport,
  'tickets lookup': cmd.ticketsLookup,
  check: cmd.check,
  'entries tail': cmd.entriesTail,
  keys: cmd.keysList,
  'keys list': cmd.keysList,
  'keys generate': cmd.keysGenerate,
  'keys issue': cmd.keysIssue,
  devices: hw.devices,
  'test-relay': hw.testRelay,
  scan: hw.scan,
  doctor,
  restore,
  resend,
  provision,
};

const fail = (json: boolean, code: string, message: string): void => reportFailure('gatectl', json, code, message);

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        idcard: { type: 'string' }, n: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' },
        out: { type: 'string' }, 'fail-on-reject': { type: 'boolean' },
        'signing-key': { type: 'string' }, 'key-id': { type: 'string' }, ticket: { type: 'string' }, type: { type: 'string' },
        date: { type: 'string' }, slot: { type: 'string' }, persons: { type: 'string' },
        input: { type: 'string' }, timeout: { type: 'string' }, url: { type: 'string' }, insecure: { type: 'boolean' },
        relay: { type: 'boolean' }, user: { type: 'string' },
        yes: { type: 'boolean', short: 'y' }, 'from-cloud': { type: 'boolean' },
        force: { type: 'boolean' }, 'no-check': { type: 'boolean' },
      },
    });
  } catch (err) {
    // node:util's messages run on with advice about "--"; the first sentence is the reason.
    const reason = (err as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '');
    fail(argv.includes('--json'), 'USAGE', `${reason} (see gatectl --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  const json = values.json ?? false;
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length === 0) {
    fail(json, 'USAGE', 'no command given (see gatectl --help)');
    return 2;
  }
  const two = positionals.slice(0, 2).join(' ');
  const [name, rest] = COMMANDS[two] ? [two, positionals.slice(2)] : [positionals[0]!, positionals.slice(1)];
  const handler = COMMANDS[name];
  if (!handler) {
    fail(json, 'USAGE', `unknown command "${positionals.join(' ')}" (see gatectl --help)`);
    return 2;
  }
  try {
    await handler({ configPath: findConfigPath(values.config), out: makeOut(json), flags: values, args: rest });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (process.env.GATECTL_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    const exit = err instanceof CliError ? err.exitCode : 1;
    const code = isStileError(err) ? err.code : err instanceof CliError ? err.code : 'ERROR';
    fail(json, code, err instanceof Error ? err.message : String(err));
    return exit;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
