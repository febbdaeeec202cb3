// Child process of bench/fleet.js: many gates as lightweight MQTT 5 clients, one TCP
// connection and session each (a minimal client written here: CONNECT, SUBSCRIBE, PUBLISH
// QoS 1 both ways with PUBACK, PINGREQ; mqtt.js costs too much memory and CPU per client
// for thousands in one process). Each gate subscribes to what a real gate does (its site's
// whitelist delta and head, its own commands and entries receipts) and publishes each
// admission at once as a one-event EntriesMessage (QoS 1), as a gate with an empty outbox
// does. It does not verify the cloud's signatures (a real gate spends ~0.1 ms per message
// on that, on its own CPU) and does not resend after a missing receipt.
//
// Measures, on this machine's clock (performance.timeOrigin + now(), shared by processes):
//  - ingest lag: an admission's time → its receipt (entries/ack, sent by the cloud after the
//    commit) arriving at the gate;
//  - sale → all gates: the cloud names each sale's ticket `S<park>_<µs at the call>`; the
//    sample is complete when every gate of that park (all in this process) got the delta.
// IPC (from the parent): setup, go, stop, close; answers ready, result.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();
const KEEPALIVE_S = 60;

// ---- MQTT 5 encoding (only what a gate needs) ------------------------------------------

function varint(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
function str(s) {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}
function packet(first, ...parts) {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([first]), varint(body.length), body]);
}
const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);
const NO_PROPS = Buffer.from([0]);
const PINGREQ = Buffer.from([0xc0, 0x00]);
const DISCONNECT = Buffer.from([0xe0, 0x00]);

const connectPacket = (clientId) => packet(0x10, str('MQTT'), Buffer.from([5, 0x02]), u16(KEEPALIVE_S), NO_PROPS, str(clientId));
const subscribePacket = (id, filters) => packet(0x82, u16(id), NO_PROPS, ...filters.map((t) => Buffer.concat([str(t), Buffer.from([1])])));
const publishPacket = (id, topic, payload) => packet(0x32, str(topic), u16(id), NO_PROPS, payload);
const pubackPacket = (id) => Buffer.from([0x40, 0x02, id >> 8, id & 0xff]);

/** Read a variable byte integer at `off`; null if incomplete. */
function readVarint(buf, off) {
  let mult = 1;
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (off + i >= buf.length) return null;
    const b = buf[off + i];
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return { value, len: i + 1 };
    mult *= 128;
  }
  throw new Error('malformed remaining length');
}

// ---- state and figures -----------------------------------------------------------------

const st = {
  parks: [],
  gates: [],
  port: 0,
  closing: false,
  running: false,
  measureFrom: 0,
  measureUntil: 0,
  lag: [],
  sale: [],
  pendingSales: new Map(),
  c: { published: 0, pubacks: 0, receipted: 0, receipts: 0, deltas: 0, heads: 0, other: 0, disconnects: 0, errors: 0, salesSeen: 0, salesInWindow: 0, publishedInWindow: 0 },
  firstError: null,
};

function onPublish(g, flags, body) {
  const qos = (flags >> 1) & 3;
  const tlen = body.readUInt16BE(0);
  const topic = body.toString('utf8', 2, 2 + tlen);
  let off = 2 + tlen;
  if (qos > 0) {
    const id = body.readUInt16BE(off);
    off += 2;
    g.sock.write(pubackPacket(id));
  }
  const p = readVarint(body, off);
  off += p.len + p.value;
  const payload = body.subarray(off);
  const t = now();
  if (topic === g.tDelta) {
    st.c.deltas++;
    // Sales only (used-elsewhere deltas are counted, not parsed).
    if (payload.includes('"upsert"')) {
      const d = JSON.parse(payload.toString('utf8'));
      for (const ch of d.changes) if (ch.op === 'upsert' && ch.ticket.ticketId.startsWith('S')) saleSeen(g.park, ch.ticket.ticketId, t);
    }
  } else if (topic === g.tHead) st.c.heads++;
  else if (topic === g.tAck) {
    const r = JSON.parse(payload.toString('utf8'));
    st.c.receipts++;
    for (let s = Number(r.from); s <= Number(r.to); s++) {
      const at = g.sent.get(s);
      if (at === undefined) continue;
      g.sent.delete(s);
      st.c.receipted++;
      if (at >= st.measureFrom && at < st.measureUntil) st.lag.push(t - at);
    }
  } else st.c.other++;
}

