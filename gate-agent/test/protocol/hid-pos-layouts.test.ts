import { describe, expect, it } from 'vitest';
import { HidPosAssembler, encodeHidPosReports, type HidPosResult } from '../../src/protocol/hid-pos.js';
import { HID_POS_LAYOUTS, LAYOUTS, capacityOf, readHidPosReport } from '../../src/protocol/hid-pos-layouts.js';
import { layoutFromDescriptor } from '../../src/protocol/hid-descriptor.js';
import { HONEYWELL_1602G_REVINF, HONEYWELL_1602G_REVINF_ACK, NEWLAND_FM30_SERIAL_REPLY, NEWLAND_FM30_TRIGGER_REPLY } from '../fixtures/hid-pos-captures.js';

/** A 64-byte report: the given head, zero padding, and the given bytes at the end. */
function report(head: number[], tail: number[] = [0x00]): Buffer {
  const r = Buffer.alloc(64);
  Buffer.from(head).copy(r);
  Buffer.from(tail).copy(r, 64 - tail.length);
  return r;
}
const ascii = (s: string) => [...Buffer.from(s, 'latin1')];
const texts = (out: HidPosResult[]) => out.map((r) => (r.type === 'scan' ? r.text : r.reason));

const REVINF_TEXT =
  'Product Name: Voyager 1602g\r\nBoot Revision: : 8992\r\nSoftware Part Number: CW000082BBA\r\nSoftware Revision: $ProjectRevision: 16345 \r\n' +
  'Serial Number: 15232B1F0C\r\nSupported IF: Bluetooth\r\nPCB Assembly ID: 000000\r\nEngine Firmware Type: N/A   Revision: N/A   Serial Number: N/A   Checksum: N/A\r\n';

describe('Honeywell layout: the Honeywell 1602g capture (python_hon_usbhid README)', () => {
  const reports = HONEYWELL_1602G_REVINF.map((r) => Buffer.from(r));

  it('is six 64-byte reports: 5 × 56 data bytes with the more-bit, then 9 without', () => {
    expect(reports.map((r) => [r.length, r[1], r[63]])).toEqual([[64, 56, 1], [64, 56, 1], [64, 56, 1], [64, 56, 1], [64, 56, 1], [64, 9, 0]]);
  });

  it('decodes to the 289-byte REVINF text with AIM ]X0, and the acknowledgement after it', () => {
    const a = new HidPosAssembler({ layout: 'honeywell' });
    const out = reports.flatMap((r, i) => a.push(r, i * 8));
    expect(out).toEqual([{ type: 'scan', text: REVINF_TEXT, aim: ']X0' }]);
    expect(REVINF_TEXT).toHaveLength(289);
    expect(a.push(Buffer.from(HONEYWELL_1602G_REVINF_ACK))).toEqual([{ type: 'scan', text: 'REVINF\x06.', aim: ']Z6' }]);
  });

  it('the encoder reproduces the capture byte for byte (symbology byte "?" = 63)', () => {
    expect(encodeHidPosReports(REVINF_TEXT, { layout: 'honeywell', aim: ']X0', symbology: 63 })).toEqual(reports);
  });

  it('read per report: length, AIM, vendor symbology, more-bit', () => {
    expect(readHidPosReport(reports[5]!, LAYOUTS.honeywell)).toEqual({ reportId: 2, length: 9, aim: ']X0', data: Buffer.from('um: N/A\r\n'), symbology: 63, more: false });
  });
});

