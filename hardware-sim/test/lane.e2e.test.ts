import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { GateProcess } from '../../gate-agent/test/helpers/processes.js';
import { makeSite, type TestSite } from '../../gate-agent/test/helpers/site.js';
import { startSimGate, type SimGate } from '../src/index.js';

/** The lane around the turnstile, end to end: passage sensor, emergency input and visitor display on ptys. */
let site: TestSite;
let sim: SimGate;
let gate: GateProcess;
const WINDOW_MS = 1500;

beforeAll(async () => {
  site = await makeSite(100);
  sim = await startSimGate({ dir: site.dir, idCard: false });
  const cfg = parse(readFileSync(site.configPath, 'utf8')) as Record<string, unknown>;
  const devices = parse(sim.gateYaml()) as { inputs: unknown[]; relay: Record<string, unknown>; lane: Record<string, unknown> };
  cfg.inputs = devices.inputs;
  cfg.relay = { ...devices.relay, pulseMs: 100, gapMs: 100 };
  cfg.lane = { ...devices.lane, passageConfirm: { windowMs: WINDOW_MS }, emergency: { mode: 'fail-safe' } };
  writeFileSync(site.configPath, stringify(cfg));
  gate = new GateProcess(site.configPath);
  await gate.waitFor((l) => l.filter((x) => x.event === 'device_ok').length >= 4);
});
afterAll(async () => {
  await gate?.stop();
  await sim?.close();
  site?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lane devices with a real stile-gate', () => {
  it('the display greets an admitted visitor; a confirmed passage keeps the entry', async () => {
    const id = site.sample.ids[0]!;
    const shown = sim.display!.waitForLine({ match: (l) => l.text.startsWith('OK'), timeoutMs: 3000 });
    await sim.scanner.scan(`ST1:${id}`);
    await sim.relay.waitForPulse({ timeoutMs: 3000 });
    await shown;
    await sim.sensor!.pass(1);
    await sleep(WINDOW_MS + 500);
    expect(gate.events('not_passed').filter((e) => e.ticketId === id)).toEqual([]);
  });

  it('an admission nobody walks through is given back, and the ticket admits again', async () => {
    const id = site.sample.ids[1]!;
    await sim.scanner.scan(`ST1:${id}`);
    await gate.waitFor((l) => l.some((x) => x.event === 'not_passed' && x.ticketId === id), 5000);
    sim.relay.clear();
    await sim.scanner.scan(`ST1:${id}`);
    await sim.relay.waitForPulse({ timeoutMs: 3000 });
    expect(gate.events('admit').filter((a) => a.ticketId === id)).toHaveLength(2);
    await sim.sensor!.pass(1);
  });

  it('a refused code shows its reason on the display and moves nothing', async () => {
    sim.relay.clear();
    const shown = sim.display!.waitForLine({ match: (l) => l.text.startsWith('NO'), timeoutMs: 3000 });
    await sim.scanner.scan('ST1:NOSUCHTICKET0000000000');
    const line = await shown;
    expect(line.text).toContain('unknown_ticket');
    await sleep(300);
    expect(sim.relay.pulses).toHaveLength(0);
  });

  it('EMERGENCY ON holds the lane open until EMERGENCY OFF', async () => {
    await sim.sensor!.setEmergency(true);
    await gate.waitFor((l) => l.some((x) => x.event === 'emergency_open'));
    await sleep(100);
    expect(sim.relay.isOn()).toBe(true);
    await sim.sensor!.setEmergency(false);
    await gate.waitFor((l) => l.some((x) => x.event === 'emergency_closed'));
    await sleep(100);
    expect(sim.relay.isOn()).toBe(false);
  });

  it('fail-safe: a lost sensor opens the lane; back again, it closes', async () => {
    const closedBefore = gate.events('emergency_closed').length;
    await sim.sensor!.unplug();
    await gate.waitFor((l) => l.filter((x) => x.event === 'emergency_open').length >= 2, 20_000); // a loaded machine notices the hang-up late
    await sleep(100);
    expect(sim.relay.isOn()).toBe(true);
    await sim.sensor!.replug();
    await gate.waitFor(() => gate.events('emergency_closed').length > closedBefore, 20_000);
    await sleep(100);
    expect(sim.relay.isOn()).toBe(false);
  });
});
