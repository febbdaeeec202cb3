import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { LaneSchema, type GateConfig } from '@stile/config';
import { PulsingRelay } from '../../src/devices/relay.js';
import { startGateDaemon, type GateDaemon } from '../../src/daemon/gate-daemon.js';
import { fakeOpener, type FakeSerial } from './fake-serial.js';
import type { TestSite } from './site.js';

export interface LogLine {
  event?: string;
  [k: string]: unknown;
}

/** A pino logger whose JSON lines land in `lines`. */
export function captureLog(): { log: Logger; lines: LogLine[]; events: (name: string) => LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)) as LogLine); cb(); } }));
  return { log, lines, events: (name) => lines.filter((l) => l.event === name) };
}

/** A relay that switches nothing and remembers every drive(on/off), in order. */
export class RecordingRelay extends PulsingRelay {
  readonly drives: boolean[] = [];

  constructor(log: Logger, timing = { pulseMs: 20, gapMs: 10 }) {
    super(timing, log, 'log');
  }

  protected async drive(on: boolean): Promise<void> {
    this.drives.push(on);
  }
}

export const SENSOR = '/dev/fake-sensor';
export const DISPLAY = '/dev/fake-display';
export const FAST_BACKOFF = { initialMs: 20, maxMs: 40 };

export interface LaneGate {
  daemon: GateDaemon;
  relay: RecordingRelay;
  fake: ReturnType<typeof fakeOpener>;
  log: ReturnType<typeof captureLog>;
  /** The newest fake port opened at `path`. */
  port(path: string): FakeSerial | undefined;
  scan(i: number): ReturnType<GateDaemon['scan']>;
}

/** An in-process daemon on `site` with a lane section, its devices on FakeSerial ports. */
export function startLaneGate(site: TestSite, lane: unknown, opts: { now: number; sensorMissing?: boolean }): LaneGate {
  const log = captureLog();
  const relay = new RecordingRelay(log.log);
  const fake = fakeOpener();
  fake.unavailable = opts.sensorMissing ?? false;
  const cfg: GateConfig = { ...site.cfg, lane: LaneSchema.parse(lane) };
  const daemon = startGateDaemon(cfg, log.log, { clock: () => opts.now, relay, laneDevices: { openSerial: fake.open, backoff: FAST_BACKOFF } });
  return {
    daemon,
    relay,
    fake,
    log,
    port: (path) => fake.ports.filter((p) => p.path === path).at(-1),
    scan: (i) => daemon.scan({ kind: 'qr', text: `ST1:${site.sample.ids[i]!}` }, 'test'),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
