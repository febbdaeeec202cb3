import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueOfflineTicket, type GateConfig, type HID_POS_LAYOUTS } from '@stile/config';
import { startGateDaemon, type GateDaemon } from '../../gate-agent/src/daemon/gate-daemon.js';
import { until } from '../../gate-agent/test/helpers/fake-serial.js';
import { RecordingRelay, captureLog, FAST_BACKOFF } from '../../gate-agent/test/helpers/lane.js';
import { makeSite, noonShanghai, type TestSite } from '../../gate-agent/test/helpers/site.js';
import { SimHidScanner } from '../src/index.js';

/**
 * The lane end to end with a USB HID POS scanner, once per report layout: SimHidScanner plays
 * the scanner (enumeration, interfaces, reports in its layout) as the daemon's HID backend,
 * in-process, because hidraw cannot be faked across processes without /dev/uhid (root).
 * Scan → decode → decide → entry → relay, with the layout the daemon picks by itself.
 */
type Layout = (typeof HID_POS_LAYOUTS)[number];
const CASES: { family: string; layout: Layout; vendorId: number; productId: number; aim: string | null; configured?: Layout }[] = [
  { family: 'Honeywell (by USB id)', layout: 'honeywell', vendorId: 0x0c2e, productId: 0x0b61, aim: ']Q1' },
  { family: 'Newland (by USB id)', layout: 'newland', vendorId: 0x1eab, productId: 0x0d10, aim: null },
  { family: 'Datalogic (by USB id)', layout: 'extra-byte', vendorId: 0x05f9, productId: 0x4204, aim: ']Q1' },
  { family: 'unknown OEM engine with layout: newland', layout: 'newland', vendorId: 0x34eb, productId: 0x1502, aim: null, configured: 'newland' },
];

let site: TestSite;
let now: number;
let daemon: GateDaemon | undefined;
let nextTicket = 0;

beforeAll(async () => {
  site = await makeSite(80);
  now = noonShanghai(site.today);
});
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});
afterAll(() => site?.cleanup());

function startLane(sim: SimHidScanner, extra: Record<string, unknown> = {}) {
  const log = captureLog();
  const relay = new RecordingRelay(log.log);
  const input = { type: 'qr-hid', name: 'hid-1', vendorId: sim.vendorId, productId: sim.productId, mode: 'pos', reportGapMs: 50, ...extra } as GateConfig['inputs'][number];
  daemon = startGateDaemon({ ...site.cfg, inputs: [input] }, log.log, { clock: () => now, relay, inputDevices: { hid: async () => sim.backend, backoff: FAST_BACKOFF } });
  const d = daemon;
  return { relay, log, input: () => d.status().inputs[0]! };
}

/** A single-entry adult ticket from the demo whitelist (index i % 8 in 0–2). */
function ticket(): string {
  while (nextTicket % 8 > 2) nextTicket++;
  return `ST1:${site.sample.ids[nextTicket++]!}`;
}

describe.each(CASES.map((c, i) => ({ ...c, i })))('HID POS lane: $family', ({ layout, vendorId, productId, aim, configured, i }) => {
  it(`admits ST1 and multi-report ST2 codes in the ${layout} layout; a lost report is dropped, not glued`, async () => {
    const sim = new SimHidScanner({ vendorId, productId, layout, aim });
    const { relay, input } = startLane(sim, configured ? { layout: configured } : {});
    await until(() => input().state === 'ok');
    expect(input().kind).toBe(`qr-hid-pos:${layout}`);

    await sim.scan(ticket());
    await until(() => daemon!.status().admitted === 1 && relay.drives.length >= 2);
    expect(relay.drives.slice(0, 2)).toEqual([true, false]); // one pulse

    const st2 = issueOfflineTicket(site.signingKey, { site: 'demo-park', ticketId: `HIDLANE000${i}`, typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: 1 });
    const reports = await sim.scan(st2);
    expect(reports.length).toBeGreaterThan(1);
    await until(() => daemon!.status().admitted === 2);

    // The hub loses the last report of a code; the next visitor's scan must decode on its own.
    await sim.scan(`ST1:${'X'.repeat(90)}`, { dropLast: true });
    await until(() => input().discarded.gap_timeout === 1);
    await sim.scan(ticket());
    await until(() => daemon!.status().admitted === 3);
    expect(daemon!.status().rejected).toBe(0);
    expect(input().discarded).toEqual({ gap_timeout: 1 });
  });
});

describe('HID POS lane: scanner still in keyboard mode', () => {
  it('shows wrong_mode with the fix, and reads once the setup code is scanned', async () => {
    const sim = new SimHidScanner({ mode: 'keyboard' });
    const { input, relay } = startLane(sim);
    await until(() => input().state === 'wrong_mode');
    expect(input().error).toMatch(/scan the vendor's USB HID POS setup code .*, or set mode: keyboard/);
    expect(sim.opens).toBe(0);
    sim.replug('pos'); // the setup code makes the scanner re-enumerate as HID POS
    await until(() => input().state === 'ok');
    expect(sim.received).toEqual([{ kind: 'feature', bytes: Buffer.from([0xfe, 0x01]) }]); // Honeywell init, sent on open
    await sim.scan(ticket());
    await until(() => relay.drives.length > 0);
    expect(daemon!.status().admitted).toBe(1);
  });
});
