/** Shared option parsing for stile-sim's subcommands. */
import { SimError, SimErrorCode } from '../errors.js';
import type { ScanSuffix } from '../qr-scanner.js';
import type { SimGateOptions } from '../sim-gate.js';
import { VISITOR_KINDS, type VisitorKind } from '../visitors.js';

export const DEVICE_OPTIONS = {
  dir: { type: 'string', default: '/tmp/stile-sim' },
  prefix: { type: 'string' },
  'no-idcard': { type: 'boolean', default: false },
  'no-sensor': { type: 'boolean', default: false },
  'no-display': { type: 'boolean', default: false },
  'display-encoding': { type: 'string' },
  'scanner-baud': { type: 'string' },
  suffix: { type: 'string', default: 'crlf' },
  aim: { type: 'string' },
  'command-mode': { type: 'boolean', default: false },
  'read-ms': { type: 'string' },
  channel: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const DEVICE_USAGE = `device options:
  --dir <dir>            where the device links go (default /tmp/stile-sim)
  --prefix <p>           device name prefix (p + scanner, idcard, relay, sensor, display)
  --no-idcard            no GA/T 467 reader
  --no-sensor            no passage sensor
  --no-display           no lane display
  --display-encoding e   utf8 (default) or gb18030
  --scanner-baud <n>     scanner speed (default 9600)
  --suffix crlf|cr|lf    what the scanner sends after a code (default crlf)
  --aim <id>             AIM prefix before each code, e.g. ]Q1
  --command-mode         scanner reads only after the trigger command (16 54 0D)
  --read-ms <n>          reader's delay before answering a read (default 50; real modules 400-900)
  --channel <n>          relay channel the turnstile is on (default 1; the board gets that many)
  --json                 one JSON object per output line`;

const SUFFIXES: Record<string, ScanSuffix> = { crlf: '\r\n', cr: '\r', lf: '\n', none: '' };

export function usageError(message: string): SimError {
  return new SimError(SimErrorCode.BadArgument, message);
}

export function intOption(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`--${name} must be an integer ${min}..${max}, got "${raw}"`);
  return n;
}

/** "60s", "2m", "1500ms" or plain ms. */
export function durationOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw usageError(`--${name} wants a duration like 60s, 5m or 1500ms, got "${raw}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

type DeviceValues = { [K in keyof typeof DEVICE_OPTIONS]?: (typeof DEVICE_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

export function gateOptions(v: DeviceValues, prefix?: string): SimGateOptions {
  const suffix = SUFFIXES[v.suffix ?? 'crlf'];
  if (suffix === undefined) throw usageError(`--suffix must be crlf, cr, lf or none, got "${v.suffix}"`);
  const baud = intOption('scanner-baud', v['scanner-baud'], 1200, 921600);
  const readMs = intOption('read-ms', v['read-ms'], 0, 10_000);
  const channel = intOption('channel', v.channel, 1, 8) ?? 1;
  const encoding = v['display-encoding'];
  if (encoding !== undefined && encoding !== 'utf8' && encoding !== 'gb18030') throw usageError('--display-encoding must be utf8 or gb18030');
  return {
    dir: v.dir ?? '/tmp/stile-sim',
    idCard: !v['no-idcard'],
    sensor: !v['no-sensor'],
    display: !v['no-display'],
    ...(encoding ? { laneDisplay: { encoding } } : {}),
    channel,
    ...(prefix !== undefined || v.prefix !== undefined ? { prefix: prefix ?? v.prefix } : {}),
    scanner: { suffix, ...(v.aim ? { aim: v.aim } : {}), ...(baud ? { baudRate: baud } : {}), ...(v['command-mode'] ? { mode: 'command' as const } : {}) },
    ...(readMs !== undefined ? { idReader: { timing: { readMs } } } : {}),
  };
}

/** "validQr=80,idCard=10,forged=10" → weights. */
export function parseMix(raw: string): Partial<Record<VisitorKind, number>> {
  const mix: Partial<Record<VisitorKind, number>> = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k = '', w = ''] = part.split('=');
    if (!(VISITOR_KINDS as readonly string[]).includes(k)) throw usageError(`--mix: unknown kind "${k}" (${VISITOR_KINDS.join(', ')})`);
    const n = Number(w);
    if (!Number.isFinite(n) || n < 0) throw usageError(`--mix: weight of ${k} must be a number ≥ 0`);
    mix[k as VisitorKind] = n;
  }
  return mix;
}
