/**
 * One gate's worth of hardware: QR scanner, ID-card reader, relay board, passage sensor and
 * lane display, each on its own pty pair under `dir` (names: scanner, idcard, relay, sensor,
 * display, with an optional prefix for several lanes in one directory).
 */
import { SimIdReader, type IdReaderSettings } from './id-reader.js';
import { SimLaneDisplay, type LaneDisplaySettings } from './lane-display.js';
import { SimPassageSensor } from './passage-sensor.js';
import type { PtyOptions } from './pty.js';
import { SimQrScanner, type QrScannerSettings } from './qr-scanner.js';
import { SimRelayBoard, type RelayBoardSettings } from './relay-board.js';

type Local<T> = T & { name?: string; baudRate?: number };

export interface SimGateOptions extends PtyOptions {
  dir: string;
  /** Add a GA/T 467 reader. Default true. */
  idCard?: boolean;
  /** Add a passage sensor (lane.sensor). Default true. */
  sensor?: boolean;
  /** Add a lane display (lane.display). Default true. */
  display?: boolean;
  /** Put before each device name, e.g. "lane2-" gives lane2-scanner, lane2-relay… */
  prefix?: string;
  /** The relay channel this gate's turnstile hangs on. Default 1. */
  channel?: number;
  scanner?: Local<QrScannerSettings>;
  idReader?: Local<IdReaderSettings>;
  relay?: Local<RelayBoardSettings>;
  laneDisplay?: Local<LaneDisplaySettings>;
  /** Clock for every device's timestamps. Default performance.now. */
  now?: () => number;
}

export interface SimGatePaths {
  scanner: string;
  idCard?: string;
  relay: string;
  sensor?: string;
  display?: string;
}

export interface SimGate {
  readonly paths: SimGatePaths;
  readonly scanner: SimQrScanner;
  readonly idReader: SimIdReader | undefined;
  readonly relay: SimRelayBoard;
  readonly sensor: SimPassageSensor | undefined;
  readonly display: SimLaneDisplay | undefined;
  /** Relay channel of this lane. */
  readonly channel: number;
  /** inputs, relay and lane sections for gate.yaml pointing at these devices. */
  gateYaml(): string;
  close(): Promise<void>;
}

const SUFFIX_NAMES = { '\r\n': 'crlf', '\r': 'cr', '\n': 'lf', '': 'any' } as const;
const hex = (b: Buffer) => b.toString('hex').replace(/(..)(?!$)/g, '$1 ');

export async function startSimGate(opts: SimGateOptions): Promise<SimGate> {
  const prefix = opts.prefix ?? '';
  const base = { dir: opts.dir, ...(opts.socatPath ? { socatPath: opts.socatPath } : {}), ...(opts.readyTimeoutMs ? { readyTimeoutMs: opts.readyTimeoutMs } : {}), ...(opts.now ? { now: opts.now } : {}) };
  const channel = opts.channel ?? 1;
  const opened = await Promise.allSettled([
    SimQrScanner.open({ name: `${prefix}scanner`, ...opts.scanner, ...base }),
    opts.idCard === false ? undefined : SimIdReader.open({ name: `${prefix}idcard`, ...opts.idReader, ...base }),
    SimRelayBoard.open({ name: `${prefix}relay`, channels: Math.max(channel, 1), ...opts.relay, ...base }),
    opts.sensor === false ? undefined : SimPassageSensor.open({ name: `${prefix}sensor`, ...base }),
    opts.display === false ? undefined : SimLaneDisplay.open({ name: `${prefix}display`, ...opts.laneDisplay, ...base }),
  ] as const);
  const failed = opened.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? r.value?.close() : undefined)));
    throw failed.reason;
  }
  const [scannerR, readerR, relayR, sensorR, displayR] = opened;
  const value = <T>(r: PromiseSettledResult<T>): T => (r as PromiseFulfilledResult<T>).value;
  const scanner = value(scannerR);
  const idReader = value(readerR);
  const relay = value(relayR);
  const sensor = value(sensorR);
  const display = value(displayR);
  const paths: SimGatePaths = {
    scanner: scanner.devicePath,
    ...(idReader ? { idCard: idReader.devicePath } : {}),
    relay: relay.devicePath,
    ...(sensor ? { sensor: sensor.devicePath } : {}),
    ...(display ? { display: display.devicePath } : {}),
  };

  const gateYaml = (): string => {
    const s = scanner.settings;
    const lines = ['inputs:', '  - type: qr-serial', `    name: ${prefix}scanner`, `    path: ${scanner.devicePath}`, `    baudRate: ${scanner.baudRate}`, `    suffix: ${SUFFIX_NAMES[s.suffix]}`];
    if (s.mode === 'command') lines.push(`    triggerCommand: "${hex(s.triggerCommand)}"`, `    releaseCommand: "${hex(s.releaseCommand)}"`);
    if (idReader) lines.push('  - type: idcard-ga467', `    name: ${prefix}idcard`, `    path: ${idReader.devicePath}`, `    baudRate: ${idReader.baudRate}`);
    lines.push('relay:', '  type: lcus', `  path: ${relay.devicePath}`, `  baudRate: ${relay.baudRate}`, `  channel: ${channel}`);
    if (sensor || display) lines.push('lane:');
    if (sensor) lines.push('  sensor:', '    type: serial', `    path: ${sensor.devicePath}`, `    baudRate: ${sensor.baudRate}`);
    if (display) lines.push('  display:', '    type: serial', `    path: ${display.devicePath}`, `    baudRate: ${display.baudRate}`, `    encoding: ${display.encoding}`);
    return `${lines.join('\n')}\n`;
  };

  return {
    paths,
    scanner,
    idReader,
    relay,
    sensor,
    display,
    channel,
    gateYaml,
    close: async () => {
      await Promise.all([scanner.close(), idReader?.close(), relay.close(), sensor?.close(), display?.close()]);
    },
  };
}
