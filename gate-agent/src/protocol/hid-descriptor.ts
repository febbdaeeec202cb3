/**
 * Just enough of a HID report descriptor parser to find where a HID POS scanner puts its
 * fields in input report 0x02, and so which layout (hid-pos-layouts.ts) it sends. Pure.
 *
 * Usages on the Bar Code Scanner page (0x8C), from the USB HID Point of Sale Usage Tables 1.02:
 * 0xFB–0xFD Symbology Identifier 1–3 (the AIM id), 0xFE Decoded Data. A descriptor that names
 * these settles the layout; many Chinese engines declare one vendor-defined byte array instead,
 * and then the vendor table or `layout:` decides.
 */
import type { HidPosLayoutName } from './hid-pos-layouts.js';

const BARCODE_PAGE = 0x8c;
const SYMBOLOGY_ID_1 = 0xfb;
const DECODED_DATA = 0xfe;

/** Byte offset (report id at 0) of the first field carrying each (page << 16 | usage) in input report `reportId`. */
export function inputFieldOffsets(desc: Buffer, reportId: number): Map<number, number> {
  const found = new Map<number, number>();
  const bitsByReport = new Map<number, number>();
  let page = 0;
  let size = 0;
  let count = 0;
  let id = 0;
  let usages: number[] = [];
  let min: number | null = null;
  let max: number | null = null;
  for (let i = 0; i < desc.length; ) {
    const prefix = desc[i]!;
    if (prefix === 0xfe) {
      i += 3 + (desc[i + 1] ?? 0); // long item: skipped
      continue;
    }
    const n = [0, 1, 2, 4][prefix & 3]!;
    let value = 0;
    for (let k = 0; k < n; k++) value |= (desc[i + 1 + k] ?? 0) << (8 * k);
    value >>>= 0;
    const type = (prefix >> 2) & 3;
    const tag = prefix >> 4;
    i += 1 + n;
    const full = (u: number) => (n === 4 ? u : (page << 16) | u);
    if (type === 1) {
      if (tag === 0) page = value;
      else if (tag === 7) size = value;
      else if (tag === 8) id = value;
      else if (tag === 9) count = value;
    } else if (type === 2) {
      if (tag === 0) usages.push(full(value));
      else if (tag === 1) min = full(value);
      else if (tag === 2) max = full(value);
    } else if (type === 0) {
      if (tag === 8) {
        // Input: `count` fields of `size` bits, named by the usages in order (the last one repeats).
        const start = bitsByReport.get(id) ?? 0;
        const names = usages.length ? usages : min !== null && max !== null ? Array.from({ length: Math.max(0, Math.min(max - min + 1, 4096)) }, (_, k) => min! + k) : [];
        if (id === reportId) {
          for (let f = 0; f < count && f < 4096; f++) {
            const u = names[Math.min(f, names.length - 1)];
            const bit = start + f * size;
            if (u !== undefined && !found.has(u) && bit % 8 === 0) found.set(u, 1 + bit / 8);
          }
        }
        bitsByReport.set(id, start + size * count);
      }
      if (tag === 8 || tag === 9 || tag === 0xb || tag === 0xa || tag === 0xc) {
        usages = [];
        min = max = null;
      }
    }
  }
  return found;
}

/** The layout the descriptor declares for report 0x02, or null when it does not settle it. */
export function layoutFromDescriptor(desc: Buffer): HidPosLayoutName | null {
  const at = inputFieldOffsets(desc, 0x02);
  const sym = at.get((BARCODE_PAGE << 16) | SYMBOLOGY_ID_1);
  const data = at.get((BARCODE_PAGE << 16) | DECODED_DATA);
  if (data === 5 && sym === 2) return 'honeywell';
  if (data === 6 && sym === 3) return 'extra-byte';
  if (data === 2 && sym === undefined) return 'newland';
  return null;
}