describe('Newland layout: the FM30 report from the Newland wiki', () => {
  it('reads the 14 data bytes from byte 2, no AIM slot; the serial number is data bytes 4..11', () => {
    const f = readHidPosReport(NEWLAND_FM30_SERIAL_REPLY, LAYOUTS.newland)!;
    expect(f).toMatchObject({ reportId: 0x02, length: 14, aim: null, symbology: 0, more: false });
    expect(f.data).toEqual(Buffer.from('0200000845 4c303330303935 2551'.replace(/ /g, ''), 'hex'));
    expect(f.data.toString('latin1', 4, 12)).toBe('EL030095');
  });

  it('is a command reply, counted as such, not a scan', () => {
    const a = new HidPosAssembler({ layout: 'newland' });
    expect(a.push(NEWLAND_FM30_SERIAL_REPLY)).toEqual([{ type: 'discarded', reason: 'command_reply', bytes: readHidPosReport(NEWLAND_FM30_SERIAL_REPLY, LAYOUTS.newland)!.data, aim: null }]);
    expect(texts(a.push(NEWLAND_FM30_TRIGGER_REPLY))).toEqual(['command_reply']);
  });

  it('the encoder reproduces it byte for byte', () => {
    const data = readHidPosReport(NEWLAND_FM30_SERIAL_REPLY, LAYOUTS.newland)!.data;
    expect(encodeHidPosReports(data, { layout: 'newland' })).toEqual([NEWLAND_FM30_SERIAL_REPLY]);
  });

  it('read with the Honeywell layout (the old decoder) it loses three bytes into the "AIM" and gains padding', () => {
    const f = readHidPosReport(NEWLAND_FM30_SERIAL_REPLY, LAYOUTS.honeywell)!;
    expect(f.aim).toBe('\x02\x00\x00');
    expect(f.data.toString('latin1')).toBe('\bEL030095%Q\0\0\0');
  });
});

// Constructed from the vendor-documented layouts (hid-pos-layouts.ts), not captured from a scanner.
const NEWLAND_ST1 = report(
  [
    0x02, //                                   report id
    0x10, //                                   16 data bytes
    ...ascii('ST1:Tk7Pq2M9xWa3'), //           data from byte 2: no AIM slot
  ], //                                      … zero padding, bytes 58–61 reserved
  [0x51, 0x00], //                           byte 62: Newland symbology (here 0x51), byte 63 = 00: last report
);
const EXTRA_BYTE_ST1 = report(
  [
    0x02, //                                   report id
    0x10, //                                   16 data bytes
    0x00, //                                   the extra byte before the AIM id
    0x5d, 0x51, 0x31, //                       AIM "]Q1" at bytes 3–5
    ...ascii('ST1:Tk7Pq2M9xWa3'), //           data from byte 6
  ],
  [0x00, 0x00, 0x00], //                     61 symbology, 62 reserved, 63 = 00: last report
);
const HONEYWELL_EAN13 = report(
  [
    0x02, //                                   report id
    0x0d, //                                   13 data bytes
    0x5d, 0x45, 0x30, //                       AIM "]E0": EAN-13
    ...ascii('6901234567892'), //              data from byte 5
  ],
  [0x64, 0x00, 0x00], //                     61: Honeywell symbology "d" (EAN-13), 62 reserved, 63: last report
);

