import { existsSync } from 'node:fs';
import pino from 'pino';
import { loadGateConfig, type GateConfig, type RelayConfig } from '@stile/config';
import { createInput, createRelay } from '../devices/create.js';
import { listHidraw, listSerialPorts, type FoundDevice } from '../devices/discover.js';
import { loadNodeHid, QrHidScanner, type HidBackend, type HidDeviceInfo, type HidScanDetail } from '../devices/qr-hid.js';
import type { Credential } from '../gate/credential.js';
import { loadIdHashKey } from '../daemon/secrets.js';
import { openGate } from '../daemon/gate-context.js';
import type { Ctx } from './commands.js';
import { CliError, table } from './output.js';
import { hidConfiguredStatus, hidDetailJson, hidDetailLines } from './hid-lines.js';

/** Device events go to stderr as JSON only with GATECTL_DEBUG; the technician reads the summary. */
const deviceLog = pino({ level: process.env.GATECTL_DEBUG ? 'debug' : 'silent' }, pino.destination(2));

function tryConfig(ctx: Ctx): GateConfig | undefined {
  try {
    return loadGateConfig(ctx.configPath);
  } catch {
    return undefined;
  }
}

const hex4 = (v: number | string) => (typeof v === 'number' ? v.toString(16).padStart(4, '0') : v.replace(/^0x/, '').toLowerCase());

async function hidDevices(): Promise<{ devices: FoundDevice[]; note?: string; infos?: HidDeviceInfo[]; backend?: HidBackend }> {
  try {
    const hid = await loadNodeHid();
    const infos = hid.devices();
    return {
      infos,
      backend: hid,
      devices: infos.map((d) => ({
        kind: 'hid' as const,
        path: d.path ?? '?',
        usb: `${hex4(d.vendorId)}:${hex4(d.productId)}`,
        description: [d.manufacturer, d.product, d.usagePage === 0x8c ? '(HID POS)' : undefined].filter(Boolean).join(' '),
      })),
    };
  } catch (err) {
    return { devices: listHidraw(), note: (err as Error).message };
  }
}

/** `gatectl devices`: what is plugged in, and whether each configured device is there. */
export async function devices(ctx: Ctx): Promise<void> {
  const serial = listSerialPorts();
  const hid = await hidDevices();
  const cfg = tryConfig(ctx);
  const configured: { name: string; type: string; where: string; present: boolean; status?: string; note?: string; layout?: string }[] = cfg
    ? [
        ...cfg.inputs.map((i) => {
          const base = {
            name: i.name,
            type: i.type,
            where: 'path' in i ? i.path : i.type === 'qr-hid' ? `${hex4(i.vendorId)}:${hex4(i.productId)}` : '-',
            present: 'path' in i ? i.path === '-' || existsSync(i.path) : i.type === 'qr-hid' ? hid.devices.some((d) => d.usb === `${hex4(i.vendorId)}:${hex4(i.productId)}`) : false,
          };
          // With node-hid we know the interfaces: a POS scanner still in keyboard mode is WRONG MODE, with the fix.
          return i.type === 'qr-hid' && hid.infos ? { ...base, ...hidConfiguredStatus(i, hid.infos, hid.backend) } : base;
        }),
        { name: 'relay', type: cfg.relay.type, where: 'path' in cfg.relay ? cfg.relay.path : cfg.relay.type === 'gpio' ? `gpio ${cfg.relay.pin}` : '-', present: 'path' in cfg.relay ? existsSync(cfg.relay.path) : cfg.relay.type === 'log' || existsSync('/sys/class/gpio') },
      ]
    : [];
  ctx.out.result({ serial, hid: hid.devices, hidNote: hid.note ?? null, configured }, () => [
    'serial ports:',
    ...(serial.length ? table(serial.map((d) => ['  ' + d.path, d.usb, d.byId, d.description])) : ['  (none)']),
    'HID devices:',
    ...(hid.devices.length ? table(hid.devices.map((d) => ['  ' + d.path, d.usb, d.description])) : ['  (none)']),
    ...(hid.note ? [`  note: ${hid.note}`] : []),
    ...(configured.length
      ? [
          'configured in gate.yaml:',
          ...table(configured.map((c) => ['  ' + c.name, c.type, c.where, c.status ? `${c.status}${c.layout ? `, layout ${c.layout}` : ''}` : c.present ? 'present' : 'MISSING'])),
          ...configured.flatMap((c) => (c.note ? [`  ${c.name}: ${c.note}`] : [])),
        ]
      : []),
  ]);
}

export interface RelayTest {
  persons: number;
  pulses: number;
  events: { event: string; person?: number | undefined; err?: string | undefined; at: number }[];
  /** Why it did not switch; null when every pulse went out. */
  error: string | null;
}

