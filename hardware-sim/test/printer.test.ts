import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { EscPosInterpreter, SimPrinter, qrPng, type EscPosOp, type SimLinkEvents, type SimWire } from '../src/index.js';
import { GatePort, tempDir } from './helpers.js';

// jsqr is CommonJS with an ES-style default in its types: take the function whichever way it comes.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;

/** A wire without a pty: what the kiosk "sends" goes in with feed(), answers collect in `sent`. */
class FakeWire extends EventEmitter<SimLinkEvents> implements SimWire {
  readonly devicePath = '/dev/null';
  readonly baudRate = 115200;
  readonly plugged = true;
  sent: number[] = [];
  write(data: Buffer): Promise<number> {
    this.sent.push(...data);
    return Promise.resolve(0);
  }
  now(): number {
    return 0;
  }
  feed(bytes: Buffer | string): void {
    this.emit('data', Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'), 0);
  }
}

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const gb = (s: string) => {
  // The test's own GB18030 bytes for the few characters used (from the GB 18030 table).
  const table: Record<string, string> = { 入: 'c8eb', 园: 'd4b0', 票: 'c6b1' };
  return Buffer.from([...s].map((c) => table[c] ?? Buffer.from(c).toString('hex')).join(''), 'hex');
};
const qr = (data: string) => {
  const d = Buffer.from(data);
  const p = d.length + 3;
  return Buffer.concat([hex('1d286b 0300 31 43 05'), hex('1d286b 0300 31 45 31'), hex(`1d286b ${(p & 0xff).toString(16).padStart(2, '0')}${(p >> 8).toString(16).padStart(2, '0')} 31 50 30`), d, hex('1d286b 0300 31 51 30')]);
};

function printerOnFakeWire(): { wire: FakeWire; printer: SimPrinter } {
  const wire = new FakeWire();
  return { wire, printer: new SimPrinter(wire, { widthChars: 32 }) };
}

describe('EscPosInterpreter', () => {
  const sample = Buffer.concat([hex('1b40 1c26 1b6101 1b4501'), gb('入园'), hex('0a 1d2111'), Buffer.from('OK\n'), hex('100401'), qr('ST1:ABCDEFGH'), hex('1d564200')]);

  it('gives the same commands whether the bytes come at once or one by one', () => {
    const whole = new EscPosInterpreter().push(sample);
    const split = new EscPosInterpreter();
    const ops: EscPosOp[] = [];
    for (const b of sample) ops.push(...split.push(Buffer.from([b])));
    const merged = ops.reduce<EscPosOp[]>((acc, op) => {
      const last = acc.at(-1);
      if (op.op === 'text' && last?.op === 'text') acc[acc.length - 1] = { op: 'text', bytes: Buffer.concat([last.bytes, op.bytes]) };
      else acc.push(op);
      return acc;
    }, []);
    expect(merged).toEqual(whole);
    expect(whole.map((o) => o.op)).toEqual(['init', 'chinese', 'align', 'bold', 'text', 'lf', 'size', 'text', 'lf', 'realtimeStatus', 'qr', 'qr', 'qr', 'qr', 'cut']);
  });

  it('skips a raster image as it streams past instead of printing its bytes as text', () => {
    const it = new EscPosInterpreter();
    // GS v 0 m xL xH yL yH: 2 bytes × 3 dots = 6 bytes of image, split across chunks
    const ops = [...it.push(hex('1d7630 00 0200 0300 4142')), ...it.push(hex('43444546')), ...it.push(Buffer.from('x\n'))];
    expect(ops).toEqual([{ op: 'ignored', name: 'GS v 0' }, { op: 'text', bytes: Buffer.from('x') }, { op: 'lf' }]);
  });
});

describe('SimPrinter', () => {
  it('renders a page: aligned text, Chinese from GB18030, the QR as a scannable PNG', () => {
    const { wire, printer } = printerOnFakeWire();
    wire.feed(Buffer.concat([hex('1b40 1c26 1b6101 1b4501'), gb('入园'), hex('0a 1b6100 1b4500'), Buffer.from('Gate 1\n'), hex('1b6101'), qr('ST1:ABCDEFGH'), hex('0a 1d564100')]));
    const page = printer.lastPage()!;
    expect(page.text).toBe(['              入园', 'Gate 1', '       [QR ST1:ABCDEFGH]', ''].join('\n'));
    expect(page.lines[0]).toMatchObject({ text: '入园', align: 'center', bold: true });
    expect(page.qrCodes[0]).toMatchObject({ data: 'ST1:ABCDEFGH', ecc: 'M', moduleSize: 5, modules: 21 });
    const img = PNG.sync.read(page.qrPngs[0]!);
    expect(img.width).toBe((21 + 8) * 5);
    expect(jsQR(new Uint8ClampedArray(img.data), img.width, img.height)?.data).toBe('ST1:ABCDEFGH');
  });

  it('shows bytes sent without Chinese mode as "?" rather than guessing a code page', () => {
    const { wire, printer } = printerOnFakeWire();
    wire.feed(Buffer.concat([hex('1b40'), gb('票'), hex('0a 1d5601')]));
    expect(printer.lastPage()).toMatchObject({ text: '??', cut: 'partial' });
  });

  it('answers DLE EOT 1–4 at once from its state, even while a jam holds the job', () => {
    const { wire, printer } = printerOnFakeWire();
    const ask = () => {
      wire.sent = [];
      wire.feed(hex('100401 100402 100403 100404'));
      return wire.sent;
    };
    expect(ask()).toEqual([0x12, 0x12, 0x12, 0x12]);
    printer.setPaperNearEnd();
    expect(ask()).toEqual([0x12, 0x12, 0x12, 0x1e]);
    printer.setPaperOut();
    expect(ask()).toEqual([0x1a, 0x32, 0x12, 0x7e]);
    printer.loadPaper();
    printer.setCoverOpen();
    expect(ask()).toEqual([0x1a, 0x16, 0x12, 0x12]);
    printer.setCoverOpen(false);
    printer.jam();
    expect(ask()).toEqual([0x1a, 0x52, 0x1a, 0x12]);
    // A job and its GS r 1 wait behind the jam; status requests still get through.
    wire.feed(Buffer.concat([Buffer.from('held\n'), hex('1d5641 00 1d7201')]));
    expect(ask()).toEqual([0x1a, 0x52, 0x1a, 0x12]);
    expect([printer.pages.length, printer.heldCount]).toEqual([0, 4]);
    wire.sent = [];
    printer.clearJam();
    expect(wire.sent).toEqual([0x00]); // the GS r 1 answer, now that the job has printed
    expect(printer.lastPage()!.text).toBe('held');
  });

  it('records an unknown command and prints what follows it', () => {
    const { wire, printer } = printerOnFakeWire();
    const unknown: string[] = [];
    printer.events.on('unknown', (u) => unknown.push(u.hex));
    wire.feed(Buffer.concat([hex('1b40 1b7e 07 1d2a'), Buffer.from('after\n'), hex('1d5641 00')]));
    expect(unknown).toEqual(['1b7e', '07', '1d2a']);
    expect(printer.lastPage()!.text).toBe('after');
  });

  it('fails mid-job after a number of lines, as a jam or the roll running out does', () => {
    const { wire, printer } = printerOnFakeWire();
    printer.failAfterLines(2, 'paper_out');
    wire.feed(Buffer.from('one\ntwo\nthree\n'));
    expect(printer.currentPage().text).toBe('one\ntwo');
    expect(printer.statusByte(4)).toBe(0x72);
    printer.loadPaper();
    expect(printer.currentPage().text).toBe('one\ntwo\nthree');
  });

  it('never throws on random bytes in random chunks, and keeps its buffers bounded (fuzz)', () => {
    const commandish = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.constantFrom(...['1b40', '1c26', '1d286b', '1d7630', '1d6b', '1b2a21', '1b44', '100401', '1d5641', '1d21ff', '1b61ff'].map((h) => Uint8Array.from(hex(h)))),
    );
    fc.assert(
      fc.property(fc.array(commandish, { maxLength: 60 }), (chunks) => {
        const { wire, printer } = printerOnFakeWire();
        const interpreter = new EscPosInterpreter();
        for (const c of chunks) {
          wire.feed(Buffer.from(c));
          interpreter.push(Buffer.from(c));
          expect(interpreter.pendingBytes).toBeLessThanOrEqual(8192 + 5);
        }
        expect(printer.heldCount).toBeLessThanOrEqual(100_000);
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('draws QR PNGs that scan for ST2-length data at every error correction level', () => {
    const data = `ST2:${'A'.repeat(150)}.${'B'.repeat(86)}`;
    for (const ecc of ['L', 'M', 'Q', 'H'] as const) {
      const png = PNG.sync.read(qrPng(Buffer.from(data), ecc, 4).png);
      expect(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data).toBe(data);
    }
  });

  it('on a real pty: answers a kiosk-side serialport and prints what it sends', async () => {
    const tmp = tempDir();
    const printer = await SimPrinter.open({ dir: tmp.dir });
    const kiosk = await GatePort.open(printer.devicePath, 115200);
    try {
      await kiosk.write(Buffer.concat([hex('1b40 1c26'), gb('入园'), hex('0a 1d5641 00 1d7201 100404')]));
      // GS r 1 answers 00 once the page is printed, DLE EOT 4 answers 12 (the order depends on how the pty splits the write)
      expect([...(await kiosk.take(2))].sort()).toEqual([0x00, 0x12]);
      expect(printer.lastPage()!.text).toBe('入园');
    } finally {
      await kiosk.close();
      await printer.close();
      tmp.cleanup();
    }
  });
});
