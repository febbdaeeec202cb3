import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueOfflineTicket } from '@stile/config';
import { GateProcess, makeFifo, openFifoWriter } from './helpers/processes.js';
import { makeSite, type TestSite } from './helpers/site.js';
import type { WriteStream } from 'node:fs';

let site: TestSite;
let gate: GateProcess;
let scanner: WriteStream;
let fifo: string;

beforeAll(async () => {
  fifo = join((await import('node:os')).tmpdir(), `stile-fifo-${process.pid}-${Date.now()}`);
  makeFifo(fifo);
  site = await makeSite(100, { input: fifo });
  gate = new GateProcess(site.configPath);
  await gate.waitFor((l) => l.some((x) => x.event === 'started'));
  scanner = await openFifoWriter(fifo);
});
afterAll(async () => {
  scanner?.end();
  await gate?.stop();
  site?.cleanup();
});

const pulsesFor = (ticketId: string) => gate.events('relay_pulse').filter((p) => p.ticketId === ticketId).length;
const decisionFor = (ticketId: string | null, reason?: string) => (l: { event?: string; ticketId?: string | null; reason?: string }) =>
  (l.event === 'admit' || l.event === 'reject') && (ticketId === null || l.ticketId === ticketId) && (reason === undefined || l.reason === reason);

describe('stile-gate daemon (real process, FIFO input, logging relay)', () => {
  it('a valid QR scan gives exactly one relay pulse; scanning it again gives none', async () => {
    const id = site.sample.ids[0]!;
    scanner.write(`]Q1ST1:${id}\r\n`);
    await gate.waitFor(() => pulsesFor(id) === 1);
    scanner.write(`ST1:${id}\n`);
    await gate.waitFor((l) => l.some(decisionFor(id, 'entries_exhausted')));
    await new Promise((r) => setTimeout(r, 300));
    expect(pulsesFor(id)).toBe(1);
  });

  it('a family ticket of 3 gives three pulses', async () => {
    const id = site.sample.ids[4]!;
    scanner.write(`ST1:${id}\n`);
    await gate.waitFor(() => pulsesFor(id) === 3);
    const pulses = gate.events('relay_pulse').filter((p) => p.ticketId === id);
    expect(pulses.map((p) => p.person)).toEqual([1, 2, 3]);
  });

  it('a forged code is refused with its reason and never pulses', async () => {
    const code = issueOfflineTicket(site.signingKey, { site: 'demo-park', ticketId: 'FORGED00001', typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 5, issuedAt: 1 });
    const dot = code.indexOf('.');
    const forged = `${code.slice(0, dot - 4)}${code[dot - 4] === 'A' ? 'B' : 'A'}${code.slice(dot - 3)}`;
    scanner.write(`${forged}\n`);
    await gate.waitFor((l) => l.some((x) => x.event === 'reject' && (x.reason === 'bad_signature' || x.reason === 'malformed_code')));
    expect(pulsesFor('FORGED00001')).toBe(0);
  });

  it('garbage, binary noise and an over-long line do not stop the gate', async () => {
    scanner.write(Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x41, 0x0a]));
    scanner.write(`${'Z'.repeat(5000)}\n`);
    scanner.write('not a ticket\n');
    const id = site.sample.ids[1]!;
    scanner.write(`ST1:${id}\n`);
    await gate.waitFor(() => pulsesFor(id) === 1);
    expect(gate.logs.some((l) => l.msg === 'input line discarded')).toBe(true);
    expect(gate.logs.filter(decisionFor(null, 'malformed_code')).length).toBeGreaterThanOrEqual(2);
  });

  it('an ID card tap admits once even when tapped again', async () => {
    const idNumber = site.sample.idCards[1]!;
    const stranger = '11010519491231002X'; // valid, bound to no ticket
    scanner.write(`IDCARD:${idNumber}\nIDCARD:${idNumber}\nIDCARD:${stranger}\n`);
    await gate.waitFor((l) => l.some((x) => x.event === 'reject' && x.reason === 'no_ticket_today'));
    const admits = gate.events('admit').filter((a) => a.credential === 'idcard');
    expect(admits).toHaveLength(1);
    expect(gate.logs.some((x) => x.event === 'reject' && x.credential === 'idcard' && x.reason === 'entries_exhausted')).toBe(true);
    // The full number never reaches the log.
    expect(JSON.stringify(gate.logs)).not.toContain(idNumber);
    expect(JSON.stringify(gate.logs)).not.toContain(stranger);
    // A mask next to a ticket id ties a person to a visit: only a card without a ticket is logged masked.
    const masked = gate.logs.filter((x) => x.idcard !== undefined);
    expect(masked.map((x) => x.reason)).toEqual(['no_ticket_today']);
    expect(masked[0]!.idcard).toMatch(/^\*{14}\d{3}[\dX]$/);
    expect(gate.logs.filter((x) => x.idcard !== undefined && x.ticketId != null)).toEqual([]);
  });

  it('keeps reading when the scanner process closes the FIFO and another opens it', async () => {
    scanner.end();
    await new Promise((r) => setTimeout(r, 100));
    scanner = await openFifoWriter(fifo);
    const id = site.sample.ids[2]!;
    scanner.write(`ST1:${id}\n`);
    await gate.waitFor(() => pulsesFor(id) === 1);
  });

  it('stops cleanly on SIGTERM', async () => {
    const code = await gate.stop('SIGTERM');
    expect(code).toBe(0);
    expect(gate.events('stopped')).toHaveLength(1);
  });
});
