import { describe, expect, it } from 'vitest';
import { ADMIT_MESSAGE, REJECT_MESSAGES, REJECT_REASONS } from '@stile/config';
import { encodeGb18030 } from '../../src/protocol/gb18030.js';
import { displayLine, parseDisplayLine } from '../../src/protocol/lane-display.js';
import { parseLaneLine, serializeLaneEvent } from '../../src/protocol/lane-sensor.js';

describe('lane sensor lines', () => {
  it('PASS and EMERGENCY ON/OFF, case and spacing tolerated, anything else unknown', () => {
    expect(parseLaneLine('PASS')).toEqual({ type: 'pass' });
    expect(parseLaneLine(' pass ')).toEqual({ type: 'pass' });
    expect(parseLaneLine('EMERGENCY ON')).toEqual({ type: 'emergency', on: true });
    expect(parseLaneLine('Emergency  off')).toEqual({ type: 'emergency', on: false });
    expect(parseLaneLine('EMERGENCY')).toEqual({ type: 'unknown', text: 'EMERGENCY' });
    expect(parseLaneLine('PASSPASS')).toMatchObject({ type: 'unknown' });
    expect(parseLaneLine('x'.repeat(200))).toEqual({ type: 'unknown', text: 'x'.repeat(64) });
  });

  it('round-trips what hardware-sim sends', () => {
    for (const e of [{ type: 'pass' }, { type: 'emergency', on: true }, { type: 'emergency', on: false }] as const) {
      const line = serializeLaneEvent(e);
      expect(line.endsWith('\n')).toBe(true);
      expect(parseLaneLine(line)).toEqual(e);
    }
  });
});

describe('display lines', () => {
  it('admit: OK, the welcome, and ×N for groups only', () => {
    expect(displayLine({ decision: 'admit', persons: 1 })).toBe('OK 请通行 Welcome\n');
    expect(displayLine({ decision: 'admit', persons: 3 })).toBe('OK 请通行 Welcome ×3\n');
    expect(parseDisplayLine('OK 请通行 Welcome ×3\n')).toEqual({ decision: 'admit', persons: 3, zh: '请通行', en: 'Welcome' });
  });

  it('every reject reason has a line that parses back to it', () => {
    for (const reason of REJECT_REASONS) {
      const line = displayLine({ decision: 'reject', reason });
      expect(line).toMatch(new RegExp(`^NO ${reason} \\S+ [ -~]+\\n$`));
      expect(parseDisplayLine(line)).toEqual({ decision: 'reject', reason, ...REJECT_MESSAGES[reason] });
    }
    expect(parseDisplayLine('NO not_a_reason 好 Fine')).toBeUndefined();
    expect(parseDisplayLine('HELLO')).toBeUndefined();
  });

  it('messages fit a two-line, 16-column LED screen: ≤ 8 hanzi (no spaces), ≤ 16 ASCII characters', () => {
    for (const [key, m] of [['admit', ADMIT_MESSAGE], ...Object.entries(REJECT_MESSAGES)] as const) {
      expect([...m.zh].length, `${key} zh "${m.zh}"`).toBeLessThanOrEqual(8);
      expect(m.zh, key).toMatch(/^\S+$/);
      expect(m.en.length, `${key} en "${m.en}"`).toBeLessThanOrEqual(16);
      expect(m.en, key).toMatch(/^[ -~]+$/);
    }
    expect(Object.keys(REJECT_MESSAGES).sort()).toEqual([...REJECT_REASONS].sort());
  });
});

describe('GB18030 encoding', () => {
  it('ASCII stays one byte; GB2312 characters are the two bytes a GBK font expects', () => {
    // 请 = C7 EB, 通 = CD A8, 行 = D0 D0, × = A1 C1 in GB2312.
    expect(encodeGb18030('OK 请通行 ×3')).toEqual(Buffer.from('4f4b20c7ebcda8d0d020a1c133', 'hex'));
  });

  it('every display message encodes and decodes back unchanged', () => {
    for (const reason of REJECT_REASONS) {
      const line = displayLine({ decision: 'reject', reason });
      expect(new TextDecoder('gb18030').decode(encodeGb18030(line))).toBe(line);
    }
  });

  it('characters outside the two-byte range become "?"', () => {
    expect(encodeGb18030('a😀b')).toEqual(Buffer.from('a?b'));
  });
});
