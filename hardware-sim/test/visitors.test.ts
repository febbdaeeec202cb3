import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ga467Command, Ga467Framer, LineFramer, decodeIdText, displayLine, encodeRelayCommand, encodeRequest, parseCardData, parseResponse } from '@stile/gate-agent/protocol';
import { EXPECTED_OUTCOME, loadIdCards, loadWhitelistCodes, makeIdNumber, playVisitors, startSimGate, type SimGate } from '../src/index.js';
import { GatePort, sleep, tempDir } from './helpers.js';

/**
 * A stand-in for stile-gate, just enough to close the loop: QR lines and ID-card reads in,
 * relay pulses and display lines out, single entry per ticket, PASS lines counted.
 */
class MiniGate {
  passes = 0;
  private stopped = false;
  private ports: GatePort[] = [];
  private relayQueue = Promise.resolve();
  private display: GatePort | undefined;

  constructor(
    private readonly tickets: Map<string, { persons: number; used: boolean }>,
    private readonly idCards: Map<string, { used: boolean }>,
  ) {}

  async start(sim: SimGate): Promise<void> {
    const [scanner, relay, reader, sensor, display] = await Promise.all([
      GatePort.open(sim.paths.scanner, 9600),
      GatePort.open(sim.paths.relay, 9600),
      GatePort.open(sim.paths.idCard as string, 115200),
      GatePort.open(sim.paths.sensor as string, 9600),
      GatePort.open(sim.paths.display as string, 9600),
    ]);
    this.ports = [scanner, relay, reader, sensor, display];
    this.display = display;
    const lines = new LineFramer();
    scanner.port.on('data', (chunk: Buffer) => {
      for (const f of lines.push(chunk.toString('utf8'))) if (f.type === 'line') this.admit(this.tickets.get(f.text.replace(/^ST1:/, '')), relay);
    });
    sensor.port.on('data', (chunk: Buffer) => (this.passes += chunk.toString().split('PASS').length - 1));
    void this.pollReader(reader, relay);
  }

  private admit(entry: { persons?: number; used: boolean } | undefined, relay: GatePort): void {
    if (!entry || entry.used) {
      void this.display?.write(displayLine({ decision: 'reject', reason: entry ? 'entries_exhausted' : 'unknown_ticket' }));
      return;
    }
    entry.used = true;
    const persons = entry.persons ?? 1;
    void this.display?.write(displayLine({ decision: 'admit', persons }));
    this.relayQueue = this.relayQueue.then(async () => {
      for (let i = 0; i < persons; i++) {
        if (i > 0) await sleep(50);
        await relay.write(encodeRelayCommand(1, true));
        await sleep(60);
        await relay.write(encodeRelayCommand(1, false));
      }
    });
  }