function saleSeen(park, ticketId, t) {
  let p = st.pendingSales.get(ticketId);
  if (!p) {
    const t0 = Number(ticketId.slice(ticketId.indexOf('_') + 1)) / 1000;
    p = { t0, n: 0, last: 0 };
    st.pendingSales.set(ticketId, p);
    st.c.salesSeen++;
  }
  p.n++;
  p.last = t;
  if (p.n === park.gates.length) {
    st.pendingSales.delete(ticketId);
    if (p.t0 >= st.measureFrom && p.t0 < st.measureUntil) st.sale.push(p.last - p.t0);
  }
}

function onData(g, chunk) {
  g.buf = g.buf.length ? Buffer.concat([g.buf, chunk]) : chunk;
  let off = 0;
  while (g.buf.length - off >= 2) {
    const rl = readVarint(g.buf, off + 1);
    if (!rl) break;
    const start = off + 1 + rl.len;
    const end = start + rl.value;
    if (end > g.buf.length) break;
    const type = g.buf[off] >> 4;
    const flags = g.buf[off] & 0x0f;
    const body = g.buf.subarray(start, end);
    off = end;
    if (type === 3) onPublish(g, flags, body);
    else if (type === 4) {
      st.c.pubacks++;
      const reason = body.length > 2 ? body[2] : 0;
      if (reason >= 0x80) err(g, new Error(`PUBACK reason 0x${reason.toString(16)}`));
    } else if (type === 2) {
      // CONNACK: [flags, reason, props]
      if (body[1] !== 0) g.onConnack?.(new Error(`CONNACK reason 0x${body[1].toString(16)}`));
      else g.onConnack?.(null);
    } else if (type === 9) {
      const plen = readVarint(body, 2);
      const codes = body.subarray(2 + plen.len + plen.value);
      g.onSuback?.(codes.some((c) => c >= 0x80) ? new Error(`SUBACK refused 0x${codes.toString('hex')}`) : null);
    }
    // PINGRESP (13) and anything else: nothing to do.
  }
  g.buf = off === g.buf.length ? Buffer.alloc(0) : g.buf.subarray(off);
}

function err(g, e) {
  st.c.errors++;
  st.firstError ??= `${g.site}/${g.id}: ${e.message}`;
}

/** Connect, CONNACK, SUBSCRIBE, SUBACK; resolves when subscribed. */
function open(g) {
  return new Promise((resolve, reject) => {
    const sock = connect({ port: st.port, host: '127.0.0.1', noDelay: true });
    g.sock = sock;
    g.buf = Buffer.alloc(0);
    let settled = false;
    const fail = (e) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error('connect timeout')), 30_000);
    sock.on('error', (e) => (settled ? err(g, e) : fail(e)));
    sock.on('close', () => {
      if (!settled) return fail(new Error('closed during connect'));
      if (!st.closing) st.c.disconnects++;
      g.up = false;
    });
    sock.on('data', (chunk) => onData(g, chunk));
    g.onConnack = (e) => {
      if (e) return fail(e);
      sock.write(subscribePacket(1, [g.tDelta, g.tHead, g.tCmd, g.tAck]));
    };
    g.onSuback = (e) => {
      clearTimeout(timer);
      if (e) return fail(e);
      settled = true;
      g.up = true;
      resolve();
    };
    sock.write(connectPacket(g.clientId));
  });
}

