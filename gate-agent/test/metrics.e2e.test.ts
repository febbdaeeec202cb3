/**
 * stile-gate's Prometheus metrics (docs/metrics.md), scraped over HTTP from a real gate
 * process fed through a FIFO: what a scan does to the figures staff watch.
 */
import { appendFileSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { generateSigningKeyPair, issueOfflineTicket, REJECT_REASONS, topics } from '@stile/config';
import { scrape, valueOf, type Family } from '../../service/test/prom-text.js';
import { BROKER, Observer, uniqueSiteId } from './helpers/mqtt.js';
import { GateProcess, makeFifo, openFifoWriter } from './helpers/processes.js';
import { makeSite, type TestSite } from './helpers/site.js';

let site: TestSite;
let gate: GateProcess;
let scanner: WriteStream;
let url: string;

beforeAll(async () => {
  const fifo = join(tmpdir(), `stile-metrics-fifo-${process.pid}-${Date.now()}`);
  makeFifo(fifo);
  site = await makeSite(50, { input: fifo });
  appendFileSync(site.configPath, 'metrics:\n  listen: "127.0.0.1:0"\n');
  gate = new GateProcess(site.configPath);
  await gate.waitFor((l) => l.some((x) => x.event === 'started'));
  url = gate.events('metrics_started')[0]!.url as string;
  scanner = await openFifoWriter(fifo);
});
afterAll(async () => {
  scanner?.end();
  await gate?.stop();
  site?.cleanup();
});

/** An ST2 code whose payload is another code's: each half is well formed, the signature is not this payload's. */
function forgedCode(): string {
  const issue = (ticketId: string) => issueOfflineTicket(site.signingKey, { site: 'demo-park', ticketId, typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: 1 });
  const a = issue('FORGEDAAAAA1');
  const b = issue('FORGEDBBBBB2');
  return `${a.slice(0, a.indexOf('.'))}${b.slice(b.indexOf('.'))}`;
}

const decided = (n: number) => () => gate.events('admit').length + gate.events('reject').length >= n;

describe('stile-gate /metrics', () => {
  let before: Map<string, Family>;

  it('serves loopback-only Prometheus text with every reject reason at 0 and the devices up', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    before = await scrape(url);
    expect(valueOf(before, 'stile_gate_info', { site: 'demo-park' })).toBe(1);
    expect(valueOf(before, 'stile_gate_admissions_total')).toBe(0);
    for (const reason of REJECT_REASONS) expect(valueOf(before, 'stile_gate_rejects_total', { reason }), reason).toBe(0);
    expect(valueOf(before, 'stile_gate_device_up', { name: 'scanner-1', kind: 'lines' })).toBe(1);
    expect(valueOf(before, 'stile_gate_device_up', { name: 'relay', kind: 'log' })).toBe(1);
    expect(valueOf(before, 'stile_gate_scan_to_relay_seconds_count')).toBe(0);
    expect(before.has('process_resident_memory_bytes')).toBe(true);
    // No cloud link or lane in this gate.yaml: no outbox, whitelist or emergency series rather than made-up zeros.
    expect(before.has('stile_gate_outbox_depth')).toBe(false);
    expect(before.has('stile_gate_emergency_open')).toBe(false);
  });

  it('a valid code and a forged one: one admission, one bad_signature, one scan→relay time', async () => {
    const id = site.sample.ids[0]!;
    scanner.write(`ST1:${id}\n${forgedCode()}\n`);
    await gate.waitFor(decided(2));
    await gate.waitFor(() => gate.events('relay_pulse').length === 1);
    const m = await scrape(url);
    expect(gate.events('reject')[0]).toMatchObject({ reason: 'bad_signature' });
    expect(valueOf(m, 'stile_gate_admissions_total')).toBe(1);
    expect(valueOf(m, 'stile_gate_admitted_persons_total')).toBe(1);
    expect(valueOf(m, 'stile_gate_rejects_total', { reason: 'bad_signature' })).toBe(1);
    expect(m.get('stile_gate_rejects_total')!.samples.reduce((n, s) => n + s.value, 0)).toBe(1);
    expect(valueOf(m, 'stile_gate_scans_total', { credential: 'qr' })).toBe(1);
    expect(valueOf(m, 'stile_gate_scans_total', { credential: 'signed-qr' })).toBe(1);
    // Only the admission moved the relay: one latency observed, and it sits in the +Inf bucket with a positive sum.
    expect(valueOf(m, 'stile_gate_scan_to_relay_seconds_count')).toBe(1);
    expect(valueOf(m, 'stile_gate_scan_to_relay_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(valueOf(m, 'stile_gate_scan_to_relay_seconds_sum')).toBeGreaterThan(0);
    expect(valueOf(m, 'stile_gate_relay_pulses_total')).toBe(1);
    expect(valueOf(m, 'stile_gate_input_reads_total', { name: 'scanner-1', kind: 'lines' })).toBe(2);
  });

  it('an ID-card tap counts as an idcard scan; garbage counts as a discarded line, not a scan', async () => {
    scanner.write(`IDCARD:${site.sample.idCards[1]!}\n${'Z'.repeat(5000)}\n`);
    await gate.waitFor(decided(3));
    await gate.waitFor((l) => l.some((x) => x.msg === 'input line discarded'));
    const m = await scrape(url);
    expect(valueOf(m, 'stile_gate_scans_total', { credential: 'idcard' })).toBe(1);
    expect(valueOf(m, 'stile_gate_admissions_total')).toBe(2);
    const discarded = m.get('stile_gate_input_discarded_total')!.samples.filter((s) => s.labels.name === 'scanner-1');
    expect(discarded.reduce((n, s) => n + s.value, 0)).toBe(1);
  });

  it('the metrics never carry a ticket id or an ID number', async () => {
    const text = await (await fetch(url)).text();
    expect(text).not.toContain(site.sample.ids[0]!);
    expect(text).not.toContain(site.sample.idCards[1]!);
    expect(text).not.toContain(site.sample.idCards[1]!.slice(-4) + '"');
  });
});

describe('gate.yaml metrics on the LAN', () => {
  it('without allowRemote the gate refuses to start and says how to fix it', async () => {
    const other = await makeSite(5);
    try {
      appendFileSync(other.configPath, 'metrics:\n  listen: "0.0.0.0:9464"\n');
      const p = new GateProcess(other.configPath);
      const code = await new Promise<number | null>((r) => p.proc.once('close', r)); // after its stderr is read
      expect(code).toBe(1);
      expect(p.stderr).toContain('metrics.listen: 0.0.0.0 is not a loopback address');
      expect(p.stderr).toContain('allowRemote');
    } finally {
      other.cleanup();
    }
  });
});

describe('stile-gate /metrics with a cloud link (real Mosquitto, no cloud answering)', () => {
  it('shows the outbox filling, the whitelist behind the announced head and the failing resync', async () => {
    const fifo = join(tmpdir(), `stile-metrics-fifo2-${process.pid}-${Date.now()}`);
    makeFifo(fifo);
    const linked = await makeSite(20, { input: fifo });
    const siteId = uniqueSiteId();
    const cfg = parse(readFileSync(linked.configPath, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    cfg.site.id = siteId;
    cfg.keys.control = [{ id: 'c1', publicKey: generateSigningKeyPair('c1').publicKey }];
    cfg.mqtt = { url: BROKER, reconnectMinMs: 50, reconnectMaxMs: 300 };
    cfg.metrics = { listen: '127.0.0.1:0' };
    writeFileSync(linked.configPath, stringify(cfg));
    const p = new GateProcess(linked.configPath);
    const obs = await Observer.connect();
    let writer: WriteStream | undefined;
    try {
      await p.waitFor((l) => l.some((x) => x.event === 'metrics_started'));
      const metricsUrl = p.events('metrics_started')[0]!.url as string;
      writer = await openFifoWriter(fifo);
      const connected = async () => valueOf(await scrape(metricsUrl), 'stile_gate_cloud_connected') === 1;
      for (let i = 0; i < 100 && !(await connected()); i++) await new Promise((r) => setTimeout(r, 50));
      const first = await scrape(metricsUrl);
      expect(valueOf(first, 'stile_gate_cloud_connected')).toBe(1);
      expect(valueOf(first, 'stile_gate_whitelist_seq')).toBe(1);
      // No head heard yet: unknown, not "up to date".
      expect(valueOf(first, 'stile_gate_whitelist_seq_lag')).toBeNaN();
      expect(valueOf(first, 'stile_gate_last_receipt_timestamp_seconds')).toBeNaN();

      // Two admissions nobody in the cloud stores: both wait in the outbox.
      writer.write(`ST1:${linked.sample.ids[0]!}\nST1:${linked.sample.ids[1]!}\n`);
      await p.waitFor((l) => l.filter((x) => x.event === 'admit').length === 2);
      // The cloud announces seq 5; the gate holds 1 and has no snapshotUrl to catch up with.
      await obs.publish(topics.whitelistHead(siteId), { v: 1, seq: '5' }, true);
      await p.waitFor((l) => l.some((x) => x.event === 'resync_failed'));
      let m = await scrape(metricsUrl);
      for (let i = 0; i < 100 && valueOf(m, 'stile_gate_outbox_depth') !== 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
        m = await scrape(metricsUrl);
      }
      expect(valueOf(m, 'stile_gate_outbox_depth')).toBe(2);
      expect(valueOf(m, 'stile_gate_whitelist_head_seq')).toBe(5);
      expect(valueOf(m, 'stile_gate_whitelist_seq_lag')).toBe(4);
      expect(valueOf(m, 'stile_gate_resync_failing')).toBe(1);
      expect(valueOf(m, 'stile_gate_outbox_full')).toBe(0);
    } finally {
      writer?.end();
      await p.stop();
      await obs.clearRetained(topics.whitelistHead(siteId));
      await obs.clearRetained(topics.status(siteId, cfg.gate.id as string));
      await obs.close();
      linked.cleanup();
    }
  });
});