  private async pollReader(reader: GatePort, relay: GatePort): Promise<void> {
    const framer = new Ga467Framer();
    const ask = async (c: { cmd: number; para: number }) => {
      await reader.write(encodeRequest(c.cmd, c.para));
      for (let i = 0; i < 50; i++) {
        const f = framer.push(reader.received);
        reader.received = Buffer.alloc(0);
        const frame = f.find((x) => x.type === 'frame');
        if (frame?.type === 'frame') return parseResponse(frame.payload);
        await sleep(5);
      }
      return null;
    };
    while (!this.stopped) {
      await sleep(40);
      if ((await ask(Ga467Command.findCard))?.status !== 'card_found') continue;
      if ((await ask(Ga467Command.selectCard))?.status !== 'ok') continue;
      const read = await ask(Ga467Command.readBase);
      if (read?.status !== 'ok') continue;
      const data = parseCardData(read.data);
      const card = data.ok ? decodeIdText(data.text) : null;
      if (card?.cardType === 'resident') this.admit(this.idCards.get(card.idNumber), relay);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.relayQueue;
    await Promise.all(this.ports.map((p) => p.close()));
  }
}

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe('playVisitors', () => {
  it('drives two lanes and reports admissions, rejections and scan→relay latency', async () => {
    const valid = ['T0000001', 'T0000002', 'T0000003', 'T0000004', 'T0000005', 'T0000006'];
    const ids = [makeIdNumber(1), makeIdNumber(2), makeIdNumber(3)];
    const tickets = new Map(valid.map((t) => [t, { persons: 1, used: false }]));
    const idCards = new Map(ids.map((id) => [id, { used: false }]));
    const lanes = await Promise.all([1, 2].map((n) => startSimGate({ dir: tmp.dir, prefix: `lane${n}-`, idReader: { timing: { readMs: 5 } } })));
    const gates = lanes.map(() => new MiniGate(tickets, idCards));
    await Promise.all(gates.map((g, i) => g.start(lanes[i] as SimGate)));
    try {
      const report = await playVisitors({
        lanes,
        ratePerMin: 1200,
        count: 12,
        mix: { validQr: 4, idCard: 2, forged: 1, expired: 1, duplicate: 2 },
        codes: {
          validQr: () => {
            const t = valid.shift();
            return t && `ST1:${t}`;
          },
          idCard: () => ids.shift(),
          expired: () => 'ST1:OLDTICKET1',
        },
        admitWindowMs: 300,
        idCardWindowMs: 800,
        settleMs: 100,
        walkMs: 20,
        seed: 7,
      });
      expect(report.visitors).toBe(12);
      expect(report.errors).toBe(0);
      expect(report.unexpected).toBe(0);
      expect(report.latePulses).toBe(0);
      for (const r of report.results) {
        if (r.outcome !== 'skipped') expect(r.outcome).toBe(EXPECTED_OUTCOME[r.kind]);
        // The display says why: unknown for forged and expired codes, used for the duplicate.
        if (r.outcome === 'rejected') expect(r.reason).toBe(r.kind === 'duplicate' ? 'entries_exhausted' : 'unknown_ticket');
        if (r.outcome === 'admitted') expect(r.display).toMatch(/^OK /);
      }
      expect(report.admitted).toBeGreaterThan(0);
      expect(report.rejected).toBeGreaterThan(0);
      expect(report.admitted + report.rejected + report.skipped).toBe(12);
      expect(report.latencyMs?.count).toBe(report.admitted);
      expect(report.byKind.idCard.admitted).toBe(report.byKind.idCard.visitors - report.byKind.idCard.skipped);
      expect(report.results.filter((r) => r.kind === 'idCard' && r.outcome === 'admitted').every((r) => r.code?.includes('*'))).toBe(true);
      await sleep(100);
      expect(gates.reduce((a, g) => a + g.passes, 0)).toBe(report.admitted);

      // A group ticket: two pulses for one visitor.
      tickets.set('GROUP0001', { persons: 2, used: false });
      const group = await playVisitors({ lanes: [lanes[0] as SimGate], ratePerMin: 600, count: 1, mix: { validQr: 1 }, codes: { validQr: () => 'ST1:GROUP0001' }, settleMs: 120 });
      expect(group.results[0]).toMatchObject({ outcome: 'admitted', pulses: 2 });
    } finally {
      await Promise.all(gates.map((g) => g.stop()));
      await Promise.all(lanes.map((l) => l.close()));
    }
  });

  it('refuses a mix it has no codes for', async () => {
    await expect(playVisitors({ lanes: [], ratePerMin: 1, count: 1, mix: { validQr: 1 }, codes: {} })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});

describe('code files', () => {
  it('takes today’s unused tickets as valid and earlier days’ as expired from a whitelist', async () => {
    const file = join(tmp.dir, 'whitelist.ndjson');
    const lines = [
      { snapshot: { site: 'demo', asOfSeq: '1' } },
      { ticketId: 'TODAY0001', typeId: 'adult', visitDate: '2026-05-01' },
      { ticketId: 'TODAY0002', typeId: 'adult', visitDate: '2026-05-01', status: 'refunded' },
      { ticketId: 'TODAY0003', typeId: 'adult', visitDate: '2026-05-01', entriesUsed: 1 },
      { ticketId: 'TODAY0004', typeId: 'adult', visitDate: '2026-05-01', slotStart: '09:00', slotEnd: '10:00' },
      { ticketId: 'TODAY0005', typeId: 'adult', visitDate: '2026-05-01', slotStart: '14:00', slotEnd: '15:00' },
      { ticketId: 'PAST00001', typeId: 'adult', visitDate: '2026-04-30' },
      { ticketId: 'LATER0001', typeId: 'adult', visitDate: '2026-05-02' },
    ];
    writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const wl = await loadWhitelistCodes(file, { today: '2026-05-01', time: '09:30' });
    expect(wl.valid).toEqual(['ST1:TODAY0001', 'ST1:TODAY0004']);
    expect(wl.expired).toEqual(['ST1:PAST00001']);
    expect([wl.codes.validQr?.(), wl.codes.validQr?.(), wl.codes.validQr?.()]).toEqual(['ST1:TODAY0001', 'ST1:TODAY0004', undefined]);

    const idFile = join(tmp.dir, 'ids.txt');
    writeFileSync(idFile, `# test cards\n${makeIdNumber(1)} 李四\n\n${makeIdNumber(2).toLowerCase()}\n`);
    const ids = await loadIdCards(idFile);
    expect(ids.cards.map((c) => (c.cardType === 'resident' ? [c.idNumber, c.name] : null))).toEqual([
      [makeIdNumber(1), '李四'],
      [makeIdNumber(2), '测试游客'],
    ]);
    writeFileSync(idFile, 'not-a-number\n');
    await expect(loadIdCards(idFile)).rejects.toMatchObject({ code: 'BAD_INPUT_FILE' });
  });
});
