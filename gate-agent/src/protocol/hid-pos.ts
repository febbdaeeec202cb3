/**
 * USB HID POS barcode scanners (HID usage page 0x8C, "Bar Code Scanner"), read as raw input
 * reports (node-hid / hidraw hand us the report including its id). Pure: reports in, scans out.
 *
 * Input report as Honeywell, Zebra and the Chinese OEM engines send it (64 bytes typical):
 *
 *   [0]      report id, 0x02
 *   [1]      number of data bytes in this report (0..56 for a 64-byte report)
 *   [2..4]   AIM symbology identifier, e.g. "]Q1" (QR), or 00 00 00 if disabled
 *   [5..]    data bytes, zero-padded
 *   [-3,-2]  vendor symbology bytes (ignored)
 *   [-1]     bit 0: more data follows in the next report
 *
 * A code longer than one report spans several; we concatenate until a report without the
 * more-bit. A malformed report inside such a sequence poisons the whole sequence: emitting the
 * surviving pieces would produce a plausible but wrong ticket code.
 *
 * Text is decoded as UTF-8. Some engines ship configured for GB18030 (they "support Chinese");
 * those bytes fail the UTF-8 check and come back as `bad_encoding` with the raw bytes, so the
 * caller can log them and the technician can reconfigure the scanner.
 */
import { isUtf8 } from 'node:buffer';

export const HID_POS_REPORT_ID = 0x02;
/** Bytes that are not data: id, length, 3 AIM, 2 vendor, flags. */
const OVERHEAD = 8;
const DATA_OFFSET = 5;
const MORE = 0x01;
export const HID_POS_DEFAULT_MAX = 4096;

export type HidPosDiscardReason = 'bad_report_id' | 'bad_length' | 'too_long' | 'short_report' | 'truncated';
export type HidPosResult =
  | { type: 'scan'; text: string; aim: string | null }
  /** length: bytes of the lost code (data bytes, or whole reports where the length was unreadable). */
  | { type: 'discarded'; reason: HidPosDiscardReason; length: number }
  | { type: 'discarded'; reason: 'bad_encoding'; bytes: Buffer; aim: string | null };

function aimOf(report: Buffer): string | null {
  const a = report[2] ?? 0;
  const b = report[3] ?? 0;
  const c = report[4] ?? 0;
  return a === 0 && b === 0 && c === 0 ? null : String.fromCharCode(a, b, c);
}

export class HidPosAssembler {
  private parts: Buffer[] = [];
  private total = 0;
  private aim: string | null = null;
  private inSequence = false;
  /** Set when the sequence in progress is already lost; reported once, at its last report. */
  private dropping: 'too_long' | 'bad_length' | 'short_report' | null = null;

  constructor(private readonly maxLength = HID_POS_DEFAULT_MAX) {}

  push(report: Buffer): HidPosResult[] {
    if (report.length > 0 && report[0] !== HID_POS_REPORT_ID) {
      // Another collection's report (e.g. a status report): not ours, and not part of the code.
      return [{ type: 'discarded', reason: 'bad_report_id', length: report.length }];
    }
    // Too short to hold the flags byte where we expect it: whether more follows is unknown.
    if (report.length <= OVERHEAD) return this.malformed('short_report', report, null);
    const more = ((report[report.length - 1] ?? 0) & MORE) !== 0;
    const n = report[1] ?? 0;
    if (n > report.length - OVERHEAD) return this.malformed('bad_length', report, more);

    if (!this.inSequence) {
      this.inSequence = true;
      this.aim = aimOf(report);
    }
    this.total += n;
    if (this.dropping === null && this.total > this.maxLength) {
      this.dropping = 'too_long';
      this.parts = [];
    }
    if (this.dropping === null && n > 0) this.parts.push(report.subarray(DATA_OFFSET, DATA_OFFSET + n));
    return more ? [] : this.finish();
  }

  /** End of input or timeout mid-sequence: report what was pending. */
  flush(): HidPosResult[] {
    if (!this.inSequence) return [];
    const length = this.total;
    const reason = this.dropping ?? 'truncated';
    this.reset();
    return [{ type: 'discarded', reason, length }];
  }

  /** `more` is null when the report is too mangled to read its flags. */
  private malformed(reason: 'bad_length' | 'short_report', report: Buffer, more: boolean | null): HidPosResult[] {
    if (!this.inSequence && more !== true) return [{ type: 'discarded', reason, length: report.length }];
    // Inside a sequence (or starting one): the code is lost; drop up to its final report.
    this.inSequence = true;
    this.dropping ??= reason;
    this.total += report.length;
    this.parts = [];
    return more === false ? this.finish() : [];
  }

  private finish(): HidPosResult[] {
    const { dropping, total, aim } = this;
    const data = dropping === null ? Buffer.concat(this.parts) : null;
    this.reset();
    if (data === null) return [{ type: 'discarded', reason: dropping ?? 'truncated', length: total }];
    if (data.length === 0) return []; // idle report, no code
    if (!isUtf8(data)) return [{ type: 'discarded', reason: 'bad_encoding', bytes: data, aim }];
    return [{ type: 'scan', text: data.toString('utf8'), aim }];
  }

  private reset(): void {
    this.parts = [];
    this.total = 0;
    this.aim = null;
    this.inSequence = false;
    this.dropping = null;
  }
}

export interface HidPosEncodeOptions {
  /** Three-character AIM id such as "]Q1"; null or omitted sends zeros. */
  aim?: string | null;
  reportSize?: number;
}

/** Scanner side, for hardware-sim and tests: the reports a scanner sends for `text`. */
export function encodeHidPosReports(text: string, opts: HidPosEncodeOptions = {}): Buffer[] {
  const reportSize = opts.reportSize ?? 64;
  const capacity = reportSize - OVERHEAD;
  if (!Number.isInteger(reportSize) || capacity < 1 || capacity > 0xff) throw new RangeError(`bad HID POS report size ${reportSize}`);
  const aim = opts.aim ?? null;
  if (aim !== null && !/^[\x20-\x7e]{3}$/.test(aim)) throw new RangeError(`AIM id must be 3 ASCII characters, got ${JSON.stringify(aim)}`);
  const data = Buffer.from(text, 'utf8');
  const reports: Buffer[] = [];
  for (let off = 0; off < data.length || reports.length === 0; off += capacity) {
    const n = Math.min(capacity, data.length - off);
    const r = Buffer.alloc(reportSize);
    r[0] = HID_POS_REPORT_ID;
    r[1] = n;
    if (aim !== null) r.write(aim, 2, 3, 'latin1');
    data.copy(r, DATA_OFFSET, off, off + n);
    if (off + n < data.length) r[reportSize - 1] = MORE;
    reports.push(r);
  }
  return reports;
}
