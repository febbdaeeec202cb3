import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listHidraw, listSerialPorts } from '../src/devices/discover.js';

/** A miniature /sys and /dev as a Pi with a CH340 relay board, a scanner and a HID scanner shows them. */
function fakeTree() {
  const root = mkdtempSync(join(tmpdir(), 'stile-sys-'));
  const sys = join(root, 'sys');
  const dev = join(root, 'dev');
  const usb = join(sys, 'devices', 'usb1', '1-1');
  mkdirSync(join(usb, '1-1:1.0', 'ttyUSB0'), { recursive: true });
  writeFileSync(join(usb, 'idVendor'), '1a86\n');
  writeFileSync(join(usb, 'idProduct'), '7523\n');
  writeFileSync(join(usb, 'product'), 'USB Serial\n');
  mkdirSync(join(sys, 'class', 'tty', 'ttyUSB0'), { recursive: true });
  symlinkSync(join(usb, '1-1:1.0'), join(sys, 'class', 'tty', 'ttyUSB0', 'device'));
  // A legacy 8250 slot with no hardware behind it, and a pty: neither is listed.
  mkdirSync(join(sys, 'devices', 'platform', 'serial8250'), { recursive: true });
  mkdirSync(join(sys, 'class', 'tty', 'ttyS3'), { recursive: true });
  symlinkSync(join(sys, 'devices', 'platform', 'serial8250'), join(sys, 'class', 'tty', 'ttyS3', 'device'));
  writeFileSync(join(sys, 'class', 'tty', 'ttyS3', 'type'), '0\n');
  mkdirSync(join(sys, 'class', 'tty', 'pts0'), { recursive: true });
  mkdirSync(join(dev, 'serial', 'by-id'), { recursive: true });
  symlinkSync('../../ttyUSB0', join(dev, 'serial', 'by-id', 'usb-1a86_USB_Serial-if00-port0'));
  mkdirSync(join(sys, 'class', 'hidraw', 'hidraw0', 'device'), { recursive: true });
  writeFileSync(join(sys, 'class', 'hidraw', 'hidraw0', 'device', 'uevent'), 'DRIVER=hid-generic\nHID_ID=0003:00000C2E:00000B61\nHID_NAME=Honeywell Imaging 1470g\n');
  return { sys, dev };
}

describe('device discovery without udevadm', () => {
  it('lists real serial ports with their by-id name and USB ids, and skips empty UART slots and ptys', () => {
    const roots = fakeTree();
    expect(listSerialPorts(roots)).toEqual([
      { kind: 'serial', path: join(roots.dev, 'ttyUSB0'), byId: join(roots.dev, 'serial', 'by-id', 'usb-1a86_USB_Serial-if00-port0'), usb: '1a86:7523', description: 'USB Serial' },
    ]);
  });

  it('lists hidraw devices with vendor:product and name', () => {
    const roots = fakeTree();
    expect(listHidraw(roots)).toEqual([{ kind: 'hid', path: join(roots.dev, 'hidraw0'), usb: '0c2e:0b61', description: 'Honeywell Imaging 1470g' }]);
  });

  it('an empty machine lists nothing rather than failing', () => {
    const empty = { sys: '/nonexistent/sys', dev: '/nonexistent/dev' };
    expect(listSerialPorts(empty)).toEqual([]);
    expect(listHidraw(empty)).toEqual([]);
  });
});
