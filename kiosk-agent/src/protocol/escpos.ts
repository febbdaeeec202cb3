/**
 * ESC/POS, the command set of Epson's TM printers and of nearly every Chinese thermal
 * receipt printer: a small document model (text lines, bilingual pairs, label/value rows,
 * a QR code, rules, cut) and the bytes for it. Pure: no I/O, no clock.
 *
 * Chinese text goes out as GB18030 (two-byte GBK range) with the printer in Chinese mode
 * (FS &): that is what the fonts of Chinese printers hold. A character outside GBK prints "?".
 */
import { StileError, StileErrorCode } from '@stile/config';
import { encodeGb18030 } from '@stile/gate-agent/protocol';

export const ESC = 0x1b;
export const GS = 0x1d;
export const FS = 0x1c;
export const DLE = 0x10;
export const EOT = 0x04;
export const LF = 0x0a;

export type Align = 'left' | 'center' | 'right';
export type QrEcc = 'L' | 'M' | 'Q' | 'H';

/** Character magnification, 1–8 each way (GS !). */
export interface CharSize {
  width: number;
  height: number;
}

export interface TextStyle {
  align?: Align;
  bold?: boolean;
  size?: CharSize;
}

export type PrintBlock =
  | ({ kind: 'text'; text: string } & TextStyle)
  /** Chinese line, then English line, same style. */
  | ({ kind: 'bilingual'; zh: string; en: string } & TextStyle)
  /** Label left, value right on one line; the value moves to its own line when both do not fit. */
  | { kind: 'row'; label: string; value: string; bold?: boolean }
  | { kind: 'qr'; data: string; moduleSize?: number; ecc?: QrEcc; align?: Align }
  | { kind: 'rule'; char?: '-' | '=' }
  | { kind: 'feed'; lines: number }
  | { kind: 'cut'; partial?: boolean };

export interface PrintDoc {
  /** Characters per line in font A: 48 on 80 mm paper (576 dots / 12), 32 on 58 mm. */
  widthChars?: number;
  blocks: PrintBlock[];
}

export const DEFAULT_WIDTH_CHARS = 48;
/** GS ( k store: the data field of a model 2 QR code holds at most 7089 bytes. */
export const QR_MAX_BYTES = 7089;

const ALIGN_CODE: Record<Align, number> = { left: 0, center: 1, right: 2 };
const ECC_CODE: Record<QrEcc, number> = { L: 48, M: 49, Q: 50, H: 51 };

// ---- single commands -------------------------------------------------------------

/** ESC @: clear the print buffer, reset modes to power-on defaults. */
export const initialize = (): Buffer => Buffer.from([ESC, 0x40]);
export const justify = (a: Align): Buffer => Buffer.from([ESC, 0x61, ALIGN_CODE[a]]);
export const emphasis = (on: boolean): Buffer => Buffer.from([ESC, 0x45, on ? 1 : 0]);

/** GS ! n: bits 4–6 width − 1, bits 0–2 height − 1. */
export function charSize(size: CharSize): Buffer {
  checkMagnification(size.width, 'width');
  checkMagnification(size.height, 'height');
  return Buffer.from([GS, 0x21, ((size.width - 1) << 4) | (size.height - 1)]);
}

/** FS & enters Chinese (two-byte) mode, FS . leaves it. */
export const chineseMode = (on: boolean): Buffer => Buffer.from([FS, on ? 0x26 : 0x2e]);
export const lineFeed = (): Buffer => Buffer.from([LF]);
/** ESC d n: print and feed n lines. */
export const feedLines = (n: number): Buffer => Buffer.from([ESC, 0x64, clampByte(n)]);

/** GS V m n (function B): feed to the cutter, then cut; m = 65 full, 66 partial. */
export const cut = (partial = false): Buffer => Buffer.from([GS, 0x56, partial ? 0x42 : 0x41, 0]);

/** DLE EOT n, a real-time status request: 1 printer, 2 offline cause, 3 error cause, 4 paper roll sensor. */
export const statusRequest = (n: 1 | 2 | 3 | 4): Buffer => Buffer.from([DLE, EOT, n]);

/**
 * GS r 1: paper sensor status. Unlike DLE EOT it waits its turn in the receive buffer, so
 * its answer means everything sent before it has been processed: the job's end marker.
 */
export const paperStatusInSequence = (): Buffer => Buffer.from([GS, 0x72, 1]);

/** GS ( k pL pH cn fn [params]: one QR code function (cn 49 = QR). */
function qrFunction(fn: number, params: Buffer): Buffer {
  const len = params.length + 2;
  return Buffer.concat([Buffer.from([GS, 0x28, 0x6b, len & 0xff, len >> 8, 0x31, fn]), params]);
}

