import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** A serial or HID device as `gatectl devices` shows it. */
export interface FoundDevice {
  kind: 'serial' | 'hid';
  path: string;
  /** Stable name under /dev/serial/by-id, when udev made one. */
  byId?: string | undefined;
  usb?: string | undefined; // "1a86:7523"
  description?: string | undefined;
}

export interface Roots {
  dev: string;
  sys: string;
}

const DEFAULT_ROOTS: Roots = { dev: '/dev', sys: '/sys' };

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Walk up from a sysfs device folder to the USB device that owns it. */
function usbInfo(deviceDir: string, sysRoot: string): { usb?: string; description?: string } {
  let dir: string;
  try {
    dir = realpathSync(deviceDir);
  } catch {
    return {};
  }
  for (let i = 0; i < 6 && dir.startsWith(sysRoot) && dir !== sysRoot; i++, dir = dirname(dir)) {
    const vid = read(join(dir, 'idVendor'));
    const pid = read(join(dir, 'idProduct'));
    if (vid && pid) {
      const description = [read(join(dir, 'manufacturer')), read(join(dir, 'product'))].filter(Boolean).join(' ');
      return { usb: `${vid}:${pid}`, ...(description ? { description } : {}) };
    }
  }
  return {};
}

/**
 * Serial ports from sysfs and /dev/serial/by-id — no udevadm needed (serialport's list()
 * shells out to it, and minimal images do not have it). Only ttys backed by a real
 * device: USB adapters, ACM modems, on-board UARTs.
 */
export function listSerialPorts(roots: Roots = DEFAULT_ROOTS): FoundDevice[] {
  const byIdDir = join(roots.dev, 'serial', 'by-id');
  const byId = new Map<string, string>();
  for (const name of list(byIdDir)) {
    try {
      byId.set(basename(resolve(byIdDir, readlinkSync(join(byIdDir, name)))), join(byIdDir, name));
    } catch {
      /* a dangling link: the device just went away */
    }
  }
  const ports: FoundDevice[] = [];
  for (const tty of list(join(roots.sys, 'class', 'tty')).sort()) {
    const deviceDir = join(roots.sys, 'class', 'tty', tty, 'device');
    if (!existsSync(deviceDir)) continue; // virtual consoles, ptys
    // 8250 UARTs are listed whether or not the hardware exists; type 0 means "no port here".
    if (read(join(roots.sys, 'class', 'tty', tty, 'type')) === '0') continue;
    ports.push({ kind: 'serial', path: join(roots.dev, tty), byId: byId.get(tty), ...usbInfo(deviceDir, roots.sys) });
  }
  return ports;
}

/** HID devices from sysfs (/sys/class/hidraw/…/device/uevent), for when node-hid cannot load. */
export function listHidraw(roots: Roots = DEFAULT_ROOTS): FoundDevice[] {
  const out: FoundDevice[] = [];
  for (const node of list(join(roots.sys, 'class', 'hidraw')).sort()) {
    const uevent = read(join(roots.sys, 'class', 'hidraw', node, 'device', 'uevent')) ?? '';
    const id = /^HID_ID=\w+:0*([0-9A-Fa-f]{1,4}):0*([0-9A-Fa-f]{1,4})$/m.exec(uevent);
    const name = /^HID_NAME=(.*)$/m.exec(uevent)?.[1];
    out.push({
      kind: 'hid',
      path: join(roots.dev, node),
      ...(id ? { usb: `${id[1]!.toLowerCase().padStart(4, '0')}:${id[2]!.toLowerCase().padStart(4, '0')}` } : {}),
      ...(name ? { description: name } : {}),
    });
  }
  return out;
}
