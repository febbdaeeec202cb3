/**
 * What the simulated printer puts on paper: interpreted commands → lines of text (aligned in
 * the paper's width, Chinese decoded from GB18030) and QR codes drawn from the stored data
 * as PNGs, one dot a pixel, so a test can scan them. A cut ends the page.
 */
import { PNG } from 'pngjs';
import { encode as encodeQr } from 'uqr';
import type { EscPosOp } from './escpos-interpreter.js';

export type PrintAlign = 'left' | 'center' | 'right';

export interface PrintedLine {
  kind: 'text' | 'qr';
  /** As printed, without the alignment padding. */
  text: string;
  align: PrintAlign;
  bold: boolean;
  width: number;
  height: number;
}

export interface PrintedQr {
  /** The stored data, decoded as UTF-8. */
  data: string;
  ecc: 'L' | 'M' | 'Q' | 'H';
  moduleSize: number;
  /** Modules a side, quiet zone not included. */
  modules: number;
  png: Buffer;
}

export interface PrintedPage {
  /** The page as text: one line per printed line, padded as aligned, trailing spaces trimmed. */
  text: string;
  lines: PrintedLine[];
  qrCodes: PrintedQr[];
  qrPngs: Buffer[];
  cut: 'full' | 'partial' | null;
}

export interface PageNotice {
  kind: 'qr_failed' | 'qr_no_data' | 'qr_setting';
  detail: string;
}

const ECC_BY_CODE: Record<number, PrintedQr['ecc']> = { 48: 'L', 49: 'M', 50: 'Q', 51: 'H' };
const QUIET_ZONE = 4;
const gb18030 = new TextDecoder('gb18030');
const utf8 = new TextDecoder('utf-8');

interface Segment {
  bytes: Buffer;
  chinese: boolean;
}

function columns(text: string): number {
  let w = 0;
  for (const ch of text) w += ch.codePointAt(0)! < 0x80 ? 1 : 2;
  return w;
}

/** Bytes outside Chinese mode: ASCII, and "?" for the code page's other glyphs (not drawn here). */
function decodeSegment(s: Segment): string {
  if (s.chinese) return gb18030.decode(s.bytes);
  let out = '';
  for (const b of s.bytes) out += b < 0x80 ? String.fromCharCode(b) : '?';
  return out;
}

export function qrPng(bytes: Buffer, ecc: PrintedQr['ecc'], moduleSize: number): { png: Buffer; modules: number } {
  const { data, size } = encodeQr(Array.from(bytes), { ecc, border: QUIET_ZONE });
  const side = size * moduleSize;
  const png = new PNG({ width: side, height: side });
  for (let y = 0; y < side; y++) {
    const row = data[Math.floor(y / moduleSize)]!;
    for (let x = 0; x < side; x++) {
      const v = row[Math.floor(x / moduleSize)] ? 0 : 255;
      const o = (y * side + x) * 4;
      png.data[o] = v;
      png.data[o + 1] = v;
      png.data[o + 2] = v;
      png.data[o + 3] = 255;
    }
  }
  return { png: PNG.sync.write(png), modules: size - 2 * QUIET_ZONE };
}

export class PageBuilder {
  readonly pages: PrintedPage[] = [];
  private lines: PrintedLine[] = [];
  private qrCodes: PrintedQr[] = [];
  private segments: Segment[] = [];
  private lineStyle: Omit<PrintedLine, 'kind' | 'text'> | undefined;
  private align: PrintAlign = 'left';
  private bold = false;
  private width = 1;
  private height = 1;
  private chinese = false;
  private printed = 0;
  private qr = { moduleSize: 3, ecc: 'L' as PrintedQr['ecc'], data: null as Buffer | null };

  constructor(
    readonly widthChars: number,
    private readonly notice: (n: PageNotice) => void = () => undefined,
  ) {}

  /** Lines printed since power-on, across cuts (for "jam after n lines"). */
  get lineCount(): number {
    return this.printed;
  }

  private push(line: PrintedLine): void {
    this.lines.push(line);
    this.printed++;
  }

  /** The page being printed, not yet cut. */
  current(): PrintedPage {
    return this.page(null);
  }

