import { describe, expect, it } from 'vitest';
import { isStileError } from '@stile/config';
import {
  decodePaperStatus,
  decodeStatus,
  encodeDocument,
  formatFen,
  qrCode,
  receiptDocument,
  statusFaults,
  textWidth,
  ticketDocument,
  type ReceiptPrint,
  type TicketPrint,
} from '../src/protocol/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('encodeDocument', () => {
  it('turns a small document into exact ESC/POS bytes, sending a mode only when it changes', () => {
    const bytes = encodeDocument({
      widthChars: 32,
      blocks: [
        { kind: 'text', text: '入园', align: 'center', bold: true },
        { kind: 'text', text: 'Gate', align: 'center', bold: true },
        { kind: 'text', text: 'OK', size: { width: 2, height: 2 } },
        { kind: 'cut' },
      ],
    });
    expect(bytes).toEqual(
      Buffer.concat([
        hex('1b40'), // ESC @ initialise
        hex('1c26'), // FS & Chinese mode
        hex('1b6101'), // ESC a 1: centre
        hex('1b4501'), // ESC E 1: bold
        hex('c8eb d4b0 0a'), // "入园" in GB18030, LF
        hex('47617465 0a'), // "Gate", LF: same mode, no commands
        hex('1b6100'), // ESC a 0: left
        hex('1b4500'), // ESC E 0: bold off
        hex('1d2111'), // GS ! 0x11: double width, double height
        hex('4f4b 0a'), // "OK", LF
        hex('1d564100'), // GS V 65 0: feed to the cutter, full cut
      ]),
    );
  });

  it('pads a label/value row to the paper width counting a Chinese character as two columns', () => {
    const bytes = encodeDocument({ widthChars: 32, blocks: [{ kind: 'row', label: '票价 Price', value: '￥70.00' }] });
    const line = new TextDecoder('gb18030').decode(bytes.subarray(4, -1));
    expect(line).toBe(`票价 Price${' '.repeat(15)}￥70.00`);
    expect(textWidth(line)).toBe(32);
  });

  it('moves a value that does not fit onto its own right-aligned line', () => {
    const bytes = encodeDocument({ widthChars: 16, blocks: [{ kind: 'row', label: 'Order 订单', value: 'O-20260501-000123' }] });
    expect(bytes.subarray(4)).toEqual(Buffer.concat([Buffer.from('Order '), hex('b6a9 b5a5 0a'), hex('1b6102'), Buffer.from('O-20260501-000123\n')]));
  });

  it('turns control characters in text into spaces, so text cannot smuggle commands', () => {
    const bytes = encodeDocument({ blocks: [{ kind: 'text', text: 'a\x1d\x56\x41b\nc' }] });
    expect(bytes.subarray(4)).toEqual(Buffer.from('a VAb c\n'));
  });
});

describe('QR code (GS ( k)', () => {
  it('selects model 2, sets module size and error correction, stores and prints', () => {
    expect(qrCode('ST1:ABCDEFGH', { moduleSize: 6, ecc: 'M' })).toEqual(
      Buffer.concat([
        hex('1d286b 0400 31 41 32 00'), // fn 65 (function 165): model 2
        hex('1d286b 0300 31 43 06'), // fn 67 (167): module 6 dots
        hex('1d286b 0300 31 45 31'), // fn 69 (169): level M
        hex('1d286b 0f00 31 50 30'), // fn 80 (180): store, pL pH = 12 data bytes + 3
        Buffer.from('ST1:ABCDEFGH'),
        hex('1d286b 0300 31 51 30'), // fn 81 (181): print
      ]),
    );
  });

  it('computes pL pH for data longer than 252 bytes', () => {
    // model (9 bytes) + size (8) + ecc (8), then GS ( k pL pH of the store function
    const store = (data: string) => qrCode(data).subarray(25 + 3, 25 + 5);
    expect(store('A'.repeat(300))).toEqual(hex('2f01')); // 303 = 0x012f
    expect(store('A'.repeat(7089))).toEqual(hex('b41b')); // 7092 = 0x1bb4, the most a printer stores
  });

  it('refuses empty data, data past 7089 bytes and a bad module size', () => {
    for (const bad of [() => qrCode(''), () => qrCode('A'.repeat(7090)), () => qrCode('x', { moduleSize: 17 })]) {
      expect(bad).toThrow();
      try {
        bad();
      } catch (err) {
        expect(isStileError(err, 'USAGE')).toBe(true);
      }
    }
  });
});

