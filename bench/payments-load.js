// Child process of bench/payments.js: posts a fixed list of provider notifications (each
// exactly as the payment simulator sent it: path, headers, raw body) to one server, keeping
// `concurrency` requests in flight over node:http keep-alive connections, each delivery once.
//
// IPC: sends {ready}; receives one job { url, deliveries: [{path, headers, body}], concurrency }
// and answers {result: {count, seconds, p50, p99, max, statuses, errors, cpuUserMs, cpuSystemMs, sample}}.
// `seconds` is from the first request issued to the last answer received.
import http from 'node:http';
import { nowMs, summarize } from './lib.js';

async function run(job) {
  const target = new URL(job.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency, maxFreeSockets: job.concurrency });
  const latencies = [];
  const statuses = {};
  let errors = 0;
  let sample = null;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  const one = (d) =>
    new Promise((resolve) => {
      const start = nowMs();
      const headers = { ...d.headers, 'content-length': Buffer.byteLength(d.body) };
      const req = http.request({ host: target.hostname, port: target.port, method: 'POST', path: d.path, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          latencies.push(nowMs() - start);
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          sample ??= { status: res.statusCode, body: Buffer.concat(chunks).toString('utf8').slice(0, 120) };
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(d.body);
    });
  const worker = async () => {
    while (next < job.deliveries.length) await one(job.deliveries[next++]);
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const seconds = (nowMs() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  const s = summarize(latencies);
  return { count: latencies.length, seconds, p50: s.p50, p99: s.p99, max: s.max, statuses, errors, cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, sample };
}

process.on('message', (job) => {
  void run(job).then(
    (result) => process.send({ result }, () => process.exit(0)),
    (err) => {
      process.stderr.write(`payments-load: ${err.stack}\n`);
      process.exit(1);
    },
  );
});
process.send({ ready: true });
