/**
 * Scanners in keyboard-wedge mode, read as raw boot-protocol keyboard reports (hidraw/node-hid,
 * so the scanner's keystrokes never reach a console). Pure: 8-byte reports in, scans out.
 *
 *   [0]     modifiers: bit1 left shift, bit5 right shift (others ignored)
 *   [1]     reserved
 *   [2..7]  up to six pressed keys, HID usage ids (page 0x07), 0 = none
 *
 * A report is the full set of keys currently down, so a character is typed when a usage id
 * appears that was not in the previous report. Scanners repeat reports while a key is held, and
 * some send the same report twice; both must type the character once. Enter ends the scan.
 * Layout is US: the scanner must be configured for it (most ship that way; a scanner set to a
 * different layout shows up as wrong punctuation, not as an error).
 */
export const KEYBOARD_REPORT_BYTES = 8;
export const KEYBOARD_DEFAULT_MAX = 4096;

const SHIFT_BITS = 0x02 | 0x20;
const ENTER = 0x28;
const KP_ENTER = 0x58;
const CAPS_LOCK = 0x39;
const ERROR_ROLLOVER = 0x01;
const LEFT_SHIFT_KEY = 0xe1;
const RIGHT_SHIFT_KEY = 0xe5;

const PLAIN: (string | undefined)[] = new Array(256);
const SHIFTED: (string | undefined)[] = new Array(256);
function keys(first: number, plain: string, shifted: string): void {
  for (let i = 0; i < plain.length; i++) {
    PLAIN[first + i] = plain[i];
    SHIFTED[first + i] = shifted[i];
  }
}
keys(0x04, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
keys(0x1e, '1234567890', '!@#$%^&*()');
keys(0x2b, '\t -=[]\\', '\t _+{}|');
keys(0x33, ";'`,./", ':"~<>?');
// Keypad, as typed with Num Lock on (scanners that use the keypad for digits assume it is).
keys(0x54, '/*-+', '/*-+');
keys(0x59, '1234567890.', '1234567890.');

/** Reverse map for the encoder: the first (non-keypad) key that types each character. */
const ENCODE = new Map<string, { code: number; shift: boolean }>();
for (let code = 0; code < 0x54; code++) {
  const p = PLAIN[code];
  const s = SHIFTED[code];
  if (p !== undefined && !ENCODE.has(p)) ENCODE.set(p, { code, shift: false });
  if (s !== undefined && !ENCODE.has(s)) ENCODE.set(s, { code, shift: true });
}

export type KeyboardWedgeResult =
  /** unknownKeys: keys with no character (F-keys, arrows…) skipped inside this scan. */
  | { type: 'scan'; text: string; unknownKeys: number }
  | { type: 'discarded'; reason: 'bad_report' | 'too_long' | 'unknown_keys' | 'truncated'; length: number };

function isRelease(report: Buffer): boolean {
  for (let i = 2; i < KEYBOARD_REPORT_BYTES; i++) if (report[i] !== 0) return false;
  return true;
}

export class KeyboardWedgeDecoder {
  private down: number[] = [];
  private caps = false;
  private text = '';
  private overflow = 0;
  private unknown = 0;

  constructor(private readonly maxLength = KEYBOARD_DEFAULT_MAX) {}

  /** Caps Lock as toggled by the scanner; it persists across scans like the real key. */
  get capsLock(): boolean {
    return this.caps;
  }

  push(report: Buffer): KeyboardWedgeResult[] {
    if (report.length !== KEYBOARD_REPORT_BYTES) return [{ type: 'discarded', reason: 'bad_report', length: report.length }];
    if (this.down.length === 0 && isRelease(report)) return []; // the common idle/release report
    const now: number[] = [];
    let shift = ((report[0] ?? 0) & SHIFT_BITS) !== 0;
    for (let i = 2; i < KEYBOARD_REPORT_BYTES; i++) {
      const k = report[i] ?? 0;
      if (k === 0) continue;
      if (k === LEFT_SHIFT_KEY || k === RIGHT_SHIFT_KEY) shift = true;
      now.push(k);
    }
    // Phantom state (too many keys): says nothing about which keys changed; wait for the next.
    if (now.length > 0 && now.every((k) => k === ERROR_ROLLOVER)) return [];
    const out: KeyboardWedgeResult[] = [];
    for (const k of now) if (!this.down.includes(k)) this.press(k, shift, out);
    this.down = now;
    return out;
  }

  /** End of input or scan timeout: a code without its Enter is reported, not glued to the next. */
  flush(): KeyboardWedgeResult[] {
    const length = this.overflow > 0 ? this.overflow : this.text.length + this.unknown;
    this.down = [];
    this.clearLine();
    return length > 0 ? [{ type: 'discarded', reason: 'truncated', length }] : [];
  }

  private press(k: number, shift: boolean, out: KeyboardWedgeResult[]): void {
    if (k === ENTER || k === KP_ENTER) return this.endLine(out);
    if (k === CAPS_LOCK) {
      this.caps = !this.caps;
      return;
    }
    if (k >= 0xe0 && k <= 0xe7) return; // modifiers reported as keys
    const letter = k >= 0x04 && k <= 0x1d;
    const ch = (letter ? shift !== this.caps : shift) ? SHIFTED[k] : PLAIN[k];
    if (ch === undefined) {
      this.unknown++;
      return;
    }
    if (this.overflow > 0) this.overflow++;
    else if (this.text.length + 1 > this.maxLength) {
      this.overflow = this.text.length + 1;
      this.text = '';
    } else this.text += ch;
  }

  private endLine(out: KeyboardWedgeResult[]): void {
    if (this.overflow > 0) out.push({ type: 'discarded', reason: 'too_long', length: this.overflow });
    else if (this.text.length > 0) out.push({ type: 'scan', text: this.text, unknownKeys: this.unknown });
    else if (this.unknown > 0) out.push({ type: 'discarded', reason: 'unknown_keys', length: this.unknown });
    this.clearLine();
  }

  private clearLine(): void {
    this.text = '';
    this.overflow = 0;
    this.unknown = 0;
  }
}

/**
 * Scanner side, for hardware-sim and tests: press + release per character, Enter at the end.
 * Throws on characters a US keyboard cannot type (including newlines: Enter is the terminator).
 */
export function encodeKeyboardReports(text: string): Buffer[] {
  const reports: Buffer[] = [];
  const release = (): Buffer => Buffer.alloc(KEYBOARD_REPORT_BYTES);
  for (const ch of text) {
    const key = ENCODE.get(ch);
    if (key === undefined) throw new RangeError(`cannot type ${JSON.stringify(ch)} on a US keyboard`);
    const press = release();
    press[0] = key.shift ? 0x02 : 0;
    press[2] = key.code;
    reports.push(press, release());
  }
  const enter = release();
  enter[2] = ENTER;
  reports.push(enter, release());
  return reports;
}