describe('status', () => {
  it('decodes an idle printer as online with no faults', () => {
    const s = decodeStatus({ 1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12 })!;
    expect(s).toEqual({ online: true, paperOut: false, paperNearEnd: false, coverOpen: false, cutterError: false, mechanicalError: false, unrecoverableError: false, autoRecoverableError: false });
    expect(statusFaults(s)).toEqual([]);
  });

  it('decodes paper out, near end, cover open and a cutter jam from the DLE EOT bits', () => {
    // n=1 0x1a offline; n=2 0x32 stopped at paper end; n=4 0x7e near end (0x0c) + roll end (0x60)
    const paperOut = decodeStatus({ 1: 0x1a, 2: 0x32, 3: 0x12, 4: 0x7e })!;
    expect(paperOut).toMatchObject({ online: false, paperOut: true, paperNearEnd: true });
    expect(statusFaults(paperOut)).toEqual(['paper_out']);
    // n=2 0x16 cover open
    expect(statusFaults(decodeStatus({ 1: 0x1a, 2: 0x16, 3: 0x12, 4: 0x12 })!)).toEqual(['cover_open']);
    // n=2 0x52 error; n=3 0x1a autocutter error
    expect(statusFaults(decodeStatus({ 1: 0x1a, 2: 0x52, 3: 0x1a, 4: 0x12 })!)).toEqual(['cutter_jam']);
    // n=3 0x16 mechanical error, 0x52 head too hot
    expect(statusFaults(decodeStatus({ 1: 0x1a, 2: 0x52, 3: 0x16, 4: 0x12 })!)).toEqual(['paper_jam']);
    expect(statusFaults(decodeStatus({ 1: 0x1a, 2: 0x52, 3: 0x52, 4: 0x12 })!)).toEqual(['overheated']);
    // near end alone is a warning, not a fault
    const near = decodeStatus({ 1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1e })!;
    expect([near.paperNearEnd, statusFaults(near)]).toEqual([true, []]);
    // offline with no cause given
    expect(statusFaults(decodeStatus({ 1: 0x1a, 2: 0x12, 3: 0x12, 4: 0x12 })!)).toEqual(['offline']);
  });

  it('refuses a byte without the fixed bits (0xx1xx10): noise, XOFF, a GS r answer', () => {
    for (const b of [0x00, 0xff, 0x13, 0x0c, 0x92]) expect(decodeStatus({ 1: 0x12, 2: b, 3: 0x12, 4: 0x12 })).toBeNull();
  });

  it('decodes the GS r 1 paper sensor answer', () => {
    expect(decodePaperStatus(0x00)).toEqual({ paperOut: false, paperNearEnd: false });
    expect(decodePaperStatus(0x0f)).toEqual({ paperOut: true, paperNearEnd: true });
  });
});

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

