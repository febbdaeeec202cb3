import { describe, expect, it } from 'vitest';
import { HidPosAssembler, encodeHidPosReports, type HidPosResult } from '../../src/protocol/hid-pos.js';

/** A 64-byte report: the given head, zero padding, and the flags byte last. */
function report(head: number[], flags = 0x00, size = 64): Buffer {
  const r = Buffer.alloc(size);
  Buffer.from(head).copy(r);
  r[size - 1] = flags;
  return r;
}

const QR_REPORT = report([
  0x02, //                                   report id
  0x0b, //                                   11 data bytes
  0x5d, 0x51, 0x31, //                       AIM "]Q1": QR Code, model 2
  0x53, 0x54, 0x31, 0x3a, 0x41, 0x42, 0x43, 0x2d, 0x30, 0x30, 0x31, // "ST1:ABC-001"
]); //                                     … zero padding, byte 63 = 00: last report

function scans(out: HidPosResult[]): string[] {
  return out.map((r) => (r.type === 'scan' ? r.text : `${r.reason}`));
}

describe('HidPosAssembler', () => {
  it('decodes a single-report QR code with its AIM id', () => {
    expect(new HidPosAssembler().push(QR_REPORT)).toEqual([{ type: 'scan', text: 'ST1:ABC-001', aim: ']Q1' }]);
  });

  it('treats a zero AIM id as absent', () => {
    const r = Buffer.from(QR_REPORT);
    r.fill(0, 2, 5);
    expect(new HidPosAssembler().push(r)).toEqual([{ type: 'scan', text: 'ST1:ABC-001', aim: null }]);
  });

  it('joins a code that spans several reports, taking the AIM id of the first', () => {
    const text = 'https://t.example.cn/ticket?id=' + 'A1b2'.repeat(30); // 151 bytes: 56 + 56 + 39
    const reports = encodeHidPosReports(text, { aim: ']Q1' });
    expect(reports.map((r) => [r[1], r[63]])).toEqual([[56, 1], [56, 1], [39, 0]]); // [length, more-bit]
    const a = new HidPosAssembler();
    expect(a.push(reports[0] as Buffer)).toEqual([]);
    expect(a.push(reports[1] as Buffer)).toEqual([]);
    expect(a.push(reports[2] as Buffer)).toEqual([{ type: 'scan', text, aim: ']Q1' }]);
  });

  it('decodes UTF-8 split inside a character across reports', () => {
    const text = '票号：黄山-0042';
    const reports = encodeHidPosReports(text, { reportSize: 12 }); // 4 data bytes per report
    const a = new HidPosAssembler();
    expect(reports.flatMap((r) => a.push(r))).toEqual([{ type: 'scan', text, aim: null }]);
  });

  it('returns GB18030 bytes as gbk_encoding with the raw bytes (the fix: switch the scanner to UTF-8)', () => {
    const gb = Buffer.from([0xc6, 0xb1, 0xba, 0xc5]); // 票号 in GB18030
    const r = report([0x02, 0x04, 0x00, 0x00, 0x00, ...gb]);
    expect(new HidPosAssembler().push(r)).toEqual([{ type: 'discarded', reason: 'gbk_encoding', bytes: gb, aim: null }]);
  });

  it('reports another collection’s report without disturbing a code in progress', () => {
    const reports = encodeHidPosReports('x'.repeat(100));
    const a = new HidPosAssembler();
    const out = [...a.push(reports[0] as Buffer), ...a.push(report([0x01, 0x05])), ...a.push(reports[1] as Buffer)];
    expect(out).toEqual([
      { type: 'discarded', reason: 'bad_report_id', length: 64 },
      { type: 'scan', text: 'x'.repeat(100), aim: null },
    ]);
  });

  it('rejects a length larger than the report can hold', () => {
    expect(new HidPosAssembler().push(report([0x02, 57]))).toEqual([{ type: 'discarded', reason: 'bad_length', length: 64 }]);
  });

  it('drops the whole code when one of its reports is malformed, then decodes the next', () => {
    const [first, , last] = encodeHidPosReports('y'.repeat(150));
    const a = new HidPosAssembler();
    const out = [
      ...a.push(first as Buffer),
      ...a.push(report([0x02, 200], 0x01)), // middle report with an impossible length
      ...a.push(last as Buffer),
      ...a.push(QR_REPORT),
    ];
    expect(scans(out)).toEqual(['bad_length', 'ST1:ABC-001']);
  });

  it('treats a short report inside a code as poisoning it up to the final report', () => {
    const [first, second] = encodeHidPosReports('z'.repeat(100));
    const a = new HidPosAssembler();
    const out = [...a.push(first as Buffer), ...a.push(Buffer.from([0x02, 0x01, 0, 0])), ...a.push(second as Buffer), ...a.push(QR_REPORT)];
    expect(scans(out)).toEqual(['short_report', 'ST1:ABC-001']);
    expect(new HidPosAssembler().push(Buffer.alloc(0))).toEqual([{ type: 'discarded', reason: 'short_report', length: 0 }]);
  });

  it('discards codes over the cap and recovers', () => {
    const a = new HidPosAssembler(100);
    const out = [...encodeHidPosReports('w'.repeat(101)), QR_REPORT].flatMap((r) => a.push(r));
    expect(out).toEqual([
      { type: 'discarded', reason: 'too_long', length: 101 },
      { type: 'scan', text: 'ST1:ABC-001', aim: ']Q1' },
    ]);
  });

  it('ignores an empty report and reports a dangling sequence on flush', () => {
    const a = new HidPosAssembler();
    expect(a.push(report([0x02, 0x00]))).toEqual([]);
    expect(a.push(encodeHidPosReports('v'.repeat(60))[0] as Buffer)).toEqual([]);
    expect(a.flush()).toEqual([{ type: 'discarded', reason: 'truncated', length: 56 }]);
    expect(a.flush()).toEqual([]);
  });
});

describe('encodeHidPosReports', () => {
  it('builds the reference report', () => {
    expect(encodeHidPosReports('ST1:ABC-001', { aim: ']Q1' })).toEqual([QR_REPORT]);
  });

  it('sends one empty report for an empty code', () => {
    expect(encodeHidPosReports('')).toEqual([report([0x02, 0x00])]);
  });

  it('validates its options', () => {
    expect(() => encodeHidPosReports('a', { aim: ']Q' })).toThrow(RangeError);
    expect(() => encodeHidPosReports('a', { reportSize: 8 })).toThrow(RangeError);
  });
});
