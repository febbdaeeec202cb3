/**
 * USB HID POS barcode scanners (HID usage page 0x8C, "Bar Code Scanner"), read as raw input
 * reports (node-hid / hidraw hand us the report including its id). Pure: reports in, scans out.
 *
 * Where length, AIM id, data and the more-data flag sit depends on the scanner family; see
 * hid-pos-layouts.ts. Every layout has report id 0x02, the data length in byte 1 and the
 * more-data flag in bit 0 of the last byte.
 *
 * A code longer than one report spans several; we concatenate until a report without the
 * more-bit. A malformed report inside such a sequence poisons the whole sequence: emitting the
 * surviving pieces would produce a plausible but wrong ticket code. So does a gap: when the
 * next report of a code does not come within `gapMs` (a report lost on the bus, a scanner
 * reset), the fragment is discarded as `gap_timeout` instead of being glued onto the next scan.
 * Pass each report's arrival time to `push`, and call `expire(now)` from a timer.
 *
 * Text is decoded as UTF-8, across report boundaries (a character may be split between two
 * reports). Some engines ship configured for GBK/GB18030 (they "support Chinese"); those bytes
 * come back as `gbk_encoding` with the raw bytes and the fix, other non-UTF-8 bytes as
 * `bad_encoding`.
 */
import { isUtf8 } from 'node:buffer';
import { HID_POS_MORE, HID_POS_REPORT_ID, LAYOUTS, aimOf, capacityOf, type HidPosLayout, type HidPosLayoutName } from './hid-pos-layouts.js';

export { HID_POS_REPORT_ID } from './hid-pos-layouts.js';
export const HID_POS_DEFAULT_MAX = 4096;
/** Longest pause between two reports of one code before the fragment is dropped. */
export const HID_POS_DEFAULT_GAP_MS = 100;

export type HidPosDiscardReason = 'bad_report_id' | 'bad_length' | 'too_long' | 'short_report' | 'truncated' | 'gap_timeout';
export type HidPosBytesReason = 'bad_encoding' | 'gbk_encoding' | 'command_reply';
export type HidPosResult =
  | { type: 'scan'; text: string; aim: string | null; reports?: Buffer[] }
  /** length: bytes of the lost code (data bytes, or whole reports where the length was unreadable). */
  | { type: 'discarded'; reason: HidPosDiscardReason; length: number; reports?: Buffer[] }
  | { type: 'discarded'; reason: HidPosBytesReason; bytes: Buffer; aim: string | null; reports?: Buffer[] };

/** What a technician should do about each reason; for logs and `gatectl scan`. */
export const HID_POS_DISCARD_HINTS: Readonly<Record<HidPosDiscardReason | HidPosBytesReason, string>> = {
  bad_report_id: 'a report from another collection of the device (not scan data)',
  bad_length: 'the length byte does not fit the report: wrong layout? set layout: in gate.yaml',
  too_long: 'the code is longer than the decoder accepts',
  short_report: 'the report is too short for a HID POS report: scanner in keyboard mode?',
  truncated: 'the code ended before its last report',
  gap_timeout: 'the next report of the code did not arrive in time; the fragment was dropped',
  bad_encoding: 'the code is not UTF-8 text',
  gbk_encoding: 'the scanner sends GBK/GB18030: scan its "UTF-8 output" setup code',
  command_reply: 'a reply to a command sent to the scanner, not a scan',
};

export interface HidPosOptions {
  layout?: HidPosLayoutName | HidPosLayout;
  maxLength?: number;
  gapMs?: number;
  /** Attach the raw reports of each code to its result (for `gatectl scan`). */
  keepReports?: boolean;
}

const gbDecoder = new TextDecoder('gb18030', { fatal: true });

/** Not UTF-8: is it a GBK/GB18030 scanner (valid GB18030 with at least one two-byte character)? */
function looksGbk(data: Buffer): boolean {
  if (!data.some((b) => b >= 0x80)) return false;
  try {
    gbDecoder.decode(data);
    return true;
  } catch {
    return false;
  }
}

/** Newland's reply to a host command: 02 00, status, data length, data, CRC-16 (FM30 wiki). */
function isNewlandReply(data: Buffer): boolean {
  return data.length >= 6 && data[0] === 0x02 && data[1] === 0x00 && data.length === 6 + (data[3] ?? 0);
}

export class HidPosAssembler {
  readonly layout: HidPosLayout;
  private readonly maxLength: number;
  private readonly gapMs: number;
  private readonly keepReports: boolean;
  private parts: Buffer[] = [];
  private reports: Buffer[] = [];
  private total = 0;
  private aim: string | null = null;
  private inSequence = false;
  private lastAt = 0;
  /** Set when the sequence in progress is already lost; reported once, at its last report. */
  private dropping: 'too_long' | 'bad_length' | 'short_report' | null = null;

  constructor(opts: HidPosOptions | number = {}) {
    const o = typeof opts === 'number' ? { maxLength: opts } : opts;
    this.layout = typeof o.layout === 'object' ? o.layout : LAYOUTS[o.layout ?? 'honeywell'];
    this.maxLength = o.maxLength ?? HID_POS_DEFAULT_MAX;
    this.gapMs = o.gapMs ?? HID_POS_DEFAULT_GAP_MS;
    this.keepReports = o.keepReports ?? false;
  }

  /** Whether a code is half read (the device arms its gap timer while this is true). */
  get pending(): boolean {
    return this.inSequence;
  }