/**
 * The five GS ( k functions that print one QR code: 165 select model 2, 167 module size,
 * 169 error correction, 180 store the data, 181 print it.
 */
export function qrCode(data: string, opts: { moduleSize?: number; ecc?: QrEcc } = {}): Buffer {
  const bytes = Buffer.from(data, 'utf8');
  if (bytes.length === 0) throw new StileError(StileErrorCode.UsageError, 'QR code: no data');
  if (bytes.length > QR_MAX_BYTES) throw new StileError(StileErrorCode.UsageError, `QR code: ${bytes.length} bytes, the printer stores at most ${QR_MAX_BYTES}`);
  const moduleSize = opts.moduleSize ?? 6;
  if (!Number.isInteger(moduleSize) || moduleSize < 1 || moduleSize > 16) throw new StileError(StileErrorCode.UsageError, `QR module size must be 1–16 dots, got ${moduleSize}`);
  return Buffer.concat([
    qrFunction(0x41, Buffer.from([0x32, 0x00])), // fn 65: model 2
    qrFunction(0x43, Buffer.from([moduleSize])), // fn 67: module size in dots
    qrFunction(0x45, Buffer.from([ECC_CODE[opts.ecc ?? 'M']])), // fn 69: error correction
    qrFunction(0x50, Buffer.concat([Buffer.from([0x30]), bytes])), // fn 80: store, m = 48
    qrFunction(0x51, Buffer.from([0x30])), // fn 81: print, m = 48
  ]);
}

// ---- text ---------------------------------------------------------------------------

/** Columns a string takes in font A: ASCII one, a Chinese (two-byte) character two. */
export function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += ch.codePointAt(0)! < 0x80 ? 1 : 2;
  return w;
}

/** Text → printer bytes; line breaks and other control characters become spaces (a block is one line). */
export function encodeText(text: string): Buffer {
  // eslint-disable-next-line no-control-regex
  return encodeGb18030(text.replace(/[\u0000-\u001f\u007f]/g, ' '));
}

function checkMagnification(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new StileError(StileErrorCode.UsageError, `character ${what} must be 1–8, got ${n}`);
}

function clampByte(n: number): number {
  return Math.max(0, Math.min(255, Math.trunc(n)));
}

// ---- documents ----------------------------------------------------------------------

interface Mode {
  align: Align;
  bold: boolean;
  size: number; // the GS ! byte
}

/**
 * A document → bytes: ESC @, Chinese mode, then each block, sending a mode command only
 * when the mode changes. Blocks are validated here; a bad one throws StileError(USAGE).
 */
export function encodeDocument(doc: PrintDoc): Buffer {
  const width = doc.widthChars ?? DEFAULT_WIDTH_CHARS;
  if (!Number.isInteger(width) || width < 16 || width > 96) throw new StileError(StileErrorCode.UsageError, `widthChars must be 16–96, got ${width}`);
  const out: Buffer[] = [initialize(), chineseMode(true)];
  const mode: Mode = { align: 'left', bold: false, size: 0 };
  const setMode = (style: TextStyle): void => {
    const align = style.align ?? 'left';
    const bold = style.bold ?? false;
    const sizeCmd = charSize(style.size ?? { width: 1, height: 1 });
    if (align !== mode.align) out.push(justify(align));
    if (bold !== mode.bold) out.push(emphasis(bold));
    if (sizeCmd[2] !== mode.size) out.push(sizeCmd);
    Object.assign(mode, { align, bold, size: sizeCmd[2] });
  };
  const line = (text: string, style: TextStyle): void => {
    setMode(style);
    out.push(encodeText(text), lineFeed());
  };
  for (const block of doc.blocks) {
    switch (block.kind) {
      case 'text':
        line(block.text, block);
        break;
      case 'bilingual':
        line(block.zh, block);
        line(block.en, block);
        break;
      case 'row': {
        const style = { bold: block.bold ?? false };
        const gap = width - textWidth(block.label) - textWidth(block.value);
        if (gap >= 1) line(block.label + ' '.repeat(gap) + block.value, style);
        else {
          line(block.label, style);
          line(block.value, { ...style, align: 'right' });
        }
        break;
      }
      case 'qr':
        setMode({ align: block.align ?? 'center' });
        out.push(qrCode(block.data, block), lineFeed());
        break;
      case 'rule':
        line((block.char ?? '-').repeat(width), {});
        break;
      case 'feed':
        out.push(feedLines(block.lines));
        break;
      case 'cut':
        out.push(cut(block.partial));
        break;
    }
  }
  return Buffer.concat(out);
}
