import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineFramer } from '../src/protocol/line-framer.js';

describe('LineFramer', () => {
  it('joins a code split across chunks and accepts CR, LF and CRLF', () => {
    const f = new LineFramer();
    expect(f.push('ST1:ABC')).toEqual([]);
    expect(f.push('DEFGH\r\nST1:X')).toEqual([{ type: 'line', text: 'ST1:ABCDEFGH' }]);
    expect(f.push('YZ\rNEXT\n')).toEqual([
      { type: 'line', text: 'ST1:XYZ' },
      { type: 'line', text: 'NEXT' },
    ]);
  });

  it('reports an over-long line as discarded and does not glue it to the next code', () => {
    const f = new LineFramer(16);
    const frames = [...f.push('x'.repeat(10)), ...f.push('y'.repeat(10)), ...f.push('\nST1:OK\n')];
    expect(frames).toEqual([
      { type: 'discarded', reason: 'too_long', length: 20 },
      { type: 'line', text: 'ST1:OK' },
    ]);
  });

  it('ignores empty lines between codes', () => {
    expect(new LineFramer().push('\r\n\r\nA\r\n\n')).toEqual([{ type: 'line', text: 'A' }]);
  });

  it('yields the same lines however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Z0-9:]{1,20}$/), { maxLength: 20 }), fc.array(fc.nat(50)), (lines, cuts) => {
        const text = lines.map((l) => `${l}\r\n`).join('');
        const f = new LineFramer();
        const out: string[] = [];
        let pos = 0;
        for (const c of [...cuts, text.length]) {
          const end = Math.min(text.length, pos + c);
          for (const fr of f.push(text.slice(pos, end))) if (fr.type === 'line') out.push(fr.text);
          pos = end;
        }
        for (const fr of f.push(text.slice(pos))) if (fr.type === 'line') out.push(fr.text);
        expect(out).toEqual(lines);
      }),
    );
  });
});
