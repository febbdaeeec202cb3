/**
 * The stdin commands of `stile-sim`, one line each, run in order against a SimGate.
 * Output goes through `print`: human text, or one JSON object a line with --json.
 */
import { isValidIdNumber } from '@stile/gate-agent/protocol';
import { SimError, SimErrorCode } from '../errors.js';
import type { ReaderCommandName, ReaderFault } from '../id-reader.js';
import type { RelayPulse } from '../relay-board.js';
import type { SimGate } from '../sim-gate.js';

export type Print = (event: string, text: string, data?: Record<string, unknown>) => void;

export const CONSOLE_HELP = `commands:
  scan <text>              scanner reads a code (CR LF after it)
  noise <n>                n random bytes (no CR/LF) on the scanner line
  noise hex <bytes>        these bytes, e.g. noise hex 0d 0a ff
  card <idNumber> [name]   put an ID card on the reader
  remove                   lift the card
  fail <fault> [command]   reader misbehaves once: bad_checksum silence garbage truncated read_failed sam_auth_failed
  pass [n]                 n people walk through the passage sensor
  emergency on|off         passage sensor emergency line
  unplug <device>          scanner | idcard | relay | sensor | display | all: the gate sees a disconnect
  replug <device>          same path, new pty
  pulses                   relay pulses so far
  status                   devices, plug state, counters
  help | quit`;

const FAULTS: readonly ReaderFault[] = ['bad_checksum', 'silence', 'garbage', 'truncated', 'read_failed', 'sam_auth_failed'];
const COMMANDS: readonly ReaderCommandName[] = ['resetSam', 'samStatus', 'readSamId', 'findCard', 'selectCard', 'readBase', 'readBaseWithFingerprint', 'readNewAddress'];
const round = (x: number) => Math.round(x * 10) / 10;

export function describePulse(p: RelayPulse): string {
  return `pulse ch${p.channel} ${round(p.ms)} ms${p.interrupted ? ' (interrupted by unplug)' : ''}`;
}

function bad(message: string): SimError {
  return new SimError(SimErrorCode.BadArgument, message);
}

type Device = 'scanner' | 'idcard' | 'relay' | 'sensor' | 'display';

function devicesOf(gate: SimGate, which: string): { name: Device; dev: { unplug(): Promise<void>; replug(): Promise<void> } }[] {
  const all = [
    { name: 'scanner' as const, dev: gate.scanner },
    ...(gate.idReader ? [{ name: 'idcard' as const, dev: gate.idReader }] : []),
    { name: 'relay' as const, dev: gate.relay },
    ...(gate.sensor ? [{ name: 'sensor' as const, dev: gate.sensor }] : []),
    ...(gate.display ? [{ name: 'display' as const, dev: gate.display }] : []),
  ];
  const picked = which === 'all' ? all : all.filter((d) => d.name === which);
  if (picked.length === 0) throw bad(`no device "${which}" (have: ${all.map((d) => d.name).join(', ')}, all)`);
  return picked;
}

/** "12" (random bytes) or "hex 0d 0a ff" / "hex 0d0aff". */
function noiseArg(arg: string): Buffer | number {
  if (/^\d{1,4}$/.test(arg)) return Number(arg);
  const m = /^hex\s+(.*)$/i.exec(arg);
  const hex = (m?.[1] ?? '').replace(/\s+/g, '');
  if (!m || !/^([0-9a-fA-F]{2})+$/.test(hex)) throw bad('noise <count> or noise hex <bytes>, e.g. noise hex 0d 0a ff');
  return Buffer.from(hex, 'hex');
}

