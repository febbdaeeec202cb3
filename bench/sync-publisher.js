// Child process of bench/sync.js: publishes EntriesMessage batches for one gate to the
// broker, QoS 1, with a window of unacknowledged messages, as fast as PUBACKs come back.
// argv: url site gate events batch window tag. IPC: {started} before the first publish,
// {done, ms} after the last PUBACK.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connectAsync } from 'mqtt';

const [url, site, gate, eventsArg, batchArg, windowArg, tag] = process.argv.slice(2);
const EVENTS = Number(eventsArg);
const BATCH = Number(batchArg);
const WINDOW = Number(windowArg);
const topic = `stile/${site}/gates/${gate}/entries`;

const client = await connectAsync(url, { protocolVersion: 5, clientId: `bench-pub-${tag}-${process.pid}`, reconnectPeriod: 0 });
const at = new Date().toISOString();
let seq = 0;
function message() {
  const events = [];
  for (let i = 0; i < BATCH && seq < EVENTS; i++) {
    seq++;
    events.push({ eventId: randomUUID(), seq: String(seq), epoch: 1, kind: 'admit', ticketId: `BENCH${tag}${String(seq).padStart(9, '0')}`, typeId: 'adult', credential: 'qr', persons: 1, at });
  }
  return JSON.stringify({ v: 1, site, gate, events });
}

process.send({ started: true });
const t0 = performance.now();
async function worker() {
  while (seq < EVENTS) await client.publishAsync(topic, message(), { qos: 1 });
}
await Promise.all(Array.from({ length: WINDOW }, worker));
process.send({ done: true, ms: performance.now() - t0 });
await client.endAsync();
process.disconnect();
