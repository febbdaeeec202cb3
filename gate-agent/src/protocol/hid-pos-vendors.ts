/**
 * Scanner families by USB vendor id: which HID POS layout they send, what the host sends on
 * every open, and how a technician puts them into HID POS mode. Data only; the driver
 * (devices/qr-hid.ts) applies it, and `layout:` / `init:` in gate.yaml override it.
 *
 * Sources, per entry: the vendor's integration guide or wiki, or the published WebHID scanner
 * library (@point-of-sale/webhid-barcode-scanner, src/main.js) where it is the only public source.
 */
import type { HidPosLayoutName } from './hid-pos-layouts.js';

/** One thing the host sends to the scanner: a feature report or an output report (first byte = report id). */
export type HidInitStep = { feature: Buffer } | { output: Buffer };

export interface ScannerFamily {
  family: string;
  vendorId: number;
  /** Only these products; omitted = every product of the vendor. */
  productIds?: readonly number[];
  layout: HidPosLayoutName;
  init: readonly HidInitStep[];
  /** How to get the scanner into USB HID POS mode, in words (docs/scanners.md has the table). */
  setup: string;
}

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

export const SCANNER_FAMILIES: readonly ScannerFamily[] = [
  {
    family: 'Honeywell',
    vendorId: 0x0c2e,
    layout: 'honeywell',
    // Feature report 0xFE, value 01: the WebHID library sends it on every open of a Honeywell or
    // Youjie scanner "to enable HID mode". We found no Honeywell document for it; `init: []` drops it.
    init: [{ feature: hex('fe 01') }],
    setup: 'scan "USB HID POS" (often labelled "HID Bar Code Scanner", PAP131) from the user guide',
  },
  {
    family: 'Youjie (Honeywell)',
    vendorId: 0x23d0,
    layout: 'honeywell',
    init: [{ feature: hex('fe 01') }],
    setup: 'scan "USB HID POS" from the Youjie/Honeywell guide',
  },
  {
    family: 'Newland',
    vendorId: 0x1eab,
    layout: 'newland',
    // Newland documents host commands over output report 0x04 (FM30 wiki), but none is needed to
    // read codes; a site that wants one (e.g. command-trigger mode) lists it under init:.
    init: [],
    setup: 'scan "USB HID-POS" from the integration guide (FM420/FM30/EM20xx: the "Tools > HID-POS" code)',
  },
  {
    family: 'Zebra (Symbol)',
    vendorId: 0x05e0,
    layout: 'extra-byte',
    init: [],
    setup: 'scan "USB HID POS" / "IBM hand-held" host type from the product reference guide',
  },
  {
    family: 'Datalogic',
    vendorId: 0x05f9,
    layout: 'extra-byte',
    init: [],
    setup: 'scan "USB-HID-POS" (USB-COM-STD is serial, not HID) from the product reference guide',
  },
];

export function findFamily(vendorId: number, productId: number): ScannerFamily | undefined {
  return SCANNER_FAMILIES.find((f) => f.vendorId === vendorId && (!f.productIds || f.productIds.includes(productId)));
}

/** Parse init bytes as gate.yaml writes them: { feature: "fe 01" } or { output: "fd 03 16 54 0d" }. */
export function initStep(step: { feature: string } | { output: string }): HidInitStep {
  return 'feature' in step ? { feature: hex(step.feature) } : { output: hex(step.output) };
}
