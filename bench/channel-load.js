// Child process of bench/channel.js: a closed-loop HTTP load generator. It keeps
// `concurrency` requests in flight over node:http keep-alive connections (one Agent,
// maxSockets = concurrency, so every request reuses one of `concurrency` sockets), for
// `warmupS` seconds (not counted) and then `seconds` seconds (counted).
//
// IPC: sends {ready}; receives one job
//   { url, kind: 'get', paths: [...], headers }                       GET, paths round robin
//   { url, kind: 'order', run, dates: [...], slots: [...], typeId, headers }  POST /v1/channel/orders,
//     one visitor each, a unique Idempotency-Key and ID number per request, (date, slot) round robin
// and answers {result: {count, seconds, p50, p99, mean, max, statuses, errors, cpuUserMs, cpuSystemMs, sample}}.
// A request counts when its whole response body has arrived inside the measured window; its
// latency is from the request being issued to that moment.
import http from 'node:http';
import { nowMs, summarize } from './lib.js';

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/**
 * A resident ID number that passes the cloud's checks, unique per n below 999 × 20,000: a
 * county of Beijing per load process (110110–110199), a real birth date (1950-01-01 plus a
 * day every 999 numbers), sequence 001–999 and a valid GB 11643 (MOD 11-2) check character.
 */
function idNumber(n) {
  const birth = new Date(Date.UTC(1950, 0, 1) + Math.floor(n / 999) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
  const body = `1101${10 + (process.pid % 90)}${birth}${String((n % 999) + 1).padStart(3, '0')}`;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (body.charCodeAt(i) - 0x30) * WEIGHTS[i];
  return body + '10X98765432'[sum % 11];
}

function requests(job) {
  let n = 0;
  if (job.kind === 'get') {
    return () => {
      const path = job.paths[n++ % job.paths.length];
      return { method: 'GET', path, headers: job.headers, body: null };
    };
  }
  if (job.kind === 'order') {
    const combos = job.dates.flatMap((date) => job.slots.map((slotId) => ({ date, slotId })));
    const base = 0; // the county in idNumber() differs between the load processes of one run
    return () => {
      const i = n++;
      const { date, slotId } = combos[i % combos.length];
      const body = JSON.stringify({ typeId: job.typeId, date, slotId, contactPhone: '13800138000', visitors: [{ name: `游客${i}`, idNumber: idNumber(base + i) }] });
      return {
        method: 'POST',
        path: '/v1/channel/orders',
        headers: { ...job.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': `${job.run}-${process.pid}-${i}` },
        body,
      };
    };
  }
  throw new Error(`unknown job kind ${job.kind}`);
}

async function run(job) {
  const target = new URL(job.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency, maxFreeSockets: job.concurrency });
  const next = requests(job);
  const latencies = [];
  const statuses = {};
  let errors = 0;
  let sample = null;
  const t0 = nowMs();
  const measureFrom = t0 + job.warmupS * 1000;
  const measureTo = measureFrom + job.seconds * 1000;
  let cpu0 = null;
  const cpuTimer = setTimeout(() => (cpu0 = process.cpuUsage()), job.warmupS * 1000);

  const one = () =>
    new Promise((resolve) => {
      const r = next();
      const start = nowMs();
      const req = http.request({ host: target.hostname, port: target.port, method: r.method, path: r.path, headers: r.headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const end = nowMs();
          if (end >= measureFrom && end < measureTo) {
            latencies.push(end - start);
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            // Keep one unexpected answer to show the parent.
            if (sample === null && res.statusCode >= 300) sample = { status: res.statusCode, body: Buffer.concat(chunks).toString('utf8').slice(0, 300) };
          }
          resolve();
        });
        res.on('error', () => {
          errors++;
          resolve();
        });
      });
      req.on('error', () => {
        if (nowMs() < measureTo) errors++;
        resolve();
      });
      if (r.body !== null) req.end(r.body);
      else req.end();
    });

  const worker = async () => {
    while (nowMs() < measureTo) await one();
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  clearTimeout(cpuTimer);
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  agent.destroy();
  const s = summarize(latencies);
  return { count: latencies.length, seconds: job.seconds, p50: s.p50, p99: s.p99, mean: s.mean, max: s.max, statuses, errors, cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, sample };
}

process.once('message', (job) => {
  run(job).then(
    (result) => {
      process.send({ result }, () => process.disconnect());
    },
    (err) => {
      process.stderr.write(`[bench] load child: ${err.stack ?? err}\n`);
      process.exitCode = 1;
      process.disconnect();
    },
  );
});
process.send({ ready: true });
