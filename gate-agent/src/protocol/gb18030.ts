/**
 * Text → GB18030 bytes for display boards whose fonts are GB2312/GBK (most Chinese LED
 * controllers). Node can decode GB18030 (ICU) but not encode it, so the two-byte table is
 * built once by decoding every lead/trail pair. ASCII is one byte; characters outside
 * the two-byte (GBK) range, which no LED font has anyway, become "?".
 */
let table: Map<number, number> | undefined;

function buildTable(): Map<number, number> {
  const pairs: number[] = [];
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) if (trail !== 0x7f) pairs.push((lead << 8) | trail);
  }
  const bytes = Buffer.alloc(pairs.length * 2);
  pairs.forEach((p, i) => bytes.writeUInt16BE(p, i * 2));
  const text = new TextDecoder('gb18030').decode(bytes);
  // Every pair in these ranges is one BMP character, so string index i is pair i.
  if (text.length !== pairs.length) throw new Error(`GB18030 table: expected ${pairs.length} characters, ICU gave ${text.length}`);
  const map = new Map<number, number>();
  for (let i = 0; i < pairs.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0xfffd && !map.has(code)) map.set(code, pairs[i]!);
  }
  return map;
}

export function encodeGb18030(text: string): Buffer {
  table ??= buildTable();
  const out: number[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 0x80) {
      out.push(code);
      continue;
    }
    const pair = table.get(code);
    if (pair === undefined) out.push(0x3f);
    else out.push(pair >> 8, pair & 0xff);
  }
  return Buffer.from(out);
}