  apply(op: EscPosOp): void {
    switch (op.op) {
      case 'text':
        this.lineStyle ??= { align: this.align, bold: this.bold, width: this.width, height: this.height };
        this.segments.push({ bytes: op.bytes, chinese: this.chinese });
        break;
      case 'lf':
        this.printLine();
        break;
      case 'feed':
        this.printLine();
        for (let k = 1; k < op.lines; k++) this.printLine();
        break;
      case 'init':
        this.segments = [];
        this.lineStyle = undefined;
        Object.assign(this, { align: 'left', bold: false, width: 1, height: 1, chinese: false });
        this.qr = { moduleSize: 3, ecc: 'L', data: null };
        break;
      case 'align':
        this.align = op.align;
        break;
      case 'bold':
        this.bold = op.on;
        break;
      case 'size':
        this.width = op.width;
        this.height = op.height;
        break;
      case 'printMode':
        Object.assign(this, { bold: op.bold, width: op.width, height: op.height });
        break;
      case 'chinese':
        this.chinese = op.on;
        break;
      case 'cut':
        if (this.segments.length > 0) this.printLine();
        this.pages.push(this.page(op.partial ? 'partial' : 'full'));
        this.lines = [];
        this.qrCodes = [];
        break;
      case 'qr':
        this.qrFunction(op.fn, op.params);
        break;
      default:
        break; // status, code page, ignored and unknown commands draw nothing
    }
  }

  private printLine(): void {
    const style = this.lineStyle ?? { align: this.align, bold: this.bold, width: this.width, height: this.height };
    const text = this.segments.map(decodeSegment).join('');
    this.segments = [];
    this.lineStyle = undefined;
    // Wider than the paper: the printer wraps.
    const perLine = Math.max(1, Math.floor(this.widthChars / style.width));
    let part = '';
    for (const ch of text) {
      if (columns(part + ch) > perLine) {
        this.push({ kind: 'text', text: part, ...style });
        part = '';
      }
      part += ch;
    }
    this.push({ kind: 'text', text: part, ...style });
  }

  private qrFunction(fn: number, params: Buffer): void {
    const n = params[0];
    if (fn === 0x43 && n !== undefined) {
      if (n >= 1 && n <= 16) this.qr.moduleSize = n;
      else this.notice({ kind: 'qr_setting', detail: `module size ${n} out of 1–16, kept ${this.qr.moduleSize}` });
    } else if (fn === 0x45 && n !== undefined) {
      const ecc = ECC_BY_CODE[n];
      if (ecc) this.qr.ecc = ecc;
      else this.notice({ kind: 'qr_setting', detail: `error correction ${n} unknown, kept ${this.qr.ecc}` });
    } else if (fn === 0x50) {
      this.qr.data = Buffer.from(params.subarray(1));
    } else if (fn === 0x51) {
      this.printQr();
    }
  }

  private printQr(): void {
    const bytes = this.qr.data;
    if (bytes === null || bytes.length === 0) return this.notice({ kind: 'qr_no_data', detail: 'GS ( k print with no data stored' });
    if (this.segments.length > 0) this.printLine();
    let drawn: { png: Buffer; modules: number };
    try {
      drawn = qrPng(bytes, this.qr.ecc, this.qr.moduleSize);
    } catch (err) {
      // The printer prints nothing for data that does not fit a symbol.
      return this.notice({ kind: 'qr_failed', detail: (err as Error).message });
    }
    const data = utf8.decode(bytes);
    this.qrCodes.push({ data, ecc: this.qr.ecc, moduleSize: this.qr.moduleSize, ...drawn });
    this.push({ kind: 'qr', text: `[QR ${data}]`, align: this.align, bold: false, width: 1, height: 1 });
  }

  private page(cut: PrintedPage['cut']): PrintedPage {
    const lines = [...this.lines];
    const text = lines
      .map((l) => {
        // Padded as the unmagnified text, so a double-width title still looks centred in text.
        const free = Math.max(0, this.widthChars - columns(l.text));
        const pad = l.align === 'center' ? Math.floor(free / 2) : l.align === 'right' ? free : 0;
        return (' '.repeat(pad) + l.text).trimEnd();
      })
      .join('\n');
    const qrCodes = [...this.qrCodes];
    return { text, lines, qrCodes, qrPngs: qrCodes.map((q) => q.png), cut };
  }
}
