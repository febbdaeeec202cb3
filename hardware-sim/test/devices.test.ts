import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  Ga467Command,
  Ga467Framer,
  decodeIdText,
  displayLine,
  encodeFrame,
  encodeGb18030,
  encodeRelayCommand,
  encodeRequest,
  parseCardData,
  parseRelayStatus,
  parseResponse,
  type Ga467Response,
} from '@stile/gate-agent/protocol';
import { SimIdReader, SimLaneDisplay, SimPassageSensor, SimQrScanner, SimRelayBoard, makeIdNumber, residentCard } from '../src/index.js';
import { GatePort, processAlive, sleep, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe('SimQrScanner', () => {
  it('sends each scan with its suffix and AIM prefix to a 9600-baud serialport', async () => {
    const scanner = await SimQrScanner.open({ dir: tmp.dir });
    const gate = await GatePort.open(scanner.devicePath, 9600);
    try {
      expect(scanner.devicePath).toBe(`${tmp.dir}/scanner`);
      const r = await scanner.scan('ST1:AbCdEfGh12345678');
      expect(r).toMatchObject({ sent: true, bytes: 22 });
      await scanner.scan('ST1:second', { suffix: '\r', aim: ']Q1' });
      await scanner.scan('门票', { suffix: '\n' });
      await scanner.noise(Buffer.from([0x00, 0xff]));
      await scanner.noise(5);
      const expected = Buffer.concat([Buffer.from('ST1:AbCdEfGh12345678\r\n]Q1ST1:second\r门票\n'), Buffer.from([0x00, 0xff])]);
      const got = await gate.take(expected.length + 5);
      expect(got.subarray(0, expected.length)).toEqual(expected);
      expect([...got.subarray(expected.length)].some((b) => b === 0x0d || b === 0x0a)).toBe(false);
      expect(scanner.scans).toBe(3);
    } finally {
      await gate.close();
      await scanner.close();
    }
  });

  it('in command mode reads only between trigger and release', async () => {
    const scanner = await SimQrScanner.open({ dir: tmp.dir, name: 'cmd-scanner', mode: 'command', triggerAck: Buffer.from('020000010033 31'.replace(/ /g, ''), 'hex') });
    const gate = await GatePort.open(scanner.devicePath, 9600);
    try {
      expect(await scanner.scan('early')).toEqual({ sent: false, reason: 'not_triggered' });
      const triggered = new Promise((r) => scanner.events.once('trigger', r));
      await gate.write(Buffer.from([0x16, 0x54])); // split across writes
      await gate.write(Buffer.from([0x0d]));
      await triggered;
      expect((await gate.take(7)).toString('hex')).toBe('02000001003331');
      await scanner.scan('ST1:inwindow1');
      expect((await gate.take(15)).toString()).toBe('ST1:inwindow1\r\n');
      const released = new Promise((r) => scanner.events.once('release', r));
      await gate.write(Buffer.from([0x16, 0x55, 0x0d]));
      await released;
      expect(scanner.triggered).toBe(false);
      expect(scanner.triggers).toBe(1);
    } finally {
      await gate.close();
      await scanner.close();
    }
  });
});

/** A GA/T 467 host, as the gate's driver would be. */
class Ga467Client {
  private framer = new Ga467Framer();
  readonly discarded: string[] = [];
  private frames: Buffer[] = [];

  constructor(readonly gate: GatePort) {}

  private drain(): void {
    for (const f of this.framer.push(this.gate.received)) {
      if (f.type === 'frame') this.frames.push(f.payload);
      else this.discarded.push(f.reason);
    }
    this.gate.received = Buffer.alloc(0);
  }

  async request(c: { cmd: number; para: number } | Buffer, timeoutMs = 1000): Promise<Ga467Response | null> {
    await this.gate.write(Buffer.isBuffer(c) ? c : encodeRequest(c.cmd, c.para));
    try {
      await this.gate.waitFor(() => {
        this.drain();
        return this.frames.length > 0 || this.discarded.length > 0;
      }, timeoutMs);
    } catch {
      return null;
    }
    const payload = this.frames.shift();
    return payload ? parseResponse(payload) : null;
  }
}

describe('SimIdReader', () => {
  it('answers find, select and read like a reader, with the card placed and removed', async () => {
    const reader = await SimIdReader.open({ dir: tmp.dir, timing: { readMs: 0 } });
    const gate = await GatePort.open(reader.devicePath, 115200);
    const client = new Ga467Client(gate);
    const reads: string[] = [];
    reader.events.on('read', (card) => reads.push(card.cardType === 'resident' ? card.idNumber : '?'));
    try {
      expect(reader.baudRate).toBe(115200);
      expect(await client.request(Ga467Command.samStatus)).toMatchObject({ status: 'ok' });
      expect(await client.request(Ga467Command.findCard)).toMatchObject({ status: 'no_card', sw3: 0x80 });
      expect(await client.request(Ga467Command.selectCard)).toMatchObject({ status: 'select_failed', sw3: 0x81 });
      expect(await client.request(Ga467Command.readBase)).toMatchObject({ status: 'read_failed' });

      const id = makeIdNumber(7); // sequence 008: even, so a woman's number
      reader.placeCard(residentCard({ idNumber: id, name: '张三' }));
      const found = await client.request(Ga467Command.findCard);
      expect(found).toMatchObject({ status: 'card_found', sw3: 0x9f });
      expect(found?.status !== 'malformed' && found?.data.toString('hex')).toBe('00000000');
      const selected = await client.request(Ga467Command.selectCard);
      expect(selected).toMatchObject({ status: 'ok' });
      expect(selected && selected.status !== 'malformed' && selected.data.length).toBe(8);
      const read = await client.request(Ga467Command.readBase);
      if (read?.status !== 'ok') throw new Error(`read: ${JSON.stringify(read)}`);
      const card = parseCardData(read.data);
      expect(card).toMatchObject({ ok: true, photoLength: 1024 });
      if (!card.ok) throw new Error('card data');
      expect(decodeIdText(card.text)).toMatchObject({ cardType: 'resident', idNumber: id, name: '张三', gender: 'female', nation: '汉' });
      await vi.waitFor(() => expect(reads).toEqual([id]));

      // A read card is halted until lifted and placed again.
      expect(await client.request(Ga467Command.findCard)).toMatchObject({ status: 'no_card' });
      reader.removeCard();
      expect(await client.request(Ga467Command.findCard)).toMatchObject({ status: 'no_card' });
      reader.placeCard({ idNumber: id });
      expect(await client.request(Ga467Command.findCard)).toMatchObject({ status: 'card_found' });
      const withFp = await client.request(Ga467Command.readBaseWithFingerprint);
      expect(withFp?.status === 'ok' && parseCardData(withFp.data, true)).toMatchObject({ ok: true, fingerprintLength: 0 });

      expect(await client.request({ cmd: 0x99, para: 0x01 })).toMatchObject({ status: 'command_error' });
      expect(reader.counts).toMatchObject({ findCard: 5, selectCard: 2, readBase: 2, samStatus: 1, unknown: 1 });
    } finally {
      await gate.close();
      await reader.close();
    }
  });

  it('answers a request with a bad checksum with 0x10, ignores noise, and misbehaves on cue', async () => {
    const reader = await SimIdReader.open({ dir: tmp.dir, name: 'idcard2', timing: { readMs: 0 } });
    const gate = await GatePort.open(reader.devicePath, 115200);
    const client = new Ga467Client(gate);
    try {
      const bad = encodeRequest(0x20, 0x01);
      bad[bad.length - 1] = 0x23; // checksum is 22
      expect(await client.request(bad)).toMatchObject({ status: 'rx_checksum_error', sw3: 0x10 });
      // Line noise before a request: no answer to the noise, a normal answer to the request.
      expect(await client.request(Buffer.concat([Buffer.from([0x01, 0x02, 0x03]), encodeRequest(0x11, 0xff)]))).toMatchObject({ status: 'ok' });
      expect(await client.request(encodeFrame(Buffer.from([0x20])))).toMatchObject({ status: 'rx_length_error' });

      reader.placeCard({ idNumber: makeIdNumber(1) });
      reader.failNext('bad_checksum', { command: 'findCard' });
      expect(await client.request(Ga467Command.findCard)).toBeNull();
      expect(client.discarded).toEqual(['bad_checksum']);
      client.discarded.length = 0;

      reader.failNext('silence');
      const t0 = Date.now();
      expect(await client.request(Ga467Command.findCard, 300)).toBeNull();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      expect(client.discarded).toEqual([]);

      reader.failNext('garbage');
      expect(await client.request(Ga467Command.findCard)).toBeNull();
      expect(client.discarded).toEqual(['garbage']);
      client.discarded.length = 0;

      reader.failNext('read_failed', { command: 'readBase' });
      expect(await client.request(Ga467Command.findCard)).toMatchObject({ status: 'card_found' });
      expect(await client.request(Ga467Command.readBase)).toMatchObject({ status: 'read_failed' });
      // The failed read did not halt the card: the retry works.
      expect(await client.request(Ga467Command.readBase)).toMatchObject({ status: 'ok' });
      // The record is made once the answer has drained, which can be just after the client has it.
      await vi.waitFor(() => expect(reader.history).toHaveLength(9));
      expect(reader.history.map((r) => r.sw3)).toEqual([0x10, 0x90, 0x11, 0x9f, null, null, 0x9f, 0x41, 0x90]);
      // Request side: the bad checksum, the noise, and the short frame (bad LEN, then its 2 leftover bytes).
      expect(reader.discarded).toEqual({ bad_checksum: 1, garbage: 2, bad_length: 1 });
      expect(reader.history.map((r) => r.fault).filter(Boolean)).toEqual(['bad_checksum', 'silence', 'garbage', 'read_failed']);
    } finally {
      await gate.close();
      await reader.close();
    }
  });
});

describe('SimRelayBoard', () => {
  it('records a pulse as long as the gap between the ON and OFF commands', async () => {
    const relay = await SimRelayBoard.open({ dir: tmp.dir, channels: 2 });
    const gate = await GatePort.open(relay.devicePath, 9600);
    try {
      const pulse = relay.waitForPulse({ channel: 1 });
      const t0 = performance.now();
      await gate.write(encodeRelayCommand(1, true));
      await sleep(150);
      await gate.write(encodeRelayCommand(1, false));
      const gap = performance.now() - t0;
      const p = await pulse;
      expect(p.channel).toBe(1);
      expect(p.ms).toBeGreaterThan(120);
      expect(p.ms).toBeLessThan(gap + 100);
      expect(relay.pulses).toEqual([p]);

      // Split command, garbage, a repeat ON, a channel the board lacks, and the status query.
      const on2 = encodeRelayCommand(2, true);
      await gate.write(on2.subarray(0, 2));
      await gate.write(Buffer.concat([on2.subarray(2), Buffer.from([0x12, 0x34]), on2, encodeRelayCommand(5, true), Buffer.from([0xff])]));
      const status = await gate.take(17);
      expect(parseRelayStatus(status.toString('latin1'))).toEqual([
        { channel: 1, on: false },
        { channel: 2, on: true },
      ]);
      expect(relay.isOn(2)).toBe(true);
      expect(relay.discarded).toBe(1);
      expect(relay.ignored).toBe(1);
      expect(relay.switches.filter((s) => s.channel === 2)).toHaveLength(2);

      // Pulling the board's plug drops the relay: the open pulse ends, marked interrupted.
      await relay.unplug();
      expect(relay.pulses.at(-1)).toMatchObject({ channel: 2, interrupted: true });
      await relay.replug();
      expect(relay.isOn(2)).toBe(false);
    } finally {
      await gate.close();
      await relay.close();
    }
  });
});

describe('SimPassageSensor', () => {
  it('sends PASS per person and the emergency lines, and leaves no socat behind', async () => {
    const sensor = await SimPassageSensor.open({ dir: tmp.dir });
    const gate = await GatePort.open(sensor.devicePath, 9600);
    const pid = sensor.link?.socatPid as number;
    await sensor.pass(2);
    await sensor.setEmergency(true);
    await sensor.setEmergency(false);
    const text = 'PASS\nPASS\nEMERGENCY ON\nEMERGENCY OFF\n';
    expect((await gate.take(text.length)).toString()).toBe(text);
    await gate.close();
    await sensor.close();
    expect(processAlive(pid)).toBe(false);
    expect(sensor.plugged).toBe(false);
  });
});

describe('SimLaneDisplay', () => {
  it('shows the gate\'s decision lines, split anywhere, in GB18030 as the LED boards take them', async () => {
    const display = await SimLaneDisplay.open({ dir: tmp.dir, encoding: 'gb18030' });
    const gate = await GatePort.open(display.devicePath, 9600);
    try {
      const no = encodeGb18030(displayLine({ decision: 'reject', reason: 'entries_exhausted' }));
      const ok = encodeGb18030(displayLine({ decision: 'admit', persons: 3 }));
      const shown = display.waitForLine({ match: (l) => l.decision?.decision === 'admit' });
      // Cut inside a two-byte character.
      await gate.write(no.subarray(0, 4));
      await gate.write(Buffer.concat([no.subarray(4), ok]));
      expect((await shown).decision).toMatchObject({ decision: 'admit', persons: 3, zh: '请通行' });
      expect(display.lines.map((l) => l.decision?.decision === 'reject' && l.decision.reason)).toEqual(['entries_exhausted', false]);
      expect(display.lines[0]?.text).toContain('票已使用');
    } finally {
      await gate.close();
      await display.close();
    }
  });
});
