/**
 * The gate's devices as the doctor sees them: each configured input, the relay and the
 * lane's sensor and display, with the node's owner and mode, the running daemon's own view
 * (it holds the ports), or, when it is stopped, the port opened briefly — a GA/T 467 reader
 * is asked for a card, which it answers with "no card" when it works.
 */
import type { GateConfig, InputConfig } from '@stile/config';
import { listHidraw } from '../devices/discover.js';
import { openSerialPort, type SerialConnection, type SerialOpener } from '../devices/serial-port.js';
import { encodeRequest, Ga467Command, Ga467Framer, parseResponse } from '../protocol/ga467.js';
import type { UserInfo } from './doctor-access.js';
import type { DeviceAnswer, DeviceFacts } from './doctor-checks.js';
import { statNode } from './doctor-probes.js';
import type { StoredDevice, StoredStatus } from './status-lines.js';

/** What to look at for one device, before any I/O. */
export interface DeviceSpec {
  name: string;
  kind: string;
  where: string;
  /** The node to stat; null: nothing on disk (log relay, stdin). */
  node: string | null;
  want: { read: boolean; write: boolean };
  /** How to ask it when the daemon is stopped. */
  ask: { how: 'open'; path: string; baudRate: number } | { how: 'ga467'; path: string; baudRate: number; timeoutMs: number } | { how: 'none'; why: string };
  /** Its health in the daemon's heartbeat. */
  fromDaemon: (s: StoredStatus) => StoredDevice | null | undefined;
}

const hex4 = (v: number | string) => (typeof v === 'number' ? v.toString(16).padStart(4, '0') : v.replace(/^0x/, '').toLowerCase());

/** An input (gate-agent driver) as a device to check: the gate's inputs and the kiosk's scanner and ID reader. */
export function inputDeviceSpec(i: InputConfig): DeviceSpec {
  const fromDaemon = (s: StoredStatus) => s.inputs?.find((d) => d.name === i.name);
  const rw = { read: true, write: true };
  switch (i.type) {
    case 'lines':
      return i.path === '-'
        ? { name: i.name, kind: 'lines', where: 'stdin', node: null, want: { read: true, write: false }, ask: { how: 'none', why: 'stdin' }, fromDaemon }
        : { name: i.name, kind: 'lines', where: i.path, node: i.path, want: { read: true, write: false }, ask: { how: 'none', why: 'a FIFO or file is read by the daemon only' }, fromDaemon };
    case 'qr-serial':
      return { name: i.name, kind: 'qr-serial', where: i.path, node: i.path, want: rw, ask: { how: 'open', path: i.path, baudRate: i.baudRate }, fromDaemon };
    case 'idcard-ga467':
      return { name: i.name, kind: 'idcard-ga467', where: i.path, node: i.path, want: rw, ask: { how: 'ga467', path: i.path, baudRate: i.baudRate, timeoutMs: i.timeoutMs }, fromDaemon };
    case 'qr-hid': {
      const usb = `${hex4(i.vendorId)}:${hex4(i.productId)}`;
      const node = listHidraw().find((d) => d.usb === usb)?.path ?? null;
      return { name: i.name, kind: 'qr-hid', where: node ? `${node} (USB ${usb})` : `USB ${usb}`, node: node ?? `USB ${usb}`, want: rw, ask: { how: 'none', why: 'not asked: `gatectl scan` reads one code from it' }, fromDaemon };
    }
  }
}

function gpioSpec(name: string, kind: string, line: string, fromDaemon: DeviceSpec['fromDaemon']): DeviceSpec {
  // The sysfs GPIO interface: exporting a line needs write access to its export file (group gpio on Raspberry Pi OS).
  return { name, kind, where: `${line} (/sys/class/gpio)`, node: '/sys/class/gpio/export', want: { read: false, write: true }, ask: { how: 'none', why: 'GPIO lines are switched by the daemon only' }, fromDaemon };
}

