import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { GATECTL_BIN, GateProcess, makeFifo, openFifoWriter } from './helpers/processes.js';
import { makeSite, type TestSite } from './helpers/site.js';

// A real stile-gate scanning from a FIFO while `gatectl tickets import` replaces its
// whitelist: two processes on one database. Every scan must be admitted and kept. Not timed.

const TICKETS = 20_000;
let site: TestSite;
let gate: GateProcess;
let scanner: WriteStream;

beforeAll(async () => {
  const fifo = join(tmpdir(), `stile-fifo-import-${process.pid}-${Date.now()}`);
  makeFifo(fifo);
  site = await makeSite(TICKETS, { input: fifo });
  // Short pulses: stop() waits for the relay's queue, 0.4 s a person with the demo's 200/200 ms.
  const cfg = parse(readFileSync(site.configPath, 'utf8')) as { relay: object };
  cfg.relay = { type: 'log', pulseMs: 50, gapMs: 0 };
  writeFileSync(site.configPath, stringify(cfg));
  gate = new GateProcess(site.configPath);
  await gate.waitFor((l) => l.some((x) => x.event === 'started'));
  scanner = await openFifoWriter(fifo);
});
afterAll(async () => {
  scanner?.end();
  await gate?.stop();
  site?.cleanup();
});

function gatectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [GATECTL_BIN, '--config', site.configPath, ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('gatectl tickets import while the gate admits', () => {
  it('admits every scan during the import and keeps every admission in the new whitelist', async () => {
    // The same tickets under a new header: a resync of a park whose sales did not change.
    const lines = readFileSync(site.whitelistPath, 'utf8').split('\n');
    lines[0] = JSON.stringify({ snapshot: { site: 'demo-park', asOfSeq: '2' } });
    const snapshot2 = join(site.dir, 'whitelist-2.ndjson');
    writeFileSync(snapshot2, lines.join('\n'));
    // writeWhitelist's types repeat every 8: 0–4 (adult, child, family) admit at any hour.
    const ids = site.sample.ids.filter((_, i) => i % 8 < 5);

    let importing = true;
    const importer = gatectl('tickets', 'import', snapshot2, '--json').finally(() => (importing = false));
    const scanned: string[] = [];
    let duringImport = 0;
    while (importing && scanned.length < ids.length - 20) {
      const id = ids[scanned.length]!;
      scanner.write(`ST1:${id}\n`);
      scanned.push(id);
      duringImport++;
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await importer;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ imported: true, tickets: TICKETS });
    for (const id of ids.slice(scanned.length, scanned.length + 10)) {
      scanner.write(`ST1:${id}\n`);
      scanned.push(id);
    }
    await gate.waitFor((l) => l.filter((x) => x.event === 'admit' || x.event === 'reject').length >= scanned.length, 20_000);
    expect(duringImport).toBeGreaterThan(0);
    expect(gate.events('reject')).toEqual([]);
    expect(new Set(gate.events('admit').map((x) => x.ticketId))).toEqual(new Set(scanned));

    const db = new Database(site.dbPath, { readonly: true });
    try {
      expect(db.prepare("SELECT value FROM meta WHERE key = 'whitelist_seq'").pluck().get()).toBe('2');
      expect(db.prepare('SELECT count(*) FROM tickets').pluck().get()).toBe(TICKETS);
      expect(db.prepare("SELECT count(*) FROM entries WHERE kind = 'admit'").pluck().get()).toBe(scanned.length);
      const usage = db.prepare<[string], { entries_used: number; last_entry_at: number | null }>('SELECT entries_used, last_entry_at FROM tickets WHERE ticket_id = ?');
      for (const id of scanned) expect(usage.get(id), id).toMatchObject({ entries_used: 1, last_entry_at: expect.any(Number) });
    } finally {
      db.close();
    }
  });
});