/** Pulse the relay `persons` times as an admission would (`test-relay`, `doctor --relay`); the daemon must not hold it. */
export async function pulseRelay(relayCfg: RelayConfig, persons: number): Promise<RelayTest> {
  const events: RelayTest['events'] = [];
  const t0 = performance.now();
  const capture = pino({ level: 'info' }, { write: (line: string) => { const o = JSON.parse(line) as { event?: string; person?: number; err?: string }; if (o.event) events.push({ event: o.event, person: o.person, err: o.err, at: Math.round(performance.now() - t0) }); } });
  const relay = createRelay(relayCfg, capture);
  // A serial relay board connects asynchronously; give it a moment before the first pulse.
  for (let i = 0; i < 40 && relay.health.state === 'starting'; i++) await new Promise((r) => setTimeout(r, 50));
  await relay.pulse(persons, { ticketId: null });
  await relay.close();
  const pulses = events.filter((e) => e.event === 'relay_pulse').length;
  const failure = events.find((e) => e.event === 'relay_failed' || e.event === 'device_fault');
  return { persons, pulses, events, error: pulses === persons ? null : (failure?.err ?? relay.health.error ?? 'unknown error') };
}

/** `gatectl test-relay [--persons N]`: pulse the configured relay as an admission would. */
export async function testRelay(ctx: Ctx): Promise<void> {
  const cfg = loadGateConfig(ctx.configPath);
  const persons = Number(ctx.flags.persons ?? 1);
  if (!Number.isInteger(persons) || persons < 1 || persons > 20) throw new CliError('--persons must be 1–20', 2);
  const { pulses, events, error } = await pulseRelay(cfg.relay, persons);
  ctx.out.result({ relay: cfg.relay.type, persons, pulses, ok: pulses === persons, events }, () => [
    ...events.filter((e) => e.event === 'relay_pulse').map((e) => `pulse ${e.person}/${persons} at +${e.at} ms (${cfg.relay.pulseMs} ms)`),
    pulses === persons ? `relay ${cfg.relay.type}: ${pulses} pulse(s) sent` : `relay ${cfg.relay.type}: ${pulses}/${persons} pulses`,
  ]);
  if (error !== null) throw new CliError(`relay did not switch: ${error}`);
}

/** `gatectl scan [--input NAME] [--timeout S]`: wait for one scan or card and show it with its dry-run decision. */
export async function scan(ctx: Ctx, deps: { hid?: () => Promise<HidBackend> } = {}): Promise<void> {
  const cfg = loadGateConfig(ctx.configPath);
  const wanted = typeof ctx.flags.input === 'string' ? ctx.flags.input : undefined;
  const chosen = cfg.inputs.filter((i) => wanted === undefined || i.name === wanted);
  if (chosen.length === 0) throw new CliError(`no input named "${wanted}" in ${ctx.configPath}`, 2);
  const timeoutS = Number(ctx.flags.timeout ?? 30);
  const idKey = loadIdHashKey(cfg);
  const inputs = chosen.map((c) => createInput(c, idKey, deviceLog, deps));
  if (!ctx.out.json) process.stderr.write(`waiting up to ${timeoutS} s for a scan on ${chosen.map((c) => c.name).join(', ')}…\n`);
  try {
    // A HID POS scanner also shows its raw reports and layout, and a code it could not decode.
    const details = new Map<string, HidScanDetail>();
    const got = await new Promise<{ cred: Credential | null; input: string } | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutS * 1000);
      for (const input of inputs) {
        if (input instanceof QrHidScanner) {
          input.details.on('decoded', (d) => {
            details.set(d.input, d);
            if (d.result.type === 'discarded' && d.result.reason !== 'bad_report_id') {
              clearTimeout(timer);
              resolve({ cred: null, input: d.input });
            }
          });
        }
        input.on('credential', (cred, name) => {
          clearTimeout(timer);
          resolve({ cred, input: name });
        });
        input.start();
      }
    });
    const detail = got ? details.get(got.input) : undefined;
    if (got && !got.cred) {
      ctx.out.result({ input: got.input, hid: detail ? hidDetailJson(detail) : null, decision: null }, () => [`${got.input}:`, ...(detail ? hidDetailLines(detail) : [])]);
      process.exitCode = 1;
      return;
    }
    if (!got || !got.cred) {
      const faults = inputs.filter((i) => i.health.error).map((i) => `${i.name}: ${i.health.error}`);
      throw new CliError(`no scan within ${timeoutS} s${faults.length ? ` (${faults.join('; ')})` : ''}`);
    }
    const { gatekeeper, store } = openGate(cfg, deviceLog, { inspectOnly: true });
    try {
      const cred = got.cred;
      const outcome = gatekeeper.evaluate(cred, { dryRun: true });
      const shown = cred.kind === 'qr' ? cred.text : `ID card ${cred.masked}`;
      ctx.out.result({ input: got.input, credential: cred.kind === 'qr' ? { kind: 'qr', text: cred.text } : { kind: 'idcard', masked: cred.masked }, ...(detail ? { hid: hidDetailJson(detail) } : {}), decision: outcome.decision, reason: outcome.reason, ticketId: outcome.ticketId }, () => [
        ...(detail ? hidDetailLines(detail) : []),
        `${got.input}: ${JSON.stringify(shown)}`,
        `would ${outcome.decision}${outcome.reason ? `: ${outcome.reason}` : ''}${outcome.ticketId ? ` (ticket ${outcome.ticketId})` : ''}`,
      ]);
    } finally {
      store.close();
    }
  } finally {
    await Promise.all(inputs.map((i) => i.close()));
  }
}
