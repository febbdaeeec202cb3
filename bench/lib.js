import { readFileSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
// Small helpers shared by the bench scripts. Nothing here asserts a timing.
/** Nanosecond clock as a Number of milliseconds since an arbitrary origin. */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Nearest-rank percentile of an already sorted Float64Array. */
export function pct(sorted, q) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** Sort a Float64Array of samples and return p50/p99/mean/max. */
export function summarize(samples) {
  const s = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return { p50: pct(s, 0.5), p99: pct(s, 0.99), mean: sum / s.length, max: s[s.length - 1], n: s.length };
}

/** Fixed decimals, but keep at least 2 significant digits for tiny values. */
export function fmt(v, decimals = 3) {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && Math.abs(v) < 10 ** -decimals * 10) return v.toPrecision(2);
  return v.toFixed(decimals);
}

/** Fisher–Yates shuffle in place. */
export function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/** Progress and context go to stderr; stdout carries only the summary lines. */
export function note(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

export function line(pairs, suffix) {
  const text = Object.entries(pairs).map(([k, v]) => `${k}=${v}`).join(' ');
  process.stdout.write(`${suffix ? `${text} ${suffix}` : text}\n`);
}

export function mb(kb) {
  return (kb / 1024).toFixed(1);
}

/** A positive integer from the environment, or the default; anything else is an error naming the variable. */
export function intEnv(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * A fresh PostgreSQL schema `bench_<run>` and the connection URL that uses it; the drop is
 * pushed onto `cleanups` (run at the end, also on Ctrl-C).
 */
export async function pgSchema(pgUrl, run, cleanups) {
  const { default: pg } = await import('pg');
  const schema = `bench_${run}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });
  return `${pgUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/**
 * A run's cleanups: run once, newest first, then its temp folder goes — at the end and on
 * Ctrl-C / SIGTERM (exit 130), so a bench never leaves schemas, processes or files behind.
 */
export function runCleanup(dir) {
  const cleanups = [];
  let cleaned = false;
  async function cleanup() {
    if (cleaned) return;
    cleaned = true;
    for (const c of cleanups.reverse()) await c().catch((err) => note(`cleanup: ${err.message}`));
    rmSync(dir, { recursive: true, force: true });
  }
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
  return { cleanups, cleanup };
}

/** A TCP relay in front of the broker at `mqttUrl` that refuses connections until `refuse` is set false (an outage). */
export async function startOutageProxy(mqttUrl) {
  const { port: brokerPort, hostname } = new URL(mqttUrl);
  const socks = new Set();
  const proxy = { refuse: true };
  const server = createServer((c) => {
    if (proxy.refuse) return c.destroy();
    const b = netConnect(Number(brokerPort || 1883), hostname);
    socks.add(c).add(b);
    c.pipe(b);
    b.pipe(c);
    const end = () => {
      c.destroy();
      b.destroy();
    };
    c.on('error', end).on('close', end);
    b.on('error', end).on('close', end);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `mqtt://127.0.0.1:${server.address().port}`;
  let closed = false;
  proxy.close = () =>
    closed
      ? Promise.resolve()
      : new Promise((r) => {
          closed = true;
          for (const s of socks) s.destroy();
          server.close(() => r());
        });
  return proxy;
}

/** The node flags in a bin file's `#!/usr/bin/env -S node …` line (what its unit runs it with). */
export function shebangNodeFlags(binPath) {
  const first = readFileSync(binPath, 'utf8').split('\n')[0];
  return first.startsWith('#!') ? first.replace(/^#!.*?\bnode\b\s*/, '').split(/\s+/).filter(Boolean) : [];
}
