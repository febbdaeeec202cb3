/**
 * The printer's side of ESC/POS: bytes in (in any chunks), commands out. An implementation of
 * its own, from Epson's command reference, not kiosk-agent's encoder: the simulator checks
 * the driver rather than mirroring it.
 *
 * It never throws and never waits for more than one command's bytes: a command with a long
 * payload (raster images, oversize QR data) is skipped as it streams past. Commands it knows
 * but does not draw are `ignored` (with their ESC/POS name); anything else is `unknown`.
 */

export type EscPosOp =
  | { op: 'text'; bytes: Buffer }
  | { op: 'lf' }
  | { op: 'feed'; lines: number }
  | { op: 'init' }
  | { op: 'align'; align: 'left' | 'center' | 'right' }
  | { op: 'bold'; on: boolean }
  /** GS ! (width/height 1–8) or ESC ! (bold, double height, double width). */
  | { op: 'size'; width: number; height: number }
  | { op: 'printMode'; bold: boolean; width: number; height: number }
  | { op: 'chinese'; on: boolean }
  | { op: 'codepage'; n: number }
  | { op: 'cut'; partial: boolean }
  /** GS ( k with cn 49: fn 65 model, 67 size, 69 error correction, 80 store, 81 print, 82 size info. */
  | { op: 'qr'; fn: number; params: Buffer }
  /** DLE EOT n: answered at once, even while the printer is stopped. */
  | { op: 'realtimeStatus'; n: number }
  /** GS r n: answered in turn, after what came before has been printed. */
  | { op: 'statusInSequence'; n: number }
  | { op: 'asb'; n: number }
  | { op: 'ignored'; name: string }
  | { op: 'unknown'; bytes: Buffer };

/** The largest payload waited for in one piece (a full QR store is 7089 + 3). */
const MAX_WAIT = 8192;
const ALIGNS = ['left', 'center', 'right'] as const;

interface Parsed {
  op: EscPosOp;
  len: number;
  /** Payload bytes after `len` to let stream past unparsed. */
  skip?: number;
}

const ignored = (name: string, len: number, skip = 0): Parsed => ({ op: { op: 'ignored', name }, len, skip });
const unknown = (buf: Buffer, i: number, len: number): Parsed => ({ op: { op: 'unknown', bytes: Buffer.from(buf.subarray(i, i + len)) }, len });

/** ESC x / GS x / FS x commands with fixed lengths that the page does not draw. */
const FIXED_IGNORED: Record<number, Record<number, number>> = {
  0x1b: { 0x2d: 3, 0x4d: 3, 0x52: 3, 0x47: 3, 0x7b: 3, 0x56: 3, 0x20: 3, 0x33: 3, 0x32: 2, 0x70: 5, 0x4a: 3, 0x55: 3, 0x69: 2, 0x6d: 2, 0x4c: 2, 0x53: 2, 0x54: 3, 0x24: 4, 0x5c: 4, 0x25: 3, 0x3d: 3 },
  0x1d: { 0x42: 3, 0x4c: 4, 0x57: 4, 0x68: 3, 0x77: 3, 0x48: 3, 0x66: 3, 0x62: 3, 0x50: 4, 0x49: 3, 0x24: 4, 0x5c: 4, 0x54: 3 },
  0x1c: { 0x21: 3, 0x2d: 3, 0x57: 3, 0x43: 3, 0x53: 4, 0x70: 4 },
};
const PREFIX_NAME: Record<number, string> = { 0x1b: 'ESC', 0x1d: 'GS', 0x1c: 'FS', 0x10: 'DLE' };

function commandName(prefix: number, c: number): string {
  return `${PREFIX_NAME[prefix]} ${c >= 0x21 && c < 0x7f ? String.fromCharCode(c) : `0x${c.toString(16).padStart(2, '0')}`}`;
}