describe('each layout decodes its own reports, and only its own', () => {
  it('newland: ST1 code straight after the length', () => {
    expect(new HidPosAssembler({ layout: 'newland' }).push(NEWLAND_ST1)).toEqual([{ type: 'scan', text: 'ST1:Tk7Pq2M9xWa3', aim: null }]);
    // What the Honeywell-only decoder made of it (issue #14): three data bytes taken for an AIM id.
    expect(new HidPosAssembler({ layout: 'honeywell' }).push(NEWLAND_ST1)).toEqual([{ type: 'scan', text: ':Tk7Pq2M9xWa3\0\0\0', aim: 'ST1' }]);
  });

  it('extra-byte: AIM and data one byte later', () => {
    expect(new HidPosAssembler({ layout: 'extra-byte' }).push(EXTRA_BYTE_ST1)).toEqual([{ type: 'scan', text: 'ST1:Tk7Pq2M9xWa3', aim: ']Q1' }]);
    // The Honeywell reading: a byte inserted in front, the last one dropped.
    expect(texts(new HidPosAssembler({ layout: 'honeywell' }).push(EXTRA_BYTE_ST1))).toEqual(['1ST1:Tk7Pq2M9xWa']);
  });

  it('honeywell: an EAN-13 with its AIM id and symbology byte', () => {
    expect(new HidPosAssembler({ layout: 'honeywell' }).push(HONEYWELL_EAN13)).toEqual([{ type: 'scan', text: '6901234567892', aim: ']E0' }]);
    expect(readHidPosReport(HONEYWELL_EAN13, LAYOUTS.honeywell)?.symbology).toBe(0x64);
    expect(encodeHidPosReports('6901234567892', { aim: ']E0', symbology: 0x64 })).toEqual([HONEYWELL_EAN13]);
  });

  it('the encoder builds the hand-made vectors', () => {
    expect(encodeHidPosReports('ST1:Tk7Pq2M9xWa3', { layout: 'newland', symbology: 0x51 })).toEqual([NEWLAND_ST1]);
    expect(encodeHidPosReports('ST1:Tk7Pq2M9xWa3', { layout: 'extra-byte', aim: ']Q1' })).toEqual([EXTRA_BYTE_ST1]);
  });
});

describe.each(HID_POS_LAYOUTS)('%s layout', (layout) => {
  it('a 64-byte report carries its capacity; a long code spans reports with the more-bit', () => {
    const cap = capacityOf(LAYOUTS[layout], 64);
    expect(cap).toBe(layout === 'extra-byte' ? 55 : 56);
    const text = `ST2:${'A1b2'.repeat(40)}.${'Zz'.repeat(43)}`; // 251 bytes, as a signed offline ticket runs
    const reports = encodeHidPosReports(text, { layout, aim: ']Q1' });
    expect(reports.map((r) => r[1])).toEqual([cap, cap, cap, cap, text.length - 4 * cap]);
    expect(reports.map((r) => r[63])).toEqual([1, 1, 1, 1, 0]);
    const a = new HidPosAssembler({ layout });
    expect(reports.flatMap((r, i) => a.push(r, i))).toEqual([{ type: 'scan', text, aim: layout === 'newland' ? null : ']Q1' }]);
  });

  it('UTF-8 split inside a character across reports', () => {
    const text = '票号：黄山-0042';
    const size = LAYOUTS[layout].dataAt + LAYOUTS[layout].tail + 4; // 4 data bytes per report
    const reports = encodeHidPosReports(text, { layout, reportSize: size });
    expect(reports).toHaveLength(5); // 20 bytes; report 1 ends after the first byte of 号
    expect(readHidPosReport(reports[0]!, LAYOUTS[layout])!.data).toEqual(Buffer.from([0xe7, 0xa5, 0xa8, 0xe5]));
    const a = new HidPosAssembler({ layout });
    expect(reports.flatMap((r) => a.push(r))).toEqual([{ type: 'scan', text, aim: null }]);
  });

  it('GBK refused with the reason and the fix; other bytes as bad_encoding', () => {
    const gbk = Buffer.from([0xc6, 0xb1, 0xba, 0xc5]); // 票号 in GBK/GB18030
    expect(new HidPosAssembler({ layout }).push(encodeHidPosReports(gbk, { layout })[0]!)).toEqual([{ type: 'discarded', reason: 'gbk_encoding', bytes: gbk, aim: null }]);
    const junk = Buffer.from([0x41, 0xff, 0xfe]);
    expect(texts(new HidPosAssembler({ layout }).push(encodeHidPosReports(junk, { layout })[0]!))).toEqual(['bad_encoding']);
  });

  it('a code whose next report is late is dropped as gap_timeout, and the next scan starts clean', () => {
    const a = new HidPosAssembler({ layout, gapMs: 100 });
    const [first] = encodeHidPosReports('x'.repeat(80), { layout });
    const next = encodeHidPosReports('ST1:NEXTSCAN', { layout })[0]!;
    expect(a.push(first!, 1000)).toEqual([]);
    expect(a.expire(1099)).toEqual([]);
    expect(a.push(next, 1250)).toEqual([
      { type: 'discarded', reason: 'gap_timeout', length: capacityOf(LAYOUTS[layout], 64) },
      { type: 'scan', text: 'ST1:NEXTSCAN', aim: null },
    ]);
    // The timer path: nothing arrives at all.
    expect(a.push(first!, 2000)).toEqual([]);
    expect(texts(a.expire(2100))).toEqual(['gap_timeout']);
    expect(a.pending).toBe(false);
  });

  it('keeps the raw reports of each code when asked (gatectl scan)', () => {
    const reports = encodeHidPosReports('y'.repeat(70), { layout });
    const a = new HidPosAssembler({ layout, keepReports: true });
    const out = reports.flatMap((r) => a.push(r));
    expect(out).toHaveLength(1);
    expect(out[0]!.reports).toEqual(reports);
  });
});

