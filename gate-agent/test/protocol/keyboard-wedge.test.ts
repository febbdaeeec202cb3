import { describe, expect, it } from 'vitest';
import { KeyboardWedgeDecoder, encodeKeyboardReports, type KeyboardWedgeResult } from '../../src/protocol/keyboard-wedge.js';

/** Boot keyboard report: modifiers, reserved, up to six usage ids. */
function kb(modifiers: number, ...keys: number[]): Buffer {
  const r = Buffer.alloc(8);
  r[0] = modifiers;
  keys.forEach((k, i) => (r[2 + i] = k));
  return r;
}
const UP = kb(0); // all keys released

function feed(reports: Buffer[], d = new KeyboardWedgeDecoder()): KeyboardWedgeResult[] {
  return reports.flatMap((r) => d.push(r));
}

describe('KeyboardWedgeDecoder', () => {
  it('decodes the reference reports for "A1"', () => {
    const reports = [
      Buffer.from([0x02, 0x00, 0x04, 0, 0, 0, 0, 0]), // left shift + a  → 'A'
      Buffer.from([0x00, 0x00, 0x00, 0, 0, 0, 0, 0]), // release
      Buffer.from([0x00, 0x00, 0x1e, 0, 0, 0, 0, 0]), // 1                → '1'
      Buffer.from([0x00, 0x00, 0x00, 0, 0, 0, 0, 0]), // release
      Buffer.from([0x00, 0x00, 0x28, 0, 0, 0, 0, 0]), // Enter: end of scan
      Buffer.from([0x00, 0x00, 0x00, 0, 0, 0, 0, 0]), // release
    ];
    expect(feed(reports)).toEqual([{ type: 'scan', text: 'A1', unknownKeys: 0 }]);
    expect(encodeKeyboardReports('A1')).toEqual(reports);
  });

  it('types a held or repeated key once', () => {
    expect(feed([kb(0, 0x04), kb(0, 0x04), kb(0, 0x04), UP, kb(0, 0x04), UP, kb(0, 0x28)])).toEqual([
      { type: 'scan', text: 'aa', unknownKeys: 0 },
    ]);
  });

  it('types keys that appear together in slot order, and only new ones after', () => {
    // Fast scanners roll over: b is still down when c goes down.
    expect(feed([kb(0, 0x05), kb(0, 0x05, 0x06), kb(0, 0x06), kb(0, 0x07, 0x08), UP, kb(0, 0x28)])).toEqual([
      { type: 'scan', text: 'bcde', unknownKeys: 0 },
    ]);
  });

  it('ignores a phantom (ErrorRollOver) report', () => {
    expect(feed([kb(0, 0x04), kb(0, 1, 1, 1, 1, 1, 1), kb(0, 0x04), UP, kb(0, 0x28)])).toEqual([{ type: 'scan', text: 'a', unknownKeys: 0 }]);
  });

  it('applies right shift and a shift reported as a key', () => {
    expect(feed([kb(0x20, 0x1f), UP, kb(0, 0xe1, 0x2d), UP, kb(0, 0x28)])).toEqual([{ type: 'scan', text: '@_', unknownKeys: 0 }]);
  });

  it('inverts letter case while Caps Lock is on, and only letters', () => {
    const d = new KeyboardWedgeDecoder();
    const out = feed([kb(0, 0x39), UP, kb(0, 0x04), UP, kb(0x02, 0x05), UP, kb(0, 0x1e), UP, kb(0x02, 0x1e), UP, kb(0, 0x28), UP], d);
    expect(out).toEqual([{ type: 'scan', text: 'Ab1!', unknownKeys: 0 }]);
    expect(d.capsLock).toBe(true);
    expect(feed([kb(0, 0x39), UP, kb(0, 0x04), UP, kb(0, 0x28)], d)).toEqual([{ type: 'scan', text: 'a', unknownKeys: 0 }]);
  });

  it('maps keypad digits', () => {
    expect(feed([kb(0, 0x59), UP, kb(0, 0x62), UP, kb(0, 0x63), UP, kb(0, 0x58)])).toEqual([{ type: 'scan', text: '10.', unknownKeys: 0 }]);
  });

  it('skips keys without a character but counts them', () => {
    expect(feed([kb(0, 0x3a), UP, kb(0, 0x04), UP, kb(0, 0x28), UP])).toEqual([{ type: 'scan', text: 'a', unknownKeys: 1 }]);
    expect(feed([kb(0, 0x3a), UP, kb(0, 0x28)])).toEqual([{ type: 'discarded', reason: 'unknown_keys', length: 1 }]);
  });

  it('ignores Enter with nothing typed', () => {
    expect(feed([kb(0, 0x28), UP, kb(0, 0x28)])).toEqual([]);
  });

  it('rejects reports of the wrong size', () => {
    expect(new KeyboardWedgeDecoder().push(Buffer.alloc(9))).toEqual([{ type: 'discarded', reason: 'bad_report', length: 9 }]);
  });

  it('discards an over-long line without gluing it to the next', () => {
    const d = new KeyboardWedgeDecoder(4);
    expect(feed([...encodeKeyboardReports('abcdef'), ...encodeKeyboardReports('ok')], d)).toEqual([
      { type: 'discarded', reason: 'too_long', length: 6 },
      { type: 'scan', text: 'ok', unknownKeys: 0 },
    ]);
  });

  it('reports a line without Enter on flush', () => {
    const d = new KeyboardWedgeDecoder();
    feed(encodeKeyboardReports('abc').slice(0, 6), d);
    expect(d.flush()).toEqual([{ type: 'discarded', reason: 'truncated', length: 3 }]);
    expect(feed(encodeKeyboardReports('xyz'), d)).toEqual([{ type: 'scan', text: 'xyz', unknownKeys: 0 }]);
  });
});

describe('encodeKeyboardReports', () => {
  it('round-trips every printable ASCII character and tab', () => {
    let text = '\t';
    for (let c = 0x20; c < 0x7f; c++) text += String.fromCharCode(c);
    expect(feed(encodeKeyboardReports(text))).toEqual([{ type: 'scan', text, unknownKeys: 0 }]);
  });

  it('refuses characters a US keyboard cannot type', () => {
    expect(() => encodeKeyboardReports('a\nb')).toThrow(RangeError);
    expect(() => encodeKeyboardReports('票')).toThrow(RangeError);
  });
});