/** One command at `i`, or null when its bytes have not all arrived. */
function parseOne(buf: Buffer, i: number): Parsed | null {
  const b = buf[i]!;
  const at = (k: number): number | undefined => buf[i + k];
  if (b >= 0x20 && b !== 0x7f) {
    let j = i + 1;
    while (j < buf.length && buf[j]! >= 0x20 && buf[j] !== 0x7f) j++;
    return { op: { op: 'text', bytes: Buffer.from(buf.subarray(i, j)) }, len: j - i };
  }
  if (b === 0x0a) return { op: { op: 'lf' }, len: 1 };
  if (b === 0x09) return { op: { op: 'text', bytes: Buffer.from(' ') }, len: 1 };
  if (b === 0x0d) return ignored('CR', 1);
  if (b !== 0x1b && b !== 0x1d && b !== 0x1c && b !== 0x10) return unknown(buf, i, 1);
  const c = at(1);
  if (c === undefined) return null;
  const need = (n: number): boolean => i + n <= buf.length;
  if (b === 0x10) {
    if (c === 0x04) {
      const n = at(2);
      if (n === undefined) return null;
      if (n >= 1 && n <= 4) return { op: { op: 'realtimeStatus', n }, len: 3 };
      return n === 7 || n === 8 ? (need(4) ? ignored('DLE EOT', 4) : null) : unknown(buf, i, 3);
    }
    if (c === 0x05) return need(3) ? ignored('DLE ENQ', 3) : null;
    if (c === 0x14) return need(5) ? ignored('DLE DC4', 5) : null;
    return unknown(buf, i, 2);
  }
  if (b === 0x1b) {
    switch (c) {
      case 0x40:
        return { op: { op: 'init' }, len: 2 };
      case 0x61:
      case 0x45:
      case 0x21:
      case 0x64:
      case 0x74: {
        const n = at(2);
        if (n === undefined) return null;
        if (c === 0x61) return { op: { op: 'align', align: ALIGNS[n % 0x30] ?? 'left' }, len: 3 };
        if (c === 0x45) return { op: { op: 'bold', on: (n & 1) === 1 }, len: 3 };
        if (c === 0x21) return { op: { op: 'printMode', bold: (n & 0x08) !== 0, height: n & 0x10 ? 2 : 1, width: n & 0x20 ? 2 : 1 }, len: 3 };
        if (c === 0x64) return { op: { op: 'feed', lines: n }, len: 3 };
        return { op: { op: 'codepage', n }, len: 3 };
      }
      case 0x63: // ESC c 3 n, ESC c 4 n, ESC c 5 n: paper sensors, panel buttons
        return need(4) ? ignored('ESC c', 4) : null;
      case 0x2a: {
        // ESC * m nL nH d1…dk: bit image, k = n or 3n columns
        if (!need(5)) return null;
        const cols = at(3)! + at(4)! * 256;
        return ignored('ESC *', 5, at(2)! >= 32 ? cols * 3 : cols);
      }
      case 0x44: {
        // ESC D n1…nk NUL: tab stops, at most 32
        const end = buf.indexOf(0, i + 2);
        if (end >= 0 && end - i <= 34) return ignored('ESC D', end - i + 1);
        return buf.length - i > 34 ? unknown(buf, i, 2) : null;
      }
    }
  }
  if (b === 0x1c && (c === 0x26 || c === 0x2e)) return { op: { op: 'chinese', on: c === 0x26 }, len: 2 };
  if (b === 0x1d) {
    switch (c) {
      case 0x21: {
        const n = at(2);
        if (n === undefined) return null;
        return { op: { op: 'size', width: ((n >> 4) & 7) + 1, height: (n & 7) + 1 }, len: 3 };
      }
      case 0x56: {
        const m = at(2);
        if (m === undefined) return null;
        const len = [0, 1, 48, 49].includes(m) ? 3 : 4;
        if (!need(len)) return null;
        return { op: { op: 'cut', partial: [1, 49, 66, 98, 104].includes(m) }, len };
      }
      case 0x72:
      case 0x61: {
        const n = at(2);
        if (n === undefined) return null;
        return { op: c === 0x72 ? { op: 'statusInSequence', n } : { op: 'asb', n }, len: 3 };
      }
      case 0x28: {
        // GS ( X pL pH …: p bytes of parameters
        if (!need(5)) return null;
        const p = at(3)! + at(4)! * 256;
        const isQr = at(2) === 0x6b && p >= 2;
        if (p > MAX_WAIT) return ignored(isQr ? 'GS ( k (too long)' : commandName(b, c), 5, p);
        if (!need(5 + p)) return null;
        if (isQr && at(5) === 0x31) return { op: { op: 'qr', fn: at(6)!, params: Buffer.from(buf.subarray(i + 7, i + 5 + p)) }, len: 5 + p };
        return ignored(`GS ( ${String.fromCharCode(at(2)!)}`, 5 + p);
      }
      case 0x76: {
        // GS v 0 m xL xH yL yH d…: raster image, x bytes × y dots
        if (!need(8)) return null;
        return ignored('GS v 0', 8, (at(4)! + at(5)! * 256) * (at(6)! + at(7)! * 256));
      }
      case 0x6b: {
        // GS k m …: barcode; m 0–6 NUL-terminated, m 65–79 with a length byte
        const m = at(2);
        if (m === undefined) return null;
        if (m >= 65) return need(4) ? ignored('GS k', 4, at(3)!) : null;
        const end = buf.indexOf(0, i + 3);
        if (end >= 0 && end - i <= 258) return ignored('GS k', end - i + 1);
        return buf.length - i > 258 ? unknown(buf, i, 3) : null;
      }
    }
  }
  const fixed = FIXED_IGNORED[b]?.[c];
  if (fixed !== undefined) return need(fixed) ? ignored(commandName(b, c), fixed) : null;
  return unknown(buf, i, 2);
}

export class EscPosInterpreter {
  private pending: Buffer = Buffer.alloc(0);
  private skipping = 0;

  /** Bytes in → the commands they complete. Never throws. */
  push(chunk: Buffer): EscPosOp[] {
    let buf = chunk;
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, buf.length);
      this.skipping -= n;
      buf = buf.subarray(n);
    }
    buf = this.pending.length > 0 ? Buffer.concat([this.pending, buf]) : buf;
    const ops: EscPosOp[] = [];
    let i = 0;
    while (i < buf.length) {
      const parsed = parseOne(buf, i);
      if (parsed === null) break;
      ops.push(parsed.op);
      i += parsed.len;
      if (parsed.skip) {
        const n = Math.min(parsed.skip, buf.length - i);
        i += n;
        this.skipping = parsed.skip - n;
      }
    }
    this.pending = Buffer.from(buf.subarray(i));
    return ops;
  }

  /** Bytes of a command still waiting for the rest of it (at most one command, ≤ 8 KB). */
  get pendingBytes(): number {
    return this.pending.length;
  }

  /** Power loss: a half-received command is gone. */
  reset(): void {
    this.pending = Buffer.alloc(0);
    this.skipping = 0;
  }
}
