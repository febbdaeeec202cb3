import { describe, expect, it } from 'vitest';
import type { QrSerialConfig } from '@stile/config';
import type { Credential } from '../../src/gate/credential.js';
import { QrSerialScanner } from '../../src/devices/qr-serial.js';
import { fakeOpener, until } from '../helpers/fake-serial.js';
import { silent } from '../helpers/site.js';

const cfg: QrSerialConfig = { type: 'qr-serial', name: 'qr-1', path: '/dev/fake', baudRate: 9600, suffix: 'any', stripAim: true };

function scanner(extra: Partial<QrSerialConfig> = {}) {
  const fake = fakeOpener();
  const s = new QrSerialScanner({ ...cfg, ...extra }, silent, fake.open);
  const scans: string[] = [];
  s.on('credential', (c: Credential) => scans.push(c.kind === 'qr' ? c.text : 'idcard'));
  s.start();
  return { s, fake, scans };
}

describe('serial QR scanner', () => {
  it('turns CR, LF and CRLF lines split across chunks into scans, AIM prefix dropped', async () => {
    const { s, fake, scans } = scanner();
    await until(() => fake.ports.length === 1);
    const port = fake.ports[0]!;
    port.receive(']Q1ST1:AAAA');
    port.receive('BBBB\r\nST1:CCCCDDDD\r');
    port.receive('ST1:EEEEFFFF\n');
    expect(scans).toEqual(['ST1:AAAABBBB', 'ST1:CCCCDDDD', 'ST1:EEEEFFFF']);
    expect(s.health.scans).toBe(3);
    await s.close();
  });

  it('counts an over-long line and a stale fragment as discarded, and scans on', async () => {
    const { s, fake, scans } = scanner();
    await until(() => fake.ports.length === 1);
    const port = fake.ports[0]!;
    port.receive(`${'Z'.repeat(3000)}\r\n`);
    port.receive('ST1:HALFA');
    await new Promise((r) => setTimeout(r, 400)); // the scanner never finished that read
    port.receive('ST1:WHOLECODE\r\n');
    expect(scans).toEqual(['ST1:WHOLECODE']);
    expect(s.health.discarded).toEqual({ too_long: 1, stale_fragment: 1 });
    await s.close();
  });

  it('sends the trigger command on open and the release command on close', async () => {
    const { s, fake } = scanner({ triggerCommand: '16 54 0d', releaseCommand: '16 55 0d' });
    await until(() => fake.ports[0]?.written.length === 1);
    expect(fake.ports[0]!.written[0]).toEqual(Buffer.from([0x16, 0x54, 0x0d]));
    await s.close();
    expect(fake.ports[0]!.written[1]).toEqual(Buffer.from([0x16, 0x55, 0x0d]));
  });

  it('reports an unplugged scanner, keeps retrying, and scans again once it is back', async () => {
    const { s, fake, scans } = scanner();
    await until(() => fake.ports.length === 1);
    fake.unavailable = true;
    fake.ports[0]!.unplug();
    expect(s.health.state).toBe('reconnecting');
    await new Promise((r) => setTimeout(r, 700)); // a few failed attempts
    expect(s.health.state).toBe('reconnecting');
    expect(s.health.error).toMatch(/no such device/);
    fake.unavailable = false;
    await until(() => s.health.state === 'ok');
    fake.ports.at(-1)!.receive('ST1:BACKAGAIN1\r\n');
    expect(scans).toEqual(['ST1:BACKAGAIN1']);
    expect(s.health.reconnects).toBe(1);
    await s.close();
    expect(s.health.state).toBe('stopped');
  });
});
