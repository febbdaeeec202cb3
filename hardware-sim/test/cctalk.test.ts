import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CctalkFramer,
  CctalkHeader,
  cctalkRequest,
  encodeDispense,
  encodeInhibitMask,
  parseBufferedBillEvents,
  parseHopperStatus,
  parseTestHopper,
  type CctalkFrame,
} from '@stile/kiosk-agent/protocol';
import { SimCashDevices } from '../src/index.js';
import { GatePort, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** A bare ccTalk host on the kiosk's end of the pty. */
class Host {
  private framer: CctalkFramer;
  readonly discarded: string[] = [];
  readonly frames: CctalkFrame[] = [];

  constructor(
    readonly port: GatePort,
    accept: number[] = [1],
  ) {
    this.framer = new CctalkFramer({ accept });
  }

  private drain(): void {
    for (const f of this.framer.push(this.port.received)) {
      if (f.type === 'frame') this.frames.push(f);
      else this.discarded.push(f.reason);
    }
    this.port.received = Buffer.alloc(0);
  }

  /** Send, and return the first frame from `dest` (null: none within the timeout). */
  async ask(dest: number, header: number, data: readonly number[] | Buffer = [], timeoutMs = 500): Promise<CctalkFrame | null> {
    this.frames.length = 0;
    await this.port.write(cctalkRequest(dest, header, data));
    try {
      await this.port.waitFor(() => {
        this.drain();
        return this.frames.some((f) => f.src === dest);
      }, timeoutMs);
    } catch {
      return null;
    }
    return this.frames.find((f) => f.src === dest) ?? null;
  }

  /** The event counter and the newest `n` event pairs. */
  async events(n: number): Promise<{ counter: number; pairs: [number, number][] } | null> {
    const r = await this.ask(40, CctalkHeader.readBufferedBillEvents);
    const e = r ? parseBufferedBillEvents(r.data) : null;
    return e && { counter: e.counter, pairs: e.pairs.slice(0, n) };
  }
}

const BV = 40;
const HOP = 3;

describe('SimCashDevices: bill validator', () => {
  it('identifies itself, lists CNY notes, and holds, stacks and returns notes as told', async () => {
    const sim = await SimCashDevices.open({ dir: tmp.dir, name: 'cctalk-bv' });
    const port = await GatePort.open(sim.devicePath, 9600);
    const host = new Host(port);
    const v = sim.validator!;
    try {
      expect(sim.baudRate).toBe(9600);
      expect((await host.ask(BV, CctalkHeader.simplePoll))?.data.length).toBe(0);
      expect((await host.ask(BV, CctalkHeader.requestEquipmentCategoryId))?.data.toString()).toBe('Bill Validator');
      expect((await host.ask(BV, CctalkHeader.requestBillId, [3]))?.data.toString()).toBe('CN0010A');
      expect((await host.ask(BV, CctalkHeader.requestBillId, [9]))?.data.toString()).toBe('.......');
      expect((await host.ask(BV, CctalkHeader.requestCountryScalingFactor, Buffer.from('CN')))?.data.toString('hex')).toBe('640002');

      // Power-up state: master inhibit on, so a note is refused at the entry.
      expect(v.insertNote(1000)).toBe('rejected');
      expect(await host.events(1)).toEqual({ counter: 1, pairs: [[0, 0]] }); // master inhibit active

      await host.ask(BV, CctalkHeader.modifyBillOperatingMode, [3]);
      await host.ask(BV, CctalkHeader.modifyInhibitStatus, encodeInhibitMask([3, 4]));
      await host.ask(BV, CctalkHeader.modifyMasterInhibitStatus, [1]);
      expect(v.insertNote(5000)).toBe('rejected'); // ¥50 is type 5, inhibited
      expect(v.insertNote('fake')).toBe('rejected');
      expect(v.insertNote(1000)).toBe('held');
      expect(v.insertNote(2000)).toBe('busy'); // one note at a time
      expect(await host.events(4)).toEqual({ counter: 4, pairs: [[3, 1], [0, 2], [0, 4], [0, 0]] });

      expect((await host.ask(BV, CctalkHeader.routeBill, [1]))?.data.length).toBe(0);
      await vi.waitFor(() => expect(v.stacker).toEqual([1000]));
      expect(await host.events(2)).toEqual({ counter: 5, pairs: [[3, 0], [3, 1]] });
      expect((await host.ask(BV, CctalkHeader.routeBill, [1]))?.data.toString('hex')).toBe('fe'); // escrow empty

      expect(v.insertNote(2000)).toBe('held');
      await host.ask(BV, CctalkHeader.routeBill, [0]);
      expect(await host.events(2)).toEqual({ counter: 7, pairs: [[0, 1], [4, 1]] });
      expect(v.stacker).toEqual([1000]);

      // A jam while the note waits in escrow: unsafe-mode jam, routing then fails.
      expect(v.insertNote(1000)).toBe('held');
      v.jam();
      expect(await host.events(2)).toEqual({ counter: 9, pairs: [[0, 6], [3, 1]] });
      expect(v.insertNote(1000)).toBe('busy');
      v.clearJam();
      expect(sim.count('routeBill')).toBe(3);
    } finally {
      await port.close();
      await sim.close();
    }
  });
});

describe('SimCashDevices: hopper', () => {
  it('pays coins one by one, and stops with the rest unpaid when it runs dry', async () => {
    const sim = await SimCashDevices.open({ dir: tmp.dir, name: 'cctalk-hop', hopper: { coins: 2, coinMs: 5 } });
    const port = await GatePort.open(sim.devicePath, 9600);
    const host = new Host(port);
    const h = sim.hopper!;
    try {
      expect((await host.ask(HOP, CctalkHeader.requestEquipmentCategoryId))?.data.toString()).toBe('Payout');
      const serial = (await host.ask(HOP, CctalkHeader.requestSerialNumber))?.data;
      expect(serial?.toString('hex')).toBe('563412');
      // Disabled: refused.
      expect((await host.ask(HOP, CctalkHeader.dispenseHopperCoins, encodeDispense(serial!, 3)))?.header).toBe(CctalkHeader.nak);
      await host.ask(HOP, CctalkHeader.enableHopper, [165]);
      expect((await host.ask(HOP, CctalkHeader.dispenseHopperCoins, encodeDispense(Buffer.from([1, 2, 3]), 3)))?.header).toBe(CctalkHeader.nak);
      expect((await host.ask(HOP, CctalkHeader.dispenseHopperCoins, encodeDispense(serial!, 3)))?.header).toBe(0);
      await vi.waitFor(async () => expect(parseHopperStatus((await host.ask(HOP, CctalkHeader.requestHopperStatus))!.data)).toEqual({ counter: 1, remaining: 0, paid: 2, unpaid: 1 }));
      expect(parseTestHopper((await host.ask(HOP, CctalkHeader.testHopper))!.data)).toEqual(['payout_timeout']);
      expect((await host.ask(HOP, CctalkHeader.requestPayoutHighLowStatus))?.data.toString('hex')).toBe('11');
      expect(h.coins).toBe(0);

      h.coins = 10;
      h.jam(1);
      await host.ask(HOP, CctalkHeader.dispenseHopperCoins, encodeDispense(serial!, 4));
      await vi.waitFor(async () => expect(parseHopperStatus((await host.ask(HOP, CctalkHeader.requestHopperStatus))!.data)).toMatchObject({ counter: 2, remaining: 0, paid: 1, unpaid: 3 }));
      expect(parseTestHopper((await host.ask(HOP, CctalkHeader.testHopper))!.data)).toEqual(['max_current_exceeded', 'opto_blocked_payout']);
      expect(h.paidOut).toBe(3);
    } finally {
      await port.close();
      await sim.close();
    }
  });
});

describe('SimCashDevices: the line', () => {
  it('ignores requests with a bad checksum and for other addresses, and misbehaves on cue', async () => {
    const sim = await SimCashDevices.open({ dir: tmp.dir, name: 'cctalk-line' });
    const port = await GatePort.open(sim.devicePath, 9600);
    const host = new Host(port);
    try {
      const bad = cctalkRequest(BV, CctalkHeader.simplePoll);
      bad[bad.length - 1] = 0;
      await port.write(bad);
      expect(await host.ask(7, CctalkHeader.simplePoll, [], 200)).toBeNull(); // nobody at 7
      expect(await host.ask(BV, 99, [], 200)).toBeNull(); // unsupported header: silence

      sim.failNext('bad_checksum', { address: BV });
      expect(await host.ask(BV, CctalkHeader.simplePoll, [], 200)).toBeNull();
      expect(host.discarded).toContain('bad_checksum');
      sim.failNext('garbage');
      expect(await host.ask(BV, CctalkHeader.simplePoll)).not.toBeNull();
      expect(host.discarded).toContain('garbage');
      sim.failNext('busy', { header: CctalkHeader.simplePoll });
      expect((await host.ask(BV, CctalkHeader.simplePoll))?.header).toBe(CctalkHeader.busy);
      sim.failNext('silence', { address: HOP });
      expect(await host.ask(HOP, CctalkHeader.simplePoll, [], 200)).toBeNull();
      expect(await host.ask(HOP, CctalkHeader.simplePoll)).not.toBeNull();
      expect(sim.discarded).toMatchObject({ bad_checksum: 1 });
    } finally {
      await port.close();
      await sim.close();
    }
  });

  it('echoes every request back before the answer on a single-wire line', async () => {
    const sim = await SimCashDevices.open({ dir: tmp.dir, name: 'cctalk-echo', echo: true });
    const port = await GatePort.open(sim.devicePath, 9600);
    const host = new Host(port, [1, BV, HOP]);
    try {
      const answer = await host.ask(BV, CctalkHeader.simplePoll);
      expect(answer?.src).toBe(BV);
      expect(host.frames.map((f) => [f.dest, f.src, f.header])).toEqual([
        [BV, 1, CctalkHeader.simplePoll],
        [1, BV, 0],
      ]);
    } finally {
      await port.close();
      await sim.close();
    }
  });
});
