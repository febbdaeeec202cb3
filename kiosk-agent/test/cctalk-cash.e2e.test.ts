/**
 * The kiosk's cash devices against hardware-sim's ccTalk bill validator and hopper on real
 * pseudo-terminals (socat): the serialport, framing, polling and escrow paths all run for real.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { SimCashDevices, type SimCashOptions } from '@stile/hardware-sim';
import { CashDevices, type CashFault, type HeldNote, type StackedNote } from '../src/devices/cctalk-cash.js';
import { parseCashConfig, type CashDevicesInput } from '../src/devices/cctalk-config.js';
import { CashErrorCode, isCashDeviceError } from '../src/devices/cctalk-errors.js';

const silent = pino({ level: 'silent' });
const ALL_NOTES = [1000, 2000, 5000, 10000];
let dir: string;
let n = 0;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stile-cash-'));
});
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(path: string, extra: Partial<CashDevicesInput> = {}) {
  const r = parseCashConfig({ path, hopper: { pollMs: 20 }, ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** A simulated validator + hopper and the kiosk's CashDevices on it, both ready. */
async function setup(sim: SimCashOptions | Omit<SimCashOptions, 'dir'> = {}, cfg: Partial<CashDevicesInput> = {}) {
  const device = await SimCashDevices.open({ dir, name: `cctalk-${++n}`, ...sim });
  const cash = new CashDevices(config(device.devicePath, cfg), silent);
  cleanup.push(() => device.close(), () => cash.close());
  const seen = { held: [] as HeldNote[], stacked: [] as StackedNote[], returned: [] as [HeldNote | undefined, string][], rejected: [] as string[], faults: [] as CashFault[], ready: [] as string[] };
  cash.on('noteHeld', (x) => seen.held.push(x));
  cash.on('noteStacked', (x) => seen.stacked.push(x));
  cash.on('noteReturned', (x, why) => seen.returned.push([x, why]));
  cash.on('noteRejected', (x) => seen.rejected.push(x));
  cash.on('fault', (f) => seen.faults.push(f));
  cash.on('ready', (d) => seen.ready.push(d));
  cash.start();
  const wantReady = (sim.hopper === false ? 0 : 1) + (sim.validator === false ? 0 : 1);
  await vi.waitFor(() => expect(seen.ready).toHaveLength(wantReady), { timeout: 5000 });
  return { device, cash, seen };
}

const waitFor = (fn: () => void, timeout = 5000) => vi.waitFor(fn, { timeout, interval: 20 });