/** Run one command line. Resolves false for quit. Errors are printed, not thrown. */
export function createConsole(gate: SimGate, print: Print): (line: string) => Promise<boolean> {
  const run = async (line: string): Promise<boolean> => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return true;
    const [cmd = '', ...args] = trimmed.split(/\s+/);
    const rest = trimmed.slice(cmd.length).trim();
    switch (cmd) {
      case 'scan': {
        if (rest === '') throw bad('scan needs the code text');
        const r = await gate.scanner.scan(rest);
        if (!r.sent) print('scan', 'not sent: the scanner is in command mode and not triggered', { sent: false });
        else print('scan', `scanned ${r.bytes} bytes`, { sent: true, bytes: r.bytes });
        return true;
      }
      case 'noise': {
        await gate.scanner.noise(noiseArg(rest));
        print('noise', 'noise sent');
        return true;
      }
      case 'card': {
        if (!gate.idReader) throw bad('no ID-card reader (started with --no-idcard)');
        const [idNumber = '', ...name] = args;
        if (idNumber === '') throw bad('card needs an ID number');
        gate.idReader.placeCard({ idNumber: idNumber.toUpperCase(), ...(name.length ? { name: name.join(' ') } : {}) });
        const note = isValidIdNumber(idNumber) ? '' : ' (check digit wrong: the gate should refuse it)';
        print('card', `card on the reader${note}`, { valid: isValidIdNumber(idNumber) });
        return true;
      }
      case 'remove':
        gate.idReader?.removeCard();
        print('remove', 'card lifted');
        return true;
      case 'fail': {
        if (!gate.idReader) throw bad('no ID-card reader');
        const [fault, command] = args as [ReaderFault | undefined, ReaderCommandName | undefined];
        if (!fault || !FAULTS.includes(fault)) throw bad(`fault must be one of ${FAULTS.join(' ')}`);
        if (command !== undefined && !COMMANDS.includes(command)) throw bad(`command must be one of ${COMMANDS.join(' ')}`);
        gate.idReader.failNext(fault, command ? { command } : {});
        print('fail', `next ${command ?? 'request'}: ${fault}`);
        return true;
      }
      case 'pass': {
        if (!gate.sensor) throw bad('no passage sensor (started with --no-sensor)');
        const n = args[0] === undefined ? 1 : Number(args[0]);
        if (!Number.isInteger(n) || n < 1 || n > 100) throw bad('pass takes a count 1..100');
        await gate.sensor.pass(n);
        print('pass', `${n} × PASS`, { persons: n });
        return true;
      }
      case 'emergency': {
        if (!gate.sensor) throw bad('no passage sensor');
        if (args[0] !== 'on' && args[0] !== 'off') throw bad('emergency on|off');
        await gate.sensor.setEmergency(args[0] === 'on');
        print('emergency', `EMERGENCY ${args[0].toUpperCase()}`, { on: args[0] === 'on' });
        return true;
      }
      case 'unplug':
      case 'replug': {
        for (const d of devicesOf(gate, args[0] ?? '')) {
          await (cmd === 'unplug' ? d.dev.unplug() : d.dev.replug());
          print(cmd, `${d.name} ${cmd}ged`, { device: d.name });
        }
        return true;
      }
      case 'pulses': {
        const ps = gate.relay.pulses;
        print('pulses', ps.length === 0 ? 'no pulses yet' : ps.map(describePulse).join('\n'), { pulses: ps });
        return true;
      }
      case 'status': {
        const r = gate.idReader;
        const lines = [
          `scanner  ${gate.scanner.plugged ? 'plugged  ' : 'UNPLUGGED'} ${gate.scanner.devicePath}  scans ${gate.scanner.scans}`,
          ...(r ? [`idcard   ${r.plugged ? 'plugged  ' : 'UNPLUGGED'} ${r.devicePath}  requests ${r.requests}  card ${r.cardOnField ? 'on' : 'off'}`] : []),
          `relay    ${gate.relay.plugged ? 'plugged  ' : 'UNPLUGGED'} ${gate.relay.devicePath}  pulses ${gate.relay.pulses.length}  discarded ${gate.relay.discarded}`,
          ...(gate.sensor ? [`sensor   ${gate.sensor.plugged ? 'plugged  ' : 'UNPLUGGED'} ${gate.sensor.devicePath}  passes ${gate.sensor.passes}`] : []),
          ...(gate.display ? [`display  ${gate.display.plugged ? 'plugged  ' : 'UNPLUGGED'} ${gate.display.devicePath}  last: ${gate.display.last?.text ?? '-'}`] : []),
        ];
        print('status', lines.join('\n'), { requests: r?.counts ?? null, scans: gate.scanner.scans, pulses: gate.relay.pulses.length });
        return true;
      }
      case 'help':
        print('help', CONSOLE_HELP);
        return true;
      case 'quit':
      case 'exit':
        return false;
      default:
        throw bad(`unknown command "${cmd}" (try help)`);
    }
  };
  return async (line) => {
    try {
      return await run(line);
    } catch (err) {
      print('error', `error: ${(err as Error).message}`, { code: (err as SimError).code ?? null });
      return true;
    }
  };
}
