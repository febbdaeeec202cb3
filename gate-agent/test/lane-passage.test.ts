import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EntryEventSchema } from '@stile/config';
import { GateStore, openDatabase } from '../src/store/index.js';
import { until } from './helpers/fake-serial.js';
import { SENSOR, sleep, startLaneGate, type LaneGate } from './helpers/lane.js';
import { makeSite, noonShanghai, type TestSite } from './helpers/site.js';

/**
 * Passage confirm end to end in one process: a daemon with a log relay and a lane sensor
 * on a fake serial port that the test writes PASS lines into.
 */

const WINDOW_MS = 200;
const LANE = { sensor: { type: 'serial', path: SENSOR }, passageConfirm: { windowMs: WINDOW_MS } };

let site: TestSite;
let gate: LaneGate | undefined;
let now: number;

beforeAll(async () => {
  site = await makeSite(80);
  now = noonShanghai(site.today);
});
afterEach(async () => {
  await gate?.daemon.stop();
  gate = undefined;
});
afterAll(() => site?.cleanup());

/** Read the gate database beside the running daemon, as gatectl would. */
function inspect<T>(fn: (store: GateStore) => T): T {
  const store = new GateStore(openDatabase(site.cfg.store.path, { mustExist: true }));
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

async function start(): Promise<LaneGate> {
  gate = startLaneGate(site, LANE, { now });
  await until(() => gate!.daemon.status().lane?.sensor?.state === 'ok');
  return gate;
}

const sensor = () => gate!.port(SENSOR)!;
const lane = () => gate!.daemon.status().lane!;

// Demo whitelist: index i % 8 is 0–2 adult (single entry), 4 family of 3.
describe('passage confirm', () => {
  it('an admission whose visitor passes within the window stands, with no compensation', async () => {
    const g = await start();
    const id = site.sample.ids[0]!;
    expect((await g.scan(0)).decision).toBe('admit');
    expect(lane().pending).toBe(1);
    sensor().receive('PASS\n');
    expect(lane().pending).toBe(0);
    await sleep(WINDOW_MS + 100);
    expect(lane()).toMatchObject({ passes: 1, tailgates: 0, notPassed: 0 });
    expect(inspect((s) => s.entriesForTicket(id)).map((e) => e.kind)).toEqual(['admit']);
    expect(inspect((s) => s.getTicket(id)?.entriesUsed)).toBe(1);
    expect(g.log.events('not_passed')).toEqual([]);
  });

  it('nobody passes: a durable not-passed event, the entry given back, and the ticket admits again', async () => {
    const g = await start();
    const id = site.sample.ids[1]!;
    const first = await g.scan(1);
    expect(first.decision).toBe('admit');
    const admitSeq = first.entry!.seq;
    await until(() => lane().notPassed === 1);

    const entries = inspect((s) => s.entriesForTicket(id));
    expect(entries).toMatchObject([
      { seq: admitSeq, kind: 'admit', persons: 1, refSeq: null },
      { kind: 'not-passed', persons: 1, refSeq: admitSeq, ticketId: id, credential: 'qr', input: 'test' },
    ]);
    const notPassedSeq = entries[1]!.seq;
    expect(g.log.events('not_passed')).toMatchObject([{ seq: notPassedSeq, refSeq: admitSeq, ticketId: id, missing: 1, of: 1, entryReturned: true }]);
    expect(inspect((s) => s.getTicket(id))).toMatchObject({ entriesUsed: 0, entriesDayCount: 0, lastEntryAt: null });

    // Both events wait in the outbox, in the MQTT contract's shape.
    const outbox = inspect((s) => s.db.prepare<[number, number], { seq: number; payload: string }>('SELECT seq, payload FROM outbox WHERE seq IN (?, ?) ORDER BY seq').all(admitSeq, notPassedSeq));
    const events = outbox.map((r) => EntryEventSchema.parse(JSON.parse(r.payload)));
    expect(events).toMatchObject([
      { seq: String(admitSeq), kind: 'admit', ticketId: id, persons: 1 },
      { seq: String(notPassedSeq), kind: 'not-passed', refSeq: String(admitSeq), ticketId: id, persons: 1 },
    ]);

    // The visitor tries again and gets in, and this time walks through.
    const retry = await g.scan(1);
    expect(retry.decision).toBe('admit');
    sensor().receive('PASS\r\n');
    await sleep(WINDOW_MS + 100);
    expect(lane()).toMatchObject({ notPassed: 1, entriesReturned: 1, passes: 1 });
    expect(inspect((s) => s.getTicket(id)?.entriesUsed)).toBe(1);
    expect((await g.scan(1)).reason).toBe('entries_exhausted');
  });

  it('a group of 3 with 2 through: not-passed for 1 person, and the entry is not given back', async () => {
    const g = await start();
    const id = site.sample.ids[4]!;
    const admit = await g.scan(4);
    expect(admit).toMatchObject({ decision: 'admit', persons: 3 });
    sensor().receive('PASS\nPA');
    sensor().receive('SS\n');
    await until(() => lane().notPassed === 1);
    expect(lane()).toMatchObject({ passes: 2, notPassedPersons: 1, entriesReturned: 0, pending: 0 });
    expect(inspect((s) => s.entriesForTicket(id))).toMatchObject([
      { kind: 'admit', persons: 3 },
      { kind: 'not-passed', persons: 1, refSeq: admit.entry!.seq },
    ]);
    expect(g.log.events('not_passed')).toMatchObject([{ missing: 1, of: 3, entryReturned: false }]);
    expect(inspect((s) => s.getTicket(id))?.entriesUsed).toBe(1);
    expect((await g.scan(4)).reason).toBe('entries_exhausted');
  });

  it('PASS events match admissions oldest first; a PASS with none waiting is a tailgate', async () => {
    const g = await start();
    await g.scan(12); // family of 3
    await g.scan(2); // adult
    expect(lane().pending).toBe(2);
    sensor().receive('PASS\nPASS\nPASS\n');
    expect(lane().pending).toBe(1); // the family is through; the adult has not come
    await until(() => lane().notPassed === 1);
    expect(inspect((s) => s.entriesForTicket(site.sample.ids[2]!)).map((e) => e.kind)).toEqual(['admit', 'not-passed']);
    expect(inspect((s) => s.entriesForTicket(site.sample.ids[12]!)).map((e) => e.kind)).toEqual(['admit']);
    sensor().receive('PASS\n');
    expect(lane()).toMatchObject({ passes: 4, tailgates: 1, pending: 0 });
    expect(g.log.events('tailgate')).toHaveLength(1);
  });

  it('while the sensor is gone, admissions are not tracked and never compensated', async () => {
    const g = await start();
    g.fake.unavailable = true;
    sensor().unplug();
    const admit = await g.scan(9);
    expect(admit.decision).toBe('admit');
    expect(lane().pending).toBe(0);
    await sleep(WINDOW_MS + 100);
    expect(lane().notPassed).toBe(0);
    expect(inspect((s) => s.entriesForTicket(site.sample.ids[9]!))).toHaveLength(1);
  });
});
