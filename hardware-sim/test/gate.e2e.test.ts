import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { issueOfflineTicket } from '@stile/config';
import { GATECTL_BIN, GateProcess } from '../../gate-agent/test/helpers/processes.js';
import { makeSite, type TestSite } from '../../gate-agent/test/helpers/site.js';
import { playVisitors, startSimGate, type SimGate } from '../src/index.js';

/**
 * The whole gate as it runs at a park: a real stile-gate process opens what it believes
 * are a serial QR scanner, a GA/T 467 ID-card reader and an LCUS relay board — in fact
 * pseudo-terminals whose other ends hardware-sim plays. Only bytes cross between them.
 */
let site: TestSite;
let sim: SimGate;
let gate: GateProcess;

const PULSE_MS = 100;
const GAP_MS = 100;

beforeAll(async () => {
  site = await makeSite(200);
  sim = await startSimGate({ dir: site.dir, sensor: false });
  const cfg = parse(readFileSync(site.configPath, 'utf8')) as Record<string, unknown>;
  const devices = parse(sim.gateYaml()) as { inputs: unknown[]; relay: Record<string, unknown> };
  cfg.inputs = devices.inputs;
  cfg.relay = { ...devices.relay, pulseMs: PULSE_MS, gapMs: GAP_MS };
  writeFileSync(site.configPath, stringify(cfg));
  gate = new GateProcess(site.configPath);
  await gate.waitFor((l) => l.filter((x) => x.event === 'device_ok').length >= 3);
});
afterAll(async () => {
  await gate?.stop();
  await sim?.close();
  site?.cleanup();
});

const settle = (ms = 400) => new Promise((r) => setTimeout(r, ms));
const rejectFor = (reason: string) => (l: { event?: string; reason?: string }[]) => l.some((x) => x.event === 'reject' && x.reason === reason);

describe('stile-gate on simulated hardware over real ptys', () => {
  it('a valid QR scan gives exactly one relay pulse of the configured width', async () => {
    sim.relay.clear();
    await sim.scanner.scan(`ST1:${site.sample.ids[0]!}`);
    await sim.relay.waitForPulse({ timeoutMs: 3000 });
    await settle();
    expect(sim.relay.pulses).toHaveLength(1);
    expect(sim.relay.pulses[0]!.ms).toBeGreaterThanOrEqual(PULSE_MS - 40); // the sim timestamps bytes on its own (busy) event loop
  });

  it('a family ticket of 3 gives three pulses, one per person', async () => {
    sim.relay.clear();
    await sim.scanner.scan(`ST1:${site.sample.ids[4]!}`);
    await gate.waitFor(() => sim.relay.pulses.length === 3);
    await settle();
    expect(sim.relay.pulses).toHaveLength(3);
    const gaps = sim.relay.pulses.slice(1).map((p, i) => p.onAt - sim.relay.pulses[i]!.offAt);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(GAP_MS - 40);
  });

  it('an ID card left on the reader admits once', async () => {
    sim.relay.clear();
    // idCards[k] is bound to ticket 10·k; use one far from the QR tests' tickets, of a type
    // valid at any hour (80 is an adult day ticket; 70 is a night tour, refused before 17:00).
    sim.idReader!.placeCard({ idNumber: site.sample.idCards[8]! });
    await sim.relay.waitForPulse({ timeoutMs: 4000 });
    await settle(3500); // three more poll cycles with the card still there
    sim.idReader!.removeCard();
    expect(sim.relay.pulses).toHaveLength(1);
    const admits = gate.events('admit').filter((a) => a.credential === 'idcard');
    expect(admits).toHaveLength(1);
    // The log never pairs a masked number with the ticket it opened.
    expect(admits[0]!.idcard).toBeUndefined();
    expect(JSON.stringify(gate.logs)).not.toContain(site.sample.idCards[8]!);
  });

  it('a forged code opens nothing and the reason is logged', async () => {
    sim.relay.clear();
    const code = issueOfflineTicket(site.signingKey, { site: 'demo-park', ticketId: 'FORGED0000001', typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 2, issuedAt: 1 });
    const sig = code.lastIndexOf('.') + 3;
    await sim.scanner.scan(`${code.slice(0, sig)}${code[sig] === 'A' ? 'B' : 'A'}${code.slice(sig + 1)}`);
    await gate.waitFor(rejectFor('bad_signature'));
    await settle();
    expect(sim.relay.pulses).toHaveLength(0);
  });

  it('noise on the scanner line never opens the relay, and the next real scan still works', async () => {
    sim.relay.clear();
    await sim.scanner.noise(Buffer.from([0x00, 0xff, 0x13, 0x0d, 0x41, 0x42, 0x0a, 0x1b]));
    await sim.scanner.scan(`ST1:${site.sample.ids[1]!}`);
    await sim.relay.waitForPulse({ timeoutMs: 3000 });
    await settle();
    expect(sim.relay.pulses).toHaveLength(1);
  });

  it('a scanner unplugged and plugged back is reconnected and scanning again', async () => {
    await sim.scanner.unplug();
    await gate.waitFor((l) => l.some((x) => x.event === 'device_fault' && x.device === 'scanner'), 20_000); // a loaded machine notices the hang-up late
    // The technician sees it in gatectl status (heartbeat every 2 s), while the reader stays up.
    await settle(2500);
    const status = JSON.parse(execFileSync(process.execPath, [GATECTL_BIN, '--config', site.configPath, 'status', '--json'], { encoding: 'utf8' })) as {
      daemon: { inputs: { name: string; state: string; error?: string }[] };
    };
    expect(status.daemon.inputs.find((i) => i.name === 'scanner')).toMatchObject({ state: 'reconnecting' });
    expect(status.daemon.inputs.find((i) => i.name === 'idcard')).toMatchObject({ state: 'ok' });
    await sim.scanner.replug();
    const oks = () => gate.logs.filter((x) => x.event === 'device_ok' && x.device === 'scanner').length;
    await gate.waitFor(() => oks() >= 2, 20_000);
    sim.relay.clear();
    await sim.scanner.scan(`ST1:${site.sample.ids[2]!}`);
    await sim.relay.waitForPulse({ timeoutMs: 3000 });
    expect(sim.relay.pulses).toHaveLength(1);
  });

  it('plays a visitor flow: every visitor gets the outcome their ticket calls for', async () => {
    // Adult tickets only (no time-window types, whose outcome depends on the hour), none used above.
    const qr = site.sample.ids.map((id, i) => ({ id, i })).filter(({ i }) => i >= 20 && i < 100 && i % 8 < 3 && i % 10 !== 0).map(({ id }) => `ST1:${id}`);
    const cards = [12, 13, 16, 17].map((k) => site.sample.idCards[k]!); // bound to adult tickets 120, 130, 160, 170
    const report = await playVisitors({
      lanes: [sim],
      ratePerMin: 300,
      count: 16,
      mix: { validQr: 8, idCard: 3, forged: 3, duplicate: 2 },
      codes: { validQr: () => qr.shift(), idCard: () => cards.shift() },
      admitWindowMs: 1200,
      seed: 3,
    });
    expect(report.errors).toBe(0);
    expect(report.unexpected).toBe(0);
    expect(report.admitted).toBeGreaterThan(0);
    expect(report.rejected).toBeGreaterThan(0);
    expect(report.latencyMs?.count).toBe(report.admitted);
    expect(JSON.stringify(report)).not.toMatch(/\d{17}[\dX]/); // ID numbers only masked
  }, 60_000);
});