/** HID short items: prefix (tag << 4 | type << 2 | size) and a little-endian value. */
const item = (tag: number, type: number, value: number) => (value > 0xff ? [(tag << 4) | (type << 2) | 2, value & 0xff, value >> 8] : [(tag << 4) | (type << 2) | 1, value]);
const G = { page: (v: number) => item(0, 1, v), size: (v: number) => item(7, 1, v), count: (v: number) => item(9, 1, v), id: (v: number) => item(8, 1, v) };
const usage = (v: number) => item(0, 2, v);
const input = item(8, 0, 0x02);
const collection = item(10, 0, 0x01);
const end = [0xc0];
/**
 * Report descriptors built from the HID POS Usage Tables 1.02 (usage page 0x8C: 0xFB–0xFD
 * symbology identifier 1–3, 0xFE decoded data, 0xFF decode data continued). Constructed for
 * the test, not read from a scanner; the report id 2 collection is what each layout implies.
 */
function posDescriptor(fields: { usage: number | null; count: number }[]): Buffer {
  const body = fields.flatMap((f) => [...(f.usage === null ? G.page(0xff00) : G.page(0x8c)), ...usage(f.usage ?? 0x01), ...G.count(f.count), ...input]);
  return Buffer.from([...G.page(0x8c), ...usage(0x02), ...collection, ...G.id(0x02), ...G.size(8), ...usage(0x12), ...collection, ...body, ...end, ...end]);
}
const lengthField = { usage: null, count: 1 }; // vendor byte array: the length

describe('layoutFromDescriptor', () => {
  it('settles the layout where the descriptor names the AIM id and data fields', () => {
    const sym = [0xfb, 0xfc, 0xfd].map((u) => ({ usage: u, count: 1 }));
    expect(layoutFromDescriptor(posDescriptor([lengthField, ...sym, { usage: 0xfe, count: 56 }, { usage: null, count: 3 }]))).toBe('honeywell');
    expect(layoutFromDescriptor(posDescriptor([lengthField, { usage: null, count: 1 }, ...sym, { usage: 0xfe, count: 55 }, { usage: null, count: 3 }]))).toBe('extra-byte');
    expect(layoutFromDescriptor(posDescriptor([lengthField, { usage: 0xfe, count: 56 }, { usage: null, count: 6 }]))).toBe('newland');
  });

  it('does not guess when the report is one vendor-defined array, or empty', () => {
    expect(layoutFromDescriptor(posDescriptor([{ usage: null, count: 63 }]))).toBeNull();
    expect(layoutFromDescriptor(Buffer.alloc(0))).toBeNull();
    expect(layoutFromDescriptor(Buffer.from([0xfe, 0x05, 0x00, 1, 2, 3, 4, 5, 0x06]))).toBeNull(); // a long item, then a truncated one
  });
});