describe('cash devices over ccTalk, end to end', () => {
  it('a ¥10 note is held in escrow, accepted, stacked and counted once', async () => {
    const { device, cash, seen } = await setup();
    expect(cash.billTypes.map((t) => [t.billId, t.fen])).toEqual([
      ['CN0001A', 100], ['CN0005A', 500], ['CN0010A', 1000], ['CN0020A', 2000], ['CN0050A', 5000], ['CN0100A', 10000],
    ]);
    await cash.enable(ALL_NOTES);
    expect(device.validator?.enabledTypes).toEqual([3, 4, 5, 6]);
    expect(device.validator?.escrowEnabled).toBe(true);

    expect(device.validator?.insertNote(1000)).toBe('held');
    await waitFor(() => expect(seen.held).toHaveLength(1));
    const note = seen.held[0]!;
    expect(note).toMatchObject({ billId: 'CN0010A', fen: 1000 });
    expect(device.validator?.stacker).toEqual([]); // still in escrow: no money taken yet
    await cash.accept(note);
    expect(seen.stacked).toEqual([{ note, billId: 'CN0010A', fen: 1000 }]);
    expect(device.validator?.stacker).toEqual([1000]);
    await expect(cash.accept(note)).rejects.toMatchObject({ code: CashErrorCode.NotHeld });
    await new Promise((r) => setTimeout(r, 500)); // more polls: the note is not counted again
    expect(seen.stacked).toHaveLength(1);
    expect(seen.faults).toEqual([]);
  });

  it('returns a held note on request, and the visitor gets it back', async () => {
    const { device, cash, seen } = await setup();
    await cash.enable(ALL_NOTES);
    device.validator?.insertNote(2000);
    await waitFor(() => expect(seen.held).toHaveLength(1));
    await cash.returnNote(seen.held[0]!);
    expect(seen.returned).toEqual([[seen.held[0], 'requested']]);
    expect(seen.stacked).toEqual([]);
    expect(device.validator?.stacker).toEqual([]);
  });

  it('a fake note and a note of a value not enabled are rejected; nothing is held', async () => {
    const { device, cash, seen } = await setup();
    await cash.enable([1000, 2000]);
    device.validator?.insertNote('fake');
    await waitFor(() => expect(seen.rejected).toEqual(['invalid_bill_validation']));
    device.validator?.insertNote(10000);
    await waitFor(() => expect(seen.rejected).toEqual(['invalid_bill_validation', 'inhibited_bill_serial']));
    await expect(cash.enable([1000, 300])).rejects.toThrow(/no bill type for 300 fen/);
    await cash.disable();
    device.validator?.insertNote(1000);
    await waitFor(() => expect(device.validator?.eventCounter).toBe(3));
    expect(seen.held).toEqual([]);
  });

  it('a jam while the note is in escrow is a fault naming the note; it can no longer be accepted', async () => {
    const { device, cash, seen } = await setup();
    await cash.enable(ALL_NOTES);
    device.validator?.insertNote(5000);
    await waitFor(() => expect(seen.held).toHaveLength(1));
    device.validator?.jam();
    await waitFor(() => expect(seen.faults.map((f) => f.code)).toContain('bill_jammed_transport_unsafe'));
    expect(seen.faults.find((f) => f.code === 'bill_jammed_transport_unsafe')).toMatchObject({ device: 'bill_validator', note: { fen: 5000 } });
    await expect(cash.accept(seen.held[0]!)).rejects.toMatchObject({ code: CashErrorCode.NotHeld });
    expect(cash.validator.health.state).toBe('degraded');
    expect(seen.stacked).toEqual([]);
  });

  it('a note that jams on its way to the stacker fails accept() with the fault', async () => {
    const { device, cash, seen } = await setup();
    await cash.enable(ALL_NOTES);
    device.validator?.jamNextStack();
    device.validator?.insertNote(10000);
    await waitFor(() => expect(seen.held).toHaveLength(1));
    await expect(cash.accept(seen.held[0]!)).rejects.toThrow(/bill_jammed_stacker/);
    expect(seen.faults).toMatchObject([{ code: 'bill_jammed_stacker', note: { fen: 10000 } }]);
  });

  it('a note nobody decides on goes back after the escrow timeout', async () => {
    const { device, cash, seen } = await setup({}, { billValidator: { escrowTimeoutMs: 1000 } });
    await cash.enable(ALL_NOTES);
    device.validator?.insertNote(1000);
    await waitFor(() => expect(seen.returned).toEqual([[seen.held[0], 'escrow_timeout']]), 4000);
    expect(device.validator?.inEscrow).toBeNull();
  });

  it('pays ¥3 change from a hopper with 2 coins left: 2 paid, 1 unpaid, hopper empty', async () => {
    const { device, cash, seen } = await setup({ hopper: { coins: 2, coinMs: 10 } });
    const change = await cash.payChange(300);
    expect(change).toMatchObject({ requestedFen: 300, paidFen: 200, unpaidFen: 100, fault: 'hopper_empty', coins: { requested: 3, paid: 2, unpaid: 1 } });
    expect(seen.faults).toMatchObject([{ device: 'hopper', code: 'hopper_empty' }]);
    expect(device.hopper?.coins).toBe(0);
    expect(device.count('dispenseHopperCoins')).toBe(1);
    await expect(cash.payChange(250)).rejects.toMatchObject({ code: CashErrorCode.BadRequest });
    expect(cash.canMakeChange(300)).toBe(true);
    expect(cash.canMakeChange(250)).toBe(false);
  });

  it('pays in full when the coins are there, and reports a jam', async () => {
    const { device, cash } = await setup({ hopper: { coins: 10, coinMs: 5 } });
    expect(await cash.payChange(500)).toEqual({ requestedFen: 500, paidFen: 500, unpaidFen: 0, coins: { requested: 5, paid: 5, unpaid: 0 } });
    device.hopper?.jam(1);
    expect(await cash.payChange(300)).toMatchObject({ paidFen: 100, unpaidFen: 200, fault: 'hopper_jam' });
    expect(device.hopper?.coins).toBe(4);
  });

  it('unplugged: clear errors and faults; replugged: ready again and taking notes', async () => {
    const { device, cash, seen } = await setup();
    await cash.enable(ALL_NOTES);
    await device.unplug();
    await waitFor(() => expect(seen.faults.map((f) => `${f.device}:${f.code}`)).toEqual(expect.arrayContaining(['bill_validator:device_unavailable', 'hopper:device_unavailable'])));
    const err = await cash.enable(ALL_NOTES).catch((e: unknown) => e);
    expect(isCashDeviceError(err, CashErrorCode.DeviceUnavailable)).toBe(true);
    await expect(cash.payChange(100)).rejects.toMatchObject({ code: CashErrorCode.DeviceUnavailable });
    expect(cash.bus.health.state).toBe('reconnecting');

    seen.ready.length = 0;
    await device.replug();
    await waitFor(() => expect(seen.ready.sort()).toEqual(['bill_validator', 'hopper']), 10_000);
    expect(cash.bus.health.reconnects).toBeGreaterThanOrEqual(1);
    device.validator?.insertNote(1000);
    await waitFor(() => expect(seen.held).toHaveLength(1));
    await cash.accept(seen.held[0]!);
    expect(device.validator?.stacker).toEqual([1000]);
  });

  it('a validator that powers up again is set up again, inhibits included', async () => {
    const { device, cash, seen } = await setup();
    await cash.enable([1000]);
    // Before any event its counter is 0 either way: the lost master inhibit gives the reset away.
    seen.ready.length = 0;
    device.validator?.powerCycle();
    await waitFor(() => expect(seen.faults.map((f) => f.code)).toEqual(['device_reset']));
    await waitFor(() => expect(seen.ready).toEqual(['bill_validator']));
    expect(device.validator?.enabledTypes).toEqual([3]);
    // With a note in escrow, the counter falls back to 0: the note's fate goes with the fault.
    device.validator?.insertNote(1000);
    await waitFor(() => expect(seen.held).toHaveLength(1));
    seen.ready.length = 0;
    device.validator?.powerCycle();
    await waitFor(() => expect(seen.faults).toHaveLength(2));
    expect(seen.faults[1]).toMatchObject({ code: 'device_reset', note: { id: seen.held[0]?.id, fen: 1000 } });
    await waitFor(() => expect(seen.ready).toEqual(['bill_validator']));
    expect(device.validator?.enabledTypes).toEqual([3]);
  });

  it('an answer lost on the line: dispense is not sent twice, and a stacked note is still counted', async () => {
    const { device, cash, seen } = await setup({ hopper: { coins: 10, coinMs: 5 } });
    device.failNext('silence', { header: 167 });
    expect(await cash.payChange(300)).toMatchObject({ paidFen: 300, unpaidFen: 0 });
    expect(device.count('dispenseHopperCoins')).toBe(1);
    expect(device.hopper?.coins).toBe(7);

    await cash.enable(ALL_NOTES);
    device.validator?.insertNote(5000);
    await waitFor(() => expect(seen.held).toHaveLength(1));
    device.failNext('silence', { header: 154 });
    await expect(cash.accept(seen.held[0]!)).rejects.toMatchObject({ code: CashErrorCode.NoAnswer });
    // The validator did stack it; the event says so and the journal counts it.
    await waitFor(() => expect(seen.stacked).toEqual([{ note: seen.held[0], billId: 'CN0050A', fen: 5000 }]));
    expect(device.count('routeBill')).toBe(2); // the one at start-up, and this one: not repeated
  });

  it('works on a single-wire line that echoes requests, and through a noisy line', async () => {
    const { device, cash, seen } = await setup({ echo: true }, { echo: true });
    await cash.enable(ALL_NOTES);
    device.failNext('bad_checksum', { times: 2 });
    device.failNext('garbage', { times: 2 });
    device.validator?.insertNote(2000);
    await waitFor(() => expect(seen.held).toHaveLength(1));
    await cash.accept(seen.held[0]!);
    expect(seen.stacked).toMatchObject([{ fen: 2000 }]);
    expect(cash.bus.echoes).toBeGreaterThan(10);
    // The tail of a damaged answer can count as garbage too, so at least what the line injected.
    expect(cash.bus.health.discarded.bad_checksum).toBe(2);
    expect(cash.bus.health.discarded.garbage).toBeGreaterThanOrEqual(2);
  });

  it('names what is wrong: nothing at the path, or the wrong device at the address', async () => {
    const cash = new CashDevices(config(join(dir, 'no-such-port'), { hopper: null }), silent);
    cleanup.push(() => cash.close());
    cash.start();
    await waitFor(() => expect(cash.bus.health.error).toMatch(/no such device — is it plugged in\?/));
    await expect(cash.enable(ALL_NOTES)).rejects.toMatchObject({ code: CashErrorCode.DeviceUnavailable });
    expect(await cash.payChange(100)).toMatchObject({ paidFen: 0, unpaidFen: 100, fault: 'no_hopper' });

    const device = await SimCashDevices.open({ dir, name: `cctalk-${++n}` });
    const wrong = new CashDevices(config(device.devicePath, { billValidator: { address: 3 }, hopper: { address: 40 } }), silent);
    cleanup.push(() => device.close(), () => wrong.close());
    const faults: CashFault[] = [];
    wrong.on('fault', (f) => faults.push(f));
    wrong.start();
    await waitFor(() => expect(faults.map((f) => f.message)).toEqual(expect.arrayContaining([expect.stringMatching(/is a "Payout", not a bill validator/), expect.stringMatching(/is a "Bill Validator", not a payout hopper/)])));
  });

  it('reports every config error at once, with its path', () => {
    const r = parseCashConfig({ path: '', billValidator: { address: 1, country: 'cn' }, hopper: { coinFen: 0 } });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => e.path).sort()).toEqual(['billValidator.address', 'billValidator.country', 'hopper.coinFen', 'path']);
    expect(parseCashConfig({ path: '/dev/ttyUSB0' })).toMatchObject({ ok: true, config: { baudRate: 9600, billValidator: { address: 40, pollMs: 100 }, hopper: { address: 3, coinFen: 100 } } });
  });
});