async function setup(m) {
  st.port = m.port;
  for (const p of m.parks) {
    const park = { idx: p.idx, site: p.site, gates: [], tokens: Math.random(), next: 0, rr: Math.floor(Math.random() * p.gates.length) };
    for (const id of p.gates) {
      const g = {
        id,
        site: p.site,
        park,
        clientId: `fleet-${m.run}-${p.site}-${id}`,
        tDelta: `stile/${p.site}/whitelist/delta`,
        tHead: `stile/${p.site}/whitelist/head`,
        tCmd: `stile/${p.site}/gates/${id}/cmd`,
        tAck: `stile/${p.site}/gates/${id}/entries/ack`,
        tEntries: `stile/${p.site}/gates/${id}/entries`,
        seq: 0,
        pid: 0,
        sent: new Map(),
        up: false,
      };
      park.gates.push(g);
      st.gates.push(g);
    }
    st.parks.push(park);
  }
  const t0 = now();
  let failed = 0;
  let i = 0;
  // A bounded number of handshakes at once: the broker's listen backlog is small.
  const worker = async () => {
    while (i < st.gates.length) {
      const g = st.gates[i++];
      try {
        await open(g);
      } catch (e) {
        failed++;
        err(g, e);
      }
    }
  };
  await Promise.all(Array.from({ length: m.concurrency ?? 64 }, worker));
  setInterval(() => {
    for (const g of st.gates) if (g.up) g.sock.write(PINGREQ);
  }, (KEEPALIVE_S * 1000) / 2).unref();
  process.send({ cmd: 'ready', connected: st.gates.length - failed, failed, ms: now() - t0, firstError: st.firstError });
}

function admit(park, t) {
  const g = park.gates[park.rr++ % park.gates.length];
  if (!g.up) return;
  park.next++;
  g.seq++;
  g.pid = g.pid >= 65535 ? 1 : g.pid + 1;
  const at = new Date(Math.floor(t)).toISOString();
  const ticketId = `T${String(park.idx).padStart(4, '0')}x${String(park.next).padStart(6, '0')}`;
  const msg = { v: 1, site: park.site, gate: g.id, events: [{ eventId: randomUUID(), seq: String(g.seq), epoch: 1, kind: 'admit', ticketId, typeId: 'adult', credential: 'qr', persons: 1, at }] };
  // Lag from the event's own (millisecond) time, as the cloud sees it.
  g.sent.set(g.seq, Math.floor(t));
  g.sock.write(publishPacket(g.pid, g.tEntries, Buffer.from(JSON.stringify(msg))));
  st.c.published++;
  if (t >= st.measureFrom && t < st.measureUntil) st.c.publishedInWindow++;
}

function go(m) {
  st.measureFrom = m.measureFrom;
  st.measureUntil = m.measureUntil;
  st.running = true;
  let last = now();
  const tick = setInterval(() => {
    if (!st.running) return clearInterval(tick);
    const t = now();
    const dt = (t - last) / 1000;
    last = t;
    for (const park of st.parks) {
      park.tokens += m.ratePerPark * dt;
      while (park.tokens >= 1) {
        park.tokens -= 1;
        admit(park, t);
      }
    }
  }, 20);
}

function result() {
  let salesIncomplete = 0;
  for (const p of st.pendingSales.values()) if (p.t0 >= st.measureFrom && p.t0 < st.measureUntil) salesIncomplete++;
  let unreceipted = 0;
  for (const g of st.gates) for (const at of g.sent.values()) if (at >= st.measureFrom && at < st.measureUntil) unreceipted++;
  const up = st.gates.filter((g) => g.up).length;
  process.send({ cmd: 'result', counts: { ...st.c, salesIncomplete, unreceipted, up }, lag: st.lag, sale: st.sale, firstError: st.firstError });
}

process.on('message', (m) => {
  if (m.cmd === 'setup') void setup(m);
  else if (m.cmd === 'go') go(m);
  else if (m.cmd === 'stop') st.running = false;
  else if (m.cmd === 'result') result();
  else if (m.cmd === 'close') {
    st.closing = true;
    for (const g of st.gates) if (g.up) g.sock.end(DISCONNECT);
    setTimeout(() => process.exit(0), 500).unref();
  }
});
process.on('disconnect', () => process.exit(0));
