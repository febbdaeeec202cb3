/**
 * Where the fields of a USB HID POS input report sit, per scanner family. Data, not code paths:
 * the decoder (hid-pos.ts) reads every layout with the same few lines.
 *
 * Offsets count from the report id at [0], as node-hid / hidraw hand the report over
 * (WebHID strips the id, so its offsets are one less). For a 64-byte report:
 *
 *   honeywell   [1] length  [2..4] AIM id   [5..60] data (56)  [61] vendor symbology  [62] 0  [63] bit0 more
 *               Honeywell, Youjie (a Honeywell brand) and engines that copy them; the USB HID POS
 *               examples in Access-IS manuals show the same bytes.
 *   newland     [1] length  [2..57] data (56)  [58..61] reserved  [62] symbology  [63] bit0 more
 *               No AIM slot. Newland's integration guides (FM420, FM30 wiki) and the OEM guides that
 *               copy them (Quio QU-R-302, IDTech, Unitech) give this table.
 *   extra-byte  [1] length  [2] one byte of unknown use  [3..5] AIM id  [6..60] data (55)  [61] symbology  [63] bit0 more
 *               The published WebHID scanner library (@point-of-sale/webhid-barcode-scanner) finds the AIM
 *               "]" one byte later than Honeywell puts it and reads data one byte later too; it added that
 *               with its Zebra (Symbol) and Datalogic support.
 *
 * A smaller or larger report keeps the head and the tail and changes only the data capacity, so
 * tests can split a code after every few bytes.
 */

import { HID_POS_LAYOUTS } from '@stile/config';

export { HID_POS_LAYOUTS };
export type HidPosLayoutName = (typeof HID_POS_LAYOUTS)[number];

export interface HidPosLayout {
  name: HidPosLayoutName;
  /** Offset of the 3-byte AIM id, or null when the layout has none. */
  aimAt: number | null;
  /** Offset of the first data byte. */
  dataAt: number;
  /** Bytes after the data area: reserved, symbology, flags. The flags byte is always last. */
  tail: number;
  /** Vendor symbology byte, counted back from the end (1 = the flags byte itself). */
  symbologyFromEnd: number;
}

export const LAYOUTS: Readonly<Record<HidPosLayoutName, HidPosLayout>> = {
  honeywell: { name: 'honeywell', aimAt: 2, dataAt: 5, tail: 3, symbologyFromEnd: 3 },
  newland: { name: 'newland', aimAt: null, dataAt: 2, tail: 6, symbologyFromEnd: 2 },
  'extra-byte': { name: 'extra-byte', aimAt: 3, dataAt: 6, tail: 3, symbologyFromEnd: 3 },
};

export const HID_POS_REPORT_ID = 0x02;
/** Flags byte (last): bit 0 set = the code continues in the next report. */
export const HID_POS_MORE = 0x01;

/** Data bytes one report of `size` bytes carries in `layout` (56 for 64-byte Honeywell/Newland reports). */
export function capacityOf(layout: HidPosLayout, size: number): number {
  return size - layout.dataAt - layout.tail;
}

/** The fields of one report, read without judging them (for `gatectl scan` and tests). */
export interface HidPosFields {
  reportId: number;
  length: number;
  aim: string | null;
  data: Buffer;
  symbology: number;
  more: boolean;
}

/** The 3-character AIM id at the layout's slot; null without a slot or when it is zeros (AIM ids disabled). */
export function aimOf(report: Buffer, layout: HidPosLayout): string | null {
  const a = layout.aimAt;
  return a === null || (report[a] === 0 && report[a + 1] === 0 && report[a + 2] === 0) ? null : report.toString('latin1', a, a + 3);
}

/** Read one report's fields; null when it is too short to hold the layout's head and tail. */
export function readHidPosReport(report: Buffer, layout: HidPosLayout): HidPosFields | null {
  if (capacityOf(layout, report.length) < 1) return null;
  const length = report[1] ?? 0;
  return {
    reportId: report[0] ?? 0,
    length,
    aim: aimOf(report, layout),
    data: report.subarray(layout.dataAt, layout.dataAt + Math.min(length, capacityOf(layout, report.length))),
    symbology: report[report.length - layout.symbologyFromEnd] ?? 0,
    more: ((report[report.length - 1] ?? 0) & HID_POS_MORE) !== 0,
  };
}
