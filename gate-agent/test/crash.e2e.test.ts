import { once } from 'node:events';
import { readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueOfflineTicket } from '@stile/config';
import { GateProcess, makeFifo, openFifoWriter, type LogLine } from './helpers/processes.js';
import { makeSite, type TestSite } from './helpers/site.js';

/**
 * Durable admission, proven the hard way: a real stile-gate is fed a fast stream of
 * scans and killed with SIGKILL at a random moment, over and over. Whatever the moment,
 * the restarted gate must never admit a used single-entry ticket again, and every relay
 * pulse any incarnation logged must have its journal and outbox rows.
 */
const ROUNDS = 10;
const SCANS_PER_ROUND = 400;

let site: TestSite;
let fifo: string;
const logs: LogLine[] = [];

function fastRelay(configPath: string): void {
  const text = readFileSync(configPath, 'utf8').replace(/pulseMs: \d+/, 'pulseMs: 50').replace(/gapMs: \d+/, 'gapMs: 0');
  writeFileSync(configPath, text);
}

beforeAll(async () => {
  fifo = join((await import('node:os')).tmpdir(), `stile-crash-${process.pid}-${Date.now()}`);
  makeFifo(fifo);
  site = await makeSite(6000, { input: fifo });
  fastRelay(site.configPath);
});
afterAll(() => site?.cleanup());

/** A scan stream mixing fresh tickets, re-scans, group tickets, ID cards and signed offline codes. */
function scanLines(round: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < SCANS_PER_ROUND; i++) {
    const n = round * SCANS_PER_ROUND + i;
    const r = n % 10;
    if (r < 5) lines.push(`ST1:${site.sample.ids[n % site.sample.ids.length]!}`);
    else if (r < 7) lines.push(`ST1:${site.sample.ids[Math.floor(n / 3) % site.sample.ids.length]!}`); // a re-scan
    else if (r < 8) lines.push(`IDCARD:${site.sample.idCards[n % site.sample.idCards.length]!}`);
    else {
      // The same signed offline ticket shows up twice in a row, then never again.
      const id = `OFF${String(Math.floor(n / 2)).padStart(8, '0')}`;
      lines.push(issueOfflineTicket(site.signingKey, { site: 'demo-park', ticketId: id, typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: 1 }));
    }
  }
  return lines;
}

async function killMidStream(round: number): Promise<void> {
  const gate = new GateProcess(site.configPath);
  await gate.waitFor((l) => l.some((x) => x.event === 'started'));
  const scanner: WriteStream = await openFifoWriter(fifo);
  scanner.on('error', () => {}); // EPIPE once the reader is dead
  scanner.write(`${scanLines(round).join('\n')}\n`);
  // Kill somewhere between the first admission and deep into the stream.
  const admitsBeforeKill = 1 + Math.floor(Math.random() * 60);
  await gate.waitFor((l) => l.filter((x) => x.event === 'admit').length >= admitsBeforeKill || l.filter((x) => x.event === 'admit' || x.event === 'reject').length >= SCANS_PER_ROUND);
  await new Promise((r) => setTimeout(r, Math.random() * 8));
  const closed = once(gate.proc, 'close');
  gate.proc.kill('SIGKILL');
  await closed;
  scanner.destroy();
  logs.push(...gate.logs);
}

describe('kill -9 during a stream of scans', () => {
  it(`loses no entry and double-admits nothing over ${ROUNDS} crashes`, async () => {
    for (let round = 0; round < ROUNDS; round++) await killMidStream(round);

    const pulsedSeqs = new Set(logs.filter((l) => l.event === 'relay_pulse').map((l) => l.seq));
    const admitted = logs.filter((l) => l.event === 'admit');
    expect(admitted.length).toBeGreaterThan(ROUNDS); // the test really exercised admissions

    const db = new Database(site.dbPath, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const seqs = new Set((db.prepare('SELECT seq FROM entries').all() as { seq: number }[]).map((r) => r.seq));
      // Every turnstile movement and every logged admission is in the journal.
      for (const seq of pulsedSeqs) expect(seqs.has(seq as number)).toBe(true);
      for (const a of admitted) expect(seqs.has(a.seq as number)).toBe(true);
      // Every journal row is waiting in the outbox for the cloud.
      const outbox = (db.prepare('SELECT seq FROM outbox ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
      expect(outbox).toEqual([...seqs].sort((a, b) => a - b));
      // No single-entry ticket was admitted twice, by any incarnation.
      const twice = db.prepare("SELECT ticket_id, count(*) AS n FROM entries WHERE type_id != 'two-day' GROUP BY ticket_id HAVING n > 1").all();
      expect(twice).toEqual([]);
      // The ticket rows agree with the journal.
      const drift = db
        .prepare(
          // Admits, minus the not-passed events that gave the entry back (nobody of the admission passed).
          `SELECT t.ticket_id FROM tickets t JOIN (
             SELECT ticket_id, sum(kind = 'admit') - sum(kind = 'not-passed' AND persons = (SELECT a.persons FROM entries a WHERE a.seq = e.ref_seq)) AS n
             FROM entries e GROUP BY ticket_id
           ) e USING (ticket_id) WHERE t.entries_used != e.n`,
        )
        .all();
      expect(drift).toEqual([]);
    } finally {
      db.close();
    }

    // A clean restart: every ticket that got in is refused at the gate, and nothing pulses.
    const used = new Database(site.dbPath, { readonly: true });
    const usedIds = (used.prepare("SELECT DISTINCT ticket_id AS id FROM entries WHERE type_id != 'two-day' AND ticket_id NOT LIKE 'OFF%'").all() as { id: string }[]).map((r) => r.id);
    used.close();
    const gate = new GateProcess(site.configPath);
    try {
      await gate.waitFor((l) => l.some((x) => x.event === 'started'));
      const scanner = await openFifoWriter(fifo);
      scanner.write(`${usedIds.map((id) => `ST1:${id}`).join('\n')}\n`);
      await gate.waitFor((l) => l.filter((x) => x.event === 'reject' || x.event === 'admit').length >= usedIds.length, 20_000);
      expect(gate.events('admit')).toEqual([]);
      expect(gate.events('relay_pulse')).toEqual([]);
      expect(new Set(gate.events('reject').map((r) => r.reason))).toEqual(new Set(['entries_exhausted']));
      scanner.end();
    } finally {
      await gate.stop();
    }
  }, 120_000);
});
