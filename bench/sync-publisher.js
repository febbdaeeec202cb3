// Child process of bench/sync.js: plays `gates` gates of one site draining their outboxes
// at once: each publishes EntriesMessage batches QoS 1 with at most `window` unacknowledged
// (a real gate keeps 2 in flight), as fast as PUBACKs come back. The events are split
// evenly between the gates, each with its own seq from 1.
// argv: url site gates events batch window tag. IPC: {started} before the first publish,
// {done, ms, cpuMs} after the last PUBACK (cpuMs: this process's user+system CPU).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connectAsync } from 'mqtt';

const [url, site, gatesArg, eventsArg, batchArg, windowArg, tag] = process.argv.slice(2);
const GATES = Number(gatesArg);
const EVENTS = Number(eventsArg);
const BATCH = Number(batchArg);
const WINDOW = Number(windowArg);

const client = await connectAsync(url, { protocolVersion: 5, clientId: `bench-pub-${tag}-${process.pid}`, reconnectPeriod: 0 });
const at = new Date().toISOString();
let ticket = 0;

/** One gate: its share of the events, `WINDOW` batches in flight. */
async function gate(g, events) {
  const topic = `stile/${site}/gates/g${g}/entries`;
  let seq = 0;
  const message = () => {
    const batch = [];
    for (let i = 0; i < BATCH && seq < events; i++) {
      seq++;
      ticket++;
      batch.push({ eventId: randomUUID(), seq: String(seq), epoch: 1, kind: 'admit', ticketId: `BENCH${tag}${String(ticket).padStart(9, '0')}`, typeId: 'adult', credential: 'qr', persons: 1, at });
    }
    return JSON.stringify({ v: 1, site, gate: `g${g}`, events: batch });
  };
  const worker = async () => {
    while (seq < events) await client.publishAsync(topic, message(), { qos: 1 });
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
}

process.send({ started: true });
const t0 = performance.now();
const share = Math.floor(EVENTS / GATES);
await Promise.all(Array.from({ length: GATES }, (_, i) => gate(i + 1, i === GATES - 1 ? EVENTS - share * (GATES - 1) : share)));
const cpu = process.cpuUsage();
process.send({ done: true, ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 });
await client.endAsync();
process.disconnect();