  /** `at`: arrival time in ms; omit it to assemble without the gap check. */
  push(report: Buffer, at?: number): HidPosResult[] {
    if (report.length > 0 && report[0] !== HID_POS_REPORT_ID) {
      // Another collection's report (e.g. a status report): not ours, and not part of the code.
      return [this.with({ type: 'discarded', reason: 'bad_report_id', length: report.length }, [report])];
    }
    const out = at !== undefined ? this.expire(at, true) : [];
    if (at !== undefined) this.lastAt = at;
    if (this.keepReports) this.reports.push(report);
    const { layout } = this;
    const capacity = capacityOf(layout, report.length);
    // Too short to hold the flags byte where we expect it: whether more follows is unknown.
    if (capacity < 1) return [...out, ...this.malformed('short_report', report, null)];
    const more = ((report[report.length - 1] ?? 0) & HID_POS_MORE) !== 0;
    const n = report[1] ?? 0;
    if (n > capacity) return [...out, ...this.malformed('bad_length', report, more)];

    if (!this.inSequence) {
      this.inSequence = true;
      this.aim = aimOf(report, layout);
    }
    this.total += n;
    if (this.dropping === null && this.total > this.maxLength) {
      this.dropping = 'too_long';
      this.parts = [];
    }
    if (this.dropping === null && n > 0) this.parts.push(report.subarray(layout.dataAt, layout.dataAt + n));
    return more ? out : [...out, ...this.finish()];
  }

  /**
   * A code whose next report is overdue at `now` is dropped as `gap_timeout`, so the next scan
   * starts clean. `strict` (from push): only a gap longer than gapMs counts.
   */
  expire(now: number, strict = false): HidPosResult[] {
    if (!this.inSequence) return [];
    const waited = now - this.lastAt;
    if (strict ? waited <= this.gapMs : waited < this.gapMs) return [];
    const length = this.total;
    const reports = this.reports;
    this.reset();
    return [this.with({ type: 'discarded', reason: 'gap_timeout', length }, reports)];
  }

  /** End of input mid-sequence: report what was pending. */
  flush(): HidPosResult[] {
    if (!this.inSequence) return [];
    const length = this.total;
    const reason = this.dropping ?? 'truncated';
    const reports = this.reports;
    this.reset();
    return [this.with({ type: 'discarded', reason, length }, reports)];
  }

  /** `more` is null when the report is too mangled to read its flags. */
  private malformed(reason: 'bad_length' | 'short_report', report: Buffer, more: boolean | null): HidPosResult[] {
    if (!this.inSequence && more !== true) {
      const reports = this.reports;
      this.reports = [];
      return [this.with({ type: 'discarded', reason, length: report.length }, reports)];
    }
    // Inside a sequence (or starting one): the code is lost; drop up to its final report.
    this.inSequence = true;
    this.dropping ??= reason;
    this.total += report.length;
    this.parts = [];
    return more === false ? this.finish() : [];
  }

  private finish(): HidPosResult[] {
    const { dropping, total, aim, reports } = this;
    const data = dropping === null ? Buffer.concat(this.parts) : null;
    this.reset();
    if (data === null) return [this.with({ type: 'discarded', reason: dropping ?? 'truncated', length: total }, reports)];
    if (data.length === 0) return []; // idle report, no code
    if (this.layout.name === 'newland' && isNewlandReply(data)) return [this.with({ type: 'discarded', reason: 'command_reply', bytes: data, aim }, reports)];
    if (!isUtf8(data)) return [this.with({ type: 'discarded', reason: looksGbk(data) ? 'gbk_encoding' : 'bad_encoding', bytes: data, aim }, reports)];
    return [this.with({ type: 'scan', text: data.toString('utf8'), aim }, reports)];
  }

  private with<R extends HidPosResult>(r: R, reports: Buffer[]): R {
    if (this.keepReports) r.reports = reports;
    return r;
  }

  private reset(): void {
    this.parts = [];
    this.reports = [];
    this.total = 0;
    this.aim = null;
    this.inSequence = false;
    this.dropping = null;
  }
}

export interface HidPosEncodeOptions {
  /** Three-character AIM id such as "]Q1"; null or omitted sends zeros (a layout without an AIM slot sends none). */
  aim?: string | null;
  reportSize?: number;
  layout?: HidPosLayoutName;
  /** Vendor symbology byte (Honeywell "s" = QR, Newland's own ids); default 0. */
  symbology?: number;
  /** honeywell/extra-byte: the byte before the AIM id in extra-byte, default 0. */
  extraByte?: number;
}

/** Scanner side, for hardware-sim and tests: the reports a scanner sends for `text` (or raw bytes). */
export function encodeHidPosReports(text: string | Buffer, opts: HidPosEncodeOptions = {}): Buffer[] {
  const layout = LAYOUTS[opts.layout ?? 'honeywell'];
  const reportSize = opts.reportSize ?? 64;
  const capacity = capacityOf(layout, reportSize);
  if (!Number.isInteger(reportSize) || capacity < 1 || capacity > 0xff) throw new RangeError(`bad HID POS report size ${reportSize}`);
  const aim = opts.aim ?? null;
  if (aim !== null && !/^[\x20-\x7e]{3}$/.test(aim)) throw new RangeError(`AIM id must be 3 ASCII characters, got ${JSON.stringify(aim)}`);
  const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const reports: Buffer[] = [];
  for (let off = 0; off < data.length || reports.length === 0; off += capacity) {
    const n = Math.min(capacity, data.length - off);
    const r = Buffer.alloc(reportSize);
    r[0] = HID_POS_REPORT_ID;
    r[1] = n;
    if (layout.name === 'extra-byte') r[2] = opts.extraByte ?? 0;
    if (aim !== null && layout.aimAt !== null) r.write(aim, layout.aimAt, 3, 'latin1');
    data.copy(r, layout.dataAt, off, off + n);
    r[reportSize - layout.symbologyFromEnd] = opts.symbology ?? 0;
    if (off + n < data.length) r[reportSize - 1] = HID_POS_MORE;
    reports.push(r);
  }
  return reports;
}