/** Every device gate.yaml names, in the order `gatectl status` lists them. */
export function gateDeviceSpecs(cfg: GateConfig): DeviceSpec[] {
  const specs = cfg.inputs.map(inputDeviceSpec);
  const r = cfg.relay;
  const relay = (s: StoredStatus) => s.relay;
  if (r.type === 'log') specs.push({ name: 'relay', kind: 'log relay', where: 'the log', node: null, want: { read: false, write: false }, ask: { how: 'none', why: '' }, fromDaemon: relay });
  if (r.type === 'gpio') specs.push(gpioSpec('relay', 'gpio relay', `GPIO ${r.pin}`, relay));
  if (r.type === 'lcus') specs.push({ name: 'relay', kind: 'lcus relay', where: r.path, node: r.path, want: { read: true, write: true }, ask: { how: 'open', path: r.path, baudRate: r.baudRate }, fromDaemon: relay });
  const s = cfg.lane?.sensor;
  const sensor = (st: StoredStatus) => st.lane?.sensor;
  if (s?.type === 'serial') specs.push({ name: 'sensor', kind: 'lane sensor', where: s.path, node: s.path, want: { read: true, write: true }, ask: { how: 'open', path: s.path, baudRate: s.baudRate }, fromDaemon: sensor });
  if (s?.type === 'gpio') specs.push(gpioSpec('sensor', 'lane sensor (gpio)', [s.passagePin, s.emergencyPin].filter((p) => p !== undefined).map((p) => `GPIO ${p}`).join(', '), sensor));
  const d = cfg.lane?.display;
  if (d?.type === 'serial') specs.push({ name: 'display', kind: 'lane display', where: d.path, node: d.path, want: { read: true, write: true }, ask: { how: 'open', path: d.path, baudRate: d.baudRate }, fromDaemon: (st) => st.lane?.display });
  return specs;
}

/**
 * Open the port and close it again; a GA/T 467 reader is also sent "find card", which a
 * working reader answers at once (usually "no card").
 */
export async function askDevice(ask: DeviceSpec['ask'], open: SerialOpener = openSerialPort): Promise<DeviceAnswer | null> {
  if (ask.how === 'none') return null;
  let conn: SerialConnection;
  try {
    conn = await open(ask.path, ask.baudRate);
  } catch (err) {
    const message = (err as Error).message;
    const reason = /no such device/i.test(message) ? 'missing' : /in use|lock/i.test(message) ? 'busy' : 'open_failed';
    return { ok: false, reason, detail: message };
  }
  try {
    if (ask.how === 'open') return { ok: true, detail: `port opened at ${ask.baudRate} baud (a scanner or board says nothing until used)` };
    return await findCard(conn, ask.timeoutMs, ask.baudRate);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function findCard(conn: SerialConnection, timeoutMs: number, baudRate: number): Promise<DeviceAnswer> {
  const framer = new Ga467Framer();
  const answer = new Promise<DeviceAnswer>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, reason: 'silent', detail: `opened at ${baudRate} baud, but no answer to "find card" within ${timeoutMs} ms` }), timeoutMs);
    conn.on('data', (chunk) => {
      for (const frame of framer.push(chunk)) {
        if (frame.type !== 'frame') continue;
        clearTimeout(timer);
        const r = parseResponse(frame.payload);
        resolve({ ok: true, detail: `answered "find card": ${r.status}` });
      }
    });
  });
  await conn.write(encodeRequest(Ga467Command.findCard.cmd, Ga467Command.findCard.para));
  return answer;
}

/**
 * Everything checkDevice needs for one device. `daemon`: when the daemon is running (it holds
 * the port), how to find the device in its own report (null when it reports nothing about it).
 */
export async function probeDevice(spec: DeviceSpec, daemon: ((spec: DeviceSpec) => StoredDevice | null) | null, user: UserInfo | null, open?: SerialOpener): Promise<DeviceFacts> {
  const node = spec.node === null ? 'none' : statNode(spec.node);
  const base = { name: spec.name, kind: spec.kind, where: spec.where, node, want: spec.want, user } as const;
  if (daemon) {
    const h = daemon(spec);
    return { ...base, daemon: { running: true, state: h?.state ?? null, error: h?.error }, answer: null };
  }
  const answer = node === null || node === 'none' ? null : await askDevice(spec.ask, open);
  return { ...base, daemon: { running: false }, answer, ...(spec.ask.how === 'none' && spec.ask.why ? { notAsked: spec.ask.why } : {}) };
}
