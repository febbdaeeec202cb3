/**
 * The printer driver against hardware-sim's ESC/POS printer on a real pseudo-terminal pair
 * (socat): the same bytes a kiosk sends to a USB-serial thermal printer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import { pino } from 'pino';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, issueOfflineTicket, loadSigningKey } from '@stile/config';
import { createPty, SimPrinter, type Pty } from '@stile/hardware-sim';
import { EscPosPrinter, type PrinterOptions } from '../src/devices/printer.js';
import { receiptDocument, ticketDocument, type TicketPrint } from '../src/protocol/escpos-layouts.js';

// jsqr is CommonJS with an ES-style default in its types: take the function whichever way it comes.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;
const log = pino({ level: 'silent' });
let dir: string;
let sim: SimPrinter;
let printer: EscPosPrinter;
const extra: { close(): Promise<void> }[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stile-printer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await printer?.close();
  await sim?.close();
  for (const c of extra.splice(0)) await c.close();
});

let n = 0;
async function setUp(opts: Partial<PrinterOptions> = {}): Promise<void> {
  sim = await SimPrinter.open({ dir, name: `printer${n++}` });
  printer = new EscPosPrinter({ path: sim.devicePath, transport: 'serial', baudRate: 115200, statusTimeoutMs: 1000, jobTimeoutMs: 1500, ...opts }, log);
}

const ticket: TicketPrint = {
  site: { zh: '青山景区', en: 'Green Hill Park' },
  ticketType: { zh: '成人票', en: 'Adult' },
  visitDate: '2026-05-01',
  slot: { start: '09:00', end: '10:00' },
  persons: 2,
  priceFen: 7000,
  code: 'ST1:T20260501A0001',
  orderId: 'K1-20260501-0001',
  ticketId: 'T20260501A0001',
  printedAt: '2026-05-01 08:42',
};

function scan(png: Buffer): string | undefined {
  const img = PNG.sync.read(png);
  return jsQR(new Uint8ClampedArray(img.data), img.width, img.height)?.data;
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('EscPosPrinter on a simulated printer', () => {
  it('prints a ticket: Chinese and English lines decoded from GB18030, and the printed QR scans to the ST1 code', async () => {
    await setUp();
    const result = await printer.print(ticketDocument(ticket));
    expect(result).toMatchObject({ outcome: 'printed', faults: [], paperNearEnd: false });
    const page = sim.lastPage()!;
    const lines = page.text.split('\n').map((l) => l.trim());
    expect(lines).toContain('青山景区');
    expect(lines).toContain(`票种 Type${' '.repeat(27)}成人票 Adult`);
    expect(lines).toContain(`时段 Slot${' '.repeat(28)}09:00-10:00`);
    expect(lines).toContain(`票价 Price${' '.repeat(31)}￥70.00`);
    expect(lines).toContain('请在闸机扫码入园');
    expect(lines).toContain('Scan at the gate');
    expect(page.lines.find((l) => l.text === '请在闸机扫码入园')).toMatchObject({ align: 'center', bold: true });
    expect(page.cut).toBe('full');
    expect(page.qrPngs).toHaveLength(1);
    expect(scan(page.qrPngs[0]!)).toBe('ST1:T20260501A0001');
    expect(sim.unknownCommands).toEqual([]);
    expect(sim.pages).toHaveLength(1);
  });

  it('prints a signed offline ST2 code and a receipt; both scan or read back as sent', async () => {
    await setUp();
    const k = generateSigningKeyPair('kiosk1');
    const code = issueOfflineTicket(loadSigningKey(k.keyId, k.privateKeyPem), { site: 'green-hill', ticketId: 'K1OFF00000042', typeId: 'adult', visitDate: '2026-05-01', slotStart: '09:00', slotEnd: '10:00', persons: 2, issuedAt: 1_777_600_000 });
    expect((await printer.print(ticketDocument({ ...ticket, code }))).outcome).toBe('printed');
    expect(scan(sim.lastPage()!.qrPngs[0]!)).toBe(code);
    const receipt = receiptDocument({ site: ticket.site, kioskId: 'kiosk-1', orderId: ticket.orderId, items: [{ name: ticket.ticketType, quantity: 2, unitFen: 3500 }], totalFen: 7000, paidBy: 'cash', paidFen: 10000, changeFen: 3000, printedAt: ticket.printedAt });
    expect((await printer.print(receipt)).outcome).toBe('printed');
    const text = sim.lastPage()!.text;
    expect(text).toMatch(/成人票 Adult x2 +￥70\.00/);
    expect(text).toMatch(/找零 Change +￥30\.00/);
    expect(sim.pages).toHaveLength(2);
  });

  for (const [fault, set] of [
    ['paper_out', (s: SimPrinter) => s.setPaperOut()],
    ['cover_open', (s: SimPrinter) => s.setCoverOpen()],
    ['cutter_jam', (s: SimPrinter) => s.jam('cutter_jam')],
  ] as const) {
    it(`${fault} before printing: a typed fault, nothing sent, nothing printed`, async () => {
      await setUp();
      set(sim);
      expect(await printer.status()).toMatchObject({ ready: false, faults: [fault] });
      const result = await printer.print(ticketDocument(ticket));
      expect(result).toMatchObject({ outcome: 'not_printed', faults: [fault] });
      expect(sim.pages).toHaveLength(0);
      expect(sim.heldCount).toBe(0); // not even held: the job never left the kiosk
      expect(sim.counts.text).toBeUndefined();
    });
  }

  it('a jam mid-job: not surely printed; once cleared the held rest prints, and the reprint prints', async () => {
    await setUp();
    sim.failAfterLines(4, 'cutter_jam');
    const result = await printer.print(ticketDocument(ticket));
    expect(result).toMatchObject({ outcome: 'uncertain', faults: ['cutter_jam'] });
    expect(result.after?.status?.cutterError).toBe(true);
    expect(sim.pages).toHaveLength(0);
    expect(sim.currentPage().lines).toHaveLength(4); // half a ticket in the printer
    // The kiosk refuses to print on a jammed printer rather than queue behind the jam.
    expect((await printer.print(ticketDocument({ ...ticket, reprint: true }))).outcome).toBe('not_printed');
    sim.clearJam(); // the attendant pulls the paper out: the printer finishes what it held
    expect(sim.pages).toHaveLength(1);
    const reprint = await printer.print(ticketDocument({ ...ticket, reprint: true }));
    expect(reprint.outcome).toBe('printed');
    expect(sim.lastPage()!.text).toContain('补打 REPRINT');
    expect(scan(sim.lastPage()!.qrPngs[0]!)).toBe(ticket.code);
    // The first job's late end marker was not taken for the reprint's.
    expect(printer.health.jobs).toEqual({ printed: 1, not_printed: 1, uncertain: 1 });
  });

  it('paper running out mid-job: not surely printed, with paper_out', async () => {
    await setUp();
    sim.failAfterLines(10, 'paper_out');
    const result = await printer.print(ticketDocument(ticket));
    expect(result).toMatchObject({ outcome: 'uncertain', faults: ['paper_out'] });
    sim.loadPaper();
    expect((await printer.print(ticketDocument({ ...ticket, reprint: true }))).outcome).toBe('printed');
  });

  it('prints on a nearly empty roll and says so', async () => {
    await setUp();
    sim.setPaperNearEnd();
    expect(await printer.print(ticketDocument(ticket))).toMatchObject({ outcome: 'printed', paperNearEnd: true });
    expect(await printer.status()).toMatchObject({ ready: true, paperNearEnd: true });
  });

  it('unplugged: disconnected with a clear reason, no job; replugged: prints again', async () => {
    await setUp();
    expect((await printer.status()).ready).toBe(true);
    await sim.unplug();
    const gone = await until(() => printer.status(), (r) => r.faults[0] === 'disconnected');
    expect(gone).toMatchObject({ ready: false, faults: ['disconnected'] });
    expect(gone.detail).toMatch(/no such device — is the printer plugged in|went away/);
    expect((await printer.print(ticketDocument(ticket))).outcome).toBe('not_printed');
    await sim.replug();
    expect((await printer.status()).ready).toBe(true);
    expect((await printer.print(ticketDocument(ticket))).outcome).toBe('printed');
    expect(sim.pages).toHaveLength(1);
    expect(printer.health.reconnects).toBe(1);
  });

  it('a port with nothing answering: no_answer, not a hang', async () => {
    const pty: Pty = await createPty(dir, 'silent');
    extra.push(pty);
    sim = undefined as unknown as SimPrinter;
    printer = new EscPosPrinter({ path: pty.devicePath, transport: 'serial', statusTimeoutMs: 200 }, log);
    const t0 = Date.now();
    expect(await printer.status()).toMatchObject({ ready: false, faults: ['no_answer'] });
    expect((await printer.print(ticketDocument(ticket))).outcome).toBe('not_printed');
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('EscPosPrinter as a USB printer-class device (/dev/usb/lp0: a plain file descriptor)', () => {
  it('prints the ticket and reads its status through the same device file', async () => {
    await setUp({ transport: 'usblp' });
    const result = await printer.print(ticketDocument(ticket));
    expect(result.outcome).toBe('printed');
    expect(scan(sim.lastPage()!.qrPngs[0]!)).toBe(ticket.code);
    sim.setPaperOut();
    expect((await printer.print(ticketDocument(ticket))).faults).toEqual(['paper_out']);
    await sim.unplug();
    const gone = await until(() => printer.status(), (r) => r.faults[0] === 'disconnected');
    expect(gone.faults).toEqual(['disconnected']);
  });
});