describe('layouts', () => {
  it('formats fen as yuan with the full-width yen sign GBK can print', () => {
    expect([formatFen(7000), formatFen(5), formatFen(123456)]).toEqual(['￥70.00', '￥0.05', '￥1234.56']);
  });

  it('lays out a ticket: type, date, slot, persons, price, the code as QR, the bilingual guide, ids', () => {
    const doc = ticketDocument(ticket);
    const rows = Object.fromEntries(doc.blocks.flatMap((b) => (b.kind === 'row' ? [[b.label, b.value]] : [])));
    expect(rows).toMatchObject({ '票种 Type': '成人票 Adult', '日期 Date': '2026-05-01', '时段 Slot': '09:00-10:00', '人数 Persons': '2', '票价 Price': '￥70.00', '票号 Ticket': 'T20260501A0001' });
    expect(doc.blocks).toContainEqual({ kind: 'qr', data: 'ST1:T20260501A0001', moduleSize: 6, ecc: 'M' });
    expect(doc.blocks).toContainEqual(expect.objectContaining({ kind: 'bilingual', zh: '请在闸机扫码入园', en: 'Scan at the gate' }));
    expect(doc.blocks.at(-1)).toEqual({ kind: 'cut' });
    expect(ticketDocument({ ...ticket, slot: null }).blocks).toContainEqual({ kind: 'row', label: '时段 Slot', value: '全天 All day' });
  });

  it('refuses a ticket whose code the gate could not read, or with impossible values', () => {
    for (const bad of [{ code: 'T20260501A0001' }, { code: ' ST1:T20260501A0001' }, { persons: 0 }, { priceFen: 12.5 }, { visitDate: '1.5.2026' }]) {
      expect(() => ticketDocument({ ...ticket, ...bad })).toThrow(/ST1\/ST2|persons|priceFen|visitDate/);
    }
  });

  const receipt: ReceiptPrint = {
    site: ticket.site,
    kioskId: 'kiosk-1',
    orderId: 'K1-20260501-0001',
    items: [
      { name: { zh: '成人票', en: 'Adult' }, quantity: 2, unitFen: 3500 },
      { name: { zh: '儿童票', en: 'Child' }, quantity: 1, unitFen: 1500 },
    ],
    totalFen: 8500,
    paidBy: 'cash',
    paidFen: 10000,
    changeFen: 1500,
    printedAt: '2026-05-01 08:42',
  };

  it('lays out a cash receipt with items, total, received and change', () => {
    const rows = receiptDocument(receipt).blocks.flatMap((b) => (b.kind === 'row' ? [`${b.label}=${b.value}`] : []));
    expect(rows).toEqual([
      '成人票 Adult x2=￥70.00',
      '儿童票 Child x1=￥15.00',
      '合计 Total=￥85.00',
      '支付 Paid by=现金 Cash',
      '收款 Received=￥100.00',
      '找零 Change=￥15.00',
      '订单 Order=K1-20260501-0001',
      '售票机 Kiosk=kiosk-1',
      '时间 Time=2026-05-01 08:42',
    ]);
    const wechat = receiptDocument({ ...receipt, paidBy: 'wechat', paidFen: 8500, changeFen: 0 }).blocks;
    expect(wechat.some((b) => b.kind === 'row' && b.label.startsWith('找零'))).toBe(false);
  });

  it('refuses a receipt that does not add up to the fen', () => {
    expect(() => receiptDocument({ ...receipt, totalFen: 8400 })).toThrow(/add up to 8500/);
    expect(() => receiptDocument({ ...receipt, changeFen: 1400 })).toThrow(/change 1400/);
    expect(() => receiptDocument({ ...receipt, paidBy: 'alipay' })).toThrow(/change only for cash/);
  });

  it('keeps every line of both layouts within 58 mm paper (32 columns)', () => {
    const long = { ...ticket, ticketType: { zh: '老年优待票', en: 'Senior concession' }, orderId: 'K1-20260501-000000123' };
    for (const doc of [ticketDocument(long, 32), receiptDocument(receipt, 32)]) {
      for (const block of doc.blocks) {
        if (block.kind === 'row') {
          const oneLine = textWidth(block.label) + 1 + textWidth(block.value) <= 32;
          expect(oneLine || (textWidth(block.label) <= 32 && textWidth(block.value) <= 32), `${block.label} ${block.value}`).toBe(true);
        }
        if (block.kind === 'text') expect(textWidth(block.text) * (block.size?.width ?? 1)).toBeLessThanOrEqual(32);
        if (block.kind === 'bilingual') expect(Math.max(textWidth(block.zh), textWidth(block.en))).toBeLessThanOrEqual(32);
      }
    }
  });
});
