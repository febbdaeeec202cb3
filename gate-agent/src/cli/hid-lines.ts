import type { QrHidConfig } from '@stile/config';
import { chooseInterface, chooseLayout, type HidBackend, type HidDeviceInfo, type HidScanDetail } from '../devices/qr-hid.js';
import { HID_POS_DISCARD_HINTS } from '../protocol/hid-pos.js';
import { LAYOUTS, readHidPosReport } from '../protocol/hid-pos-layouts.js';

/** Space-separated hex, 16 bytes a line, for a technician comparing with a vendor manual. */
export function hexRows(b: Buffer): string[] {
  const rows: string[] = [];
  for (let i = 0; i < b.length; i += 16) rows.push(`${i.toString().padStart(2)}: ${b.subarray(i, i + 16).toString('hex').replace(/(..)(?!$)/g, '$1 ')}`);
  return rows;
}

/** `gatectl scan --json`: one HID POS code as the gate read it. */
export function hidDetailJson(d: HidScanDetail) {
  const layout = LAYOUTS[d.layout];
  const r = d.result;
  return {
    layout: d.layout,
    layoutSource: d.layoutSource,
    reports: d.reports.map((b) => {
      const f = readHidPosReport(b, layout);
      return { hex: b.toString('hex'), ...(f ? { length: f.length, aim: f.aim, symbology: f.symbology, more: f.more } : {}) };
    }),
    ...(r.type === 'scan'
      ? { text: r.text, aim: r.aim }
      : { discarded: r.reason, hint: HID_POS_DISCARD_HINTS[r.reason], ...('bytes' in r ? { bytes: r.bytes.toString('hex') } : {}) }),
  };
}

/** `gatectl scan`: raw reports, the layout used (and why), then the text or why there is none. */
export function hidDetailLines(d: HidScanDetail): string[] {
  const j = hidDetailJson(d);
  return [
    `layout ${d.layout} (from ${d.layoutSource === 'usb-id' ? 'the USB vendor id' : d.layoutSource === 'config' ? 'gate.yaml layout:' : d.layoutSource === 'descriptor' ? 'the report descriptor' : 'no table entry or descriptor: the default'}), ${d.reports.length} report(s):`,
    ...d.reports.flatMap((b, i) => {
      const f = j.reports[i]!;
      return [`report ${i + 1}: ${b.length} bytes, length ${f.length ?? '?'}, AIM ${f.aim ? JSON.stringify(f.aim) : '-'}, symbology 0x${(f.symbology ?? 0).toString(16).padStart(2, '0')}, ${f.more ? 'more follows' : 'last'}`, ...hexRows(b).map((l) => `  ${l}`)];
    }),
    'text' in j ? `decoded ${JSON.stringify(j.text)}${j.aim ? ` (AIM ${JSON.stringify(j.aim)})` : ''}` : `NOT DECODED: ${j.discarded} — ${j.hint}${j.bytes ? ` (data ${j.bytes})` : ''}`,
  ];
}

/** `gatectl devices`: a configured HID scanner present, missing or in the wrong mode, and the layout it would get. */
export function hidConfiguredStatus(cfg: QrHidConfig, infos: HidDeviceInfo[], backend?: Pick<HidBackend, 'descriptor'>): { present: boolean; status: string; note?: string; layout?: string } {
  const vid = typeof cfg.vendorId === 'number' ? cfg.vendorId : parseInt(cfg.vendorId.replace(/^0x/, ''), 16);
  const pid = typeof cfg.productId === 'number' ? cfg.productId : parseInt(cfg.productId.replace(/^0x/, ''), 16);
  const choice = chooseInterface(infos, vid, pid, cfg.mode);
  if (choice.kind === 'missing') return { present: false, status: 'MISSING' };
  if (choice.kind === 'wrong_mode') return { present: true, status: 'WRONG MODE', note: choice.message };
  if (cfg.mode === 'keyboard') return { present: true, status: 'present' };
  const { layout, source } = chooseLayout(cfg.layout, vid, pid, backend?.descriptor?.(choice.device.path));
  return { present: true, status: 'present', layout: `${layout} (${source})` };
}
