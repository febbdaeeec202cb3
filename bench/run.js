// `npm run bench`: gate-agent figures on a generated whitelist (1,000,000 tickets by default).
//
// stdout: one `key=value` summary line per figure (see bench/README.md); stderr: progress.
// Timings are printed, never asserted. BENCH_TICKETS=100000 for a quick run.
import { spawnSync } from 'node:child_process';
import { verify } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { hashIdNumber, issueOfflineTicket, loadGateConfig, loadSigningKey, loadTrustedKeys, parseTicketCode, verifyOfflineTicket } from '../config/dist/index.js';
import { openGate } from '../gate-agent/dist/daemon/gate-context.js';
import { createDemoSite, fakeIdNumber, newTicketId } from '../demo/dist/site.js';
import { fmt, intEnv, line, mb, note, nowMs, summarize } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const TICKETS = intEnv('BENCH_TICKETS', 1_000_000);
const DECISIONS = intEnv('BENCH_DECISIONS', 50_000);
const WARMUP = Math.min(5_000, DECISIONS);
const UNKNOWN_SHARE = 0.1;
const DURABLE = Math.min(intEnv('BENCH_ADMISSIONS', 2_000), Math.floor(TICKETS / 10));
const VERIFY_ROUNDS = 100;
const VERIFY_BATCH = 200;
const IDCARD_LOOKUPS = 20_000;
const ID_CARD_EVERY = 10; // createDemoSite binds every 10th ticket to fakeIdNumber(i)


const tmpRoot = join(root, '.bench-tmp');
const dir = join(tmpRoot, `run-${process.pid}-${Date.now()}`);
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  rmSync(dir, { recursive: true, force: true });
  try {
    if (readdirSync(tmpRoot).length === 0) rmdirSync(tmpRoot);
  } catch {
    // another run still uses it
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

function child(args, script = 'import-child.js') {
  const r = spawnSync(process.execPath, [join(here, script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${script} ${args[0]} exited with ${r.status ?? r.signal}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** `n` random draws from `pool`, a share of them replaced by ids that are not in the whitelist. */
function draw(pool, n, unknownShare) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.random() < unknownShare ? newTicketId() : pool[Math.floor(Math.random() * pool.length)];
  return out;
}

async function main() {
  mkdirSync(dir, { recursive: true });
  note(`tickets=${TICKETS} decisions=${DECISIONS} dir=${dir}`);

  // ---- setup: keys, gate.yaml, whitelist (writeWhitelist) -------------------------------
  let t = nowMs();
  const site = await createDemoSite(dir, { tickets: TICKETS, input: '-' });
  note(`whitelist written in ${((nowMs() - t) / 1000).toFixed(1)}s (${(statSync(site.whitelistPath).size / 2 ** 20).toFixed(0)} MiB)`);

  // ---- figure 3: snapshot import in a child, peak RSS vs a baseline child ----------------
  const baseline = child(['baseline', site.dbPath]);
  note('importing in a child process…');
  const imp = child(['import', site.dbPath, site.whitelistPath]);
  if (imp.tickets !== TICKETS || imp.count !== TICKETS) throw new Error(`import loaded ${imp.tickets}/${imp.count} tickets, expected ${TICKETS}`);
  line(
    {
      import_s: (imp.ms / 1000).toFixed(2),
      import_peak_rss_mb: mb(imp.maxRssKb),
      baseline_rss_mb: mb(baseline.maxRssKb),
      import_rss_over_baseline_mb: mb(imp.maxRssKb - baseline.maxRssKb),
      tickets: imp.tickets,
    },
    '(targets import_s<=10, rss<=150)',
  );

  // ---- figure 3b: the import against the plainest insert of the same rows (bench/import-raw.js) ----
  note('raw sorted insert of the same tickets in a child process…');
  const raw = child([join(dir, 'raw.db'), site.whitelistPath], 'import-raw.js');
  if (raw.tickets !== TICKETS) throw new Error(`raw insert loaded ${raw.tickets} tickets, expected ${TICKETS}`);
  const ph = imp.phases;
  note(`import phases: read+validate ${(ph.stageMs / 1000).toFixed(2)} s, sort ${(ph.sortMs / 1000).toFixed(2)} s, write+swap ${(ph.writeMs / 1000).toFixed(2)} s; raw insert peak RSS ${mb(raw.maxRssKb)} MiB`);
  line({ import_s: (imp.ms / 1000).toFixed(2), raw_sorted_insert_s: (raw.ms / 1000).toFixed(2), import_ratio: (imp.ms / raw.ms).toFixed(2), tickets: TICKETS }, '(target import_ratio<=1.5)');

  // ---- the real gate, as the daemon opens it ---------------------------------------------
  const cfg = loadGateConfig(site.configPath);
  const logger = pino({ level: 'silent' });
  const { store, gatekeeper } = openGate(cfg, logger);
  try {
    note('sampling ticket ids…');
    const pool = store.db.prepare('SELECT ticket_id FROM tickets').pluck().all();

    // ---- figure 1: decision latency vs raw primary-key lookup ----------------------------
    const total = WARMUP + DECISIONS;
    const codes = draw(pool, total, UNKNOWN_SHARE).map((id) => `ST1:${id}`);
    const rawIds = draw(pool, total, UNKNOWN_SHARE);
    const raw = store.db.prepare('SELECT * FROM tickets WHERE ticket_id = ?');
    const dec = new Float64Array(DECISIONS);
    const look = new Float64Array(DECISIONS);
    const outcomes = new Map();
    note(`decisions: ${WARMUP} warm-up + ${DECISIONS} measured, interleaved with raw lookups…`);
    for (let i = 0; i < total; i++) {
      const cred = { kind: 'qr', text: codes[i] };
      const id = rawIds[i];
      let d, l, out;
      // Alternate which goes first so neither always sees the other's cache footprint.
      if (i & 1) {
        let a = process.hrtime.bigint();
        raw.get(id);
        let b = process.hrtime.bigint();
        l = Number(b - a);
        a = process.hrtime.bigint();
        out = gatekeeper.evaluate(cred, { dryRun: true });
        b = process.hrtime.bigint();
        d = Number(b - a);
      } else {
        let a = process.hrtime.bigint();
        out = gatekeeper.evaluate(cred, { dryRun: true });
        let b = process.hrtime.bigint();
        d = Number(b - a);
        a = process.hrtime.bigint();
        raw.get(id);
        b = process.hrtime.bigint();
        l = Number(b - a);
      }
      if (i >= WARMUP) {
        dec[i - WARMUP] = d / 1e6;
        look[i - WARMUP] = l / 1e6;
        const k = out.decision === 'admit' ? 'admit' : out.reason;
        outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
      }
    }
    const ds = summarize(dec);
    const ls = summarize(look);
    note(`decision outcomes: ${[...outcomes].map(([k, v]) => `${k}=${v}`).join(' ')}`);
    line(
      {
        decide_p50_ms: fmt(ds.p50),
        decide_p99_ms: fmt(ds.p99),
        raw_lookup_p50_ms: fmt(ls.p50),
        raw_lookup_p99_ms: fmt(ls.p99),
        ratio_p99: (ds.p99 / ls.p99).toFixed(1),
        samples: DECISIONS,
        unknown_share: UNKNOWN_SHARE,
        tickets: TICKETS,
      },
      '(target decide_p99_ms<=2)',
    );

    // ---- figure 1b: full durable admission (ticket + entry + outbox, synchronous=FULL) ----
    const warmAdmissions = Math.min(100, DURABLE);
    const adm = new Float64Array(DURABLE);
    let admitted = 0;
    let warmed = 0;
    note(`durable admissions: ${warmAdmissions} warm-up + ${DURABLE} measured…`);
    const tried = new Set();
    while (admitted < DURABLE && tried.size < pool.length) {
      const id = pool[Math.floor(Math.random() * pool.length)];
      if (tried.has(id)) continue;
      tried.add(id);
      const cred = { kind: 'qr', text: `ST1:${id}` };
      // Only tickets that would admit now (night/early-bird tickets depend on the hour).
      if (gatekeeper.evaluate(cred, { dryRun: true }).decision !== 'admit') continue;
      const a = process.hrtime.bigint();
      const out = gatekeeper.evaluate(cred);
      const b = process.hrtime.bigint();
      if (out.decision !== 'admit' || !out.entry) throw new Error(`durable admission of ${id} failed: ${out.reason} ${out.detail ?? ''}`);
      if (warmed < warmAdmissions) warmed++;
      else adm[admitted++] = Number(b - a) / 1e6;
    }
    const as = summarize(adm.subarray(0, admitted));
    line(
      {
        admit_durable_p50_ms: fmt(as.p50),
        admit_durable_p99_ms: fmt(as.p99),
        samples: admitted,
        synchronous: ['OFF', 'NORMAL', 'FULL', 'EXTRA'][store.db.pragma('synchronous', { simple: true })],
        journal: store.db.pragma('journal_mode', { simple: true }),
      },
      '(informative)',
    );

    // ---- figure 2: Ed25519 offline-ticket verification vs bare crypto.verify ---------------
    const key = loadSigningKey(site.keyId, readFileSync(site.signingKeyPath, 'utf8'));
    const code = issueOfflineTicket(key, {
      site: 'demo-park', ticketId: 'KIOSK000001', typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: Math.floor(Date.now() / 1000),
    });
    const parsed = parseTicketCode(code);
    if (!parsed.ok || parsed.kind !== 'st2') throw new Error('issued offline ticket does not parse');
    const trusted = loadTrustedKeys(cfg.keys.offline);
    const pub = trusted.get(parsed.keyId).key;
    const bytes = Buffer.from(parsed.signedText, 'latin1');
    if (!verifyOfflineTicket(parsed, trusted, site.today).ok || !verify(null, bytes, pub, parsed.signature)) throw new Error('offline ticket does not verify');
    const vOff = new Float64Array(VERIFY_ROUNDS);
    const vBare = new Float64Array(VERIFY_ROUNDS);
    let okCount = 0;
    for (let r = -10; r < VERIFY_ROUNDS; r++) {
      let a = nowMs();
      for (let j = 0; j < VERIFY_BATCH; j++) if (verifyOfflineTicket(parsed, trusted, site.today).ok) okCount++;
      const off = (nowMs() - a) / VERIFY_BATCH;
      a = nowMs();
      for (let j = 0; j < VERIFY_BATCH; j++) if (verify(null, bytes, pub, parsed.signature)) okCount++;
      const bare = (nowMs() - a) / VERIFY_BATCH;
      if (r >= 0) {
        vOff[r] = off * 1000;
        vBare[r] = bare * 1000;
      }
    }
    if (okCount !== 2 * (VERIFY_ROUNDS + 10) * VERIFY_BATCH) throw new Error('a verification failed');
    // The whole signed-QR path through the Gatekeeper (parse + verify + revocation + lookup + decide).
    const st2 = new Float64Array(5_000);
    for (let i = -500; i < st2.length; i++) {
      const a = process.hrtime.bigint();
      gatekeeper.evaluate({ kind: 'qr', text: code }, { dryRun: true });
      const b = process.hrtime.bigint();
      if (i >= 0) st2[i] = Number(b - a) / 1e6;
    }
    const off = summarize(vOff);
    const bare = summarize(vBare);
    const st2s = summarize(st2);
    line({
      verify_offline_us: off.p50.toFixed(1),
      bare_crypto_verify_us: bare.p50.toFixed(1),
      ratio: (off.p50 / bare.p50).toFixed(2),
      calls: VERIFY_ROUNDS * VERIFY_BATCH,
      st2_decide_p50_ms: fmt(st2s.p50),
      st2_decide_p99_ms: fmt(st2s.p99),
    });

    // ---- figure 2b: ID-card lookup (hash → ticketsForIdHash) -------------------------------
    // createDemoSite binds every 10th ticket i to fakeIdNumber(i); hashes are computed up front.
    const bound = Math.ceil(TICKETS / ID_CARD_EVERY);
    const idWarm = 1_000;
    const randomCardHash = () => hashIdNumber(site.idHashKey, fakeIdNumber(Math.floor(Math.random() * bound) * ID_CARD_EVERY));
    const lookupHashes = Array.from({ length: idWarm + IDCARD_LOOKUPS }, randomCardHash);
    const decideHashes = Array.from({ length: idWarm + IDCARD_LOOKUPS }, randomCardHash);
    const idl = new Float64Array(IDCARD_LOOKUPS);
    const idd = new Float64Array(IDCARD_LOOKUPS);
    let rows = 0;
    const lookupOnce = (h) => {
      const a = process.hrtime.bigint();
      const found = store.ticketsForIdHash(h);
      const b = process.hrtime.bigint();
      if (found.length === 0) throw new Error('an ID card bound in the whitelist found no ticket');
      rows += found.length;
      return Number(b - a) / 1e6;
    };
    const decideOnce = (h) => {
      const a = process.hrtime.bigint();
      gatekeeper.evaluate({ kind: 'idcard', idHash: h, masked: '**************0000' }, { dryRun: true });
      const b = process.hrtime.bigint();
      return Number(b - a) / 1e6;
    };
    for (let i = 0; i < idWarm + IDCARD_LOOKUPS; i++) {
      let l, d;
      if (i & 1) {
        l = lookupOnce(lookupHashes[i]);
        d = decideOnce(decideHashes[i]);
      } else {
        d = decideOnce(decideHashes[i]);
        l = lookupOnce(lookupHashes[i]);
      }
      if (i === idWarm - 1) rows = 0;
      if (i >= idWarm) {
        idl[i - idWarm] = l;
        idd[i - idWarm] = d;
      }
    }
    const ids = summarize(idl);
    const idds = summarize(idd);
    line({
      idcard_lookup_p50_ms: fmt(ids.p50),
      idcard_lookup_p99_ms: fmt(ids.p99),
      idcard_decide_p50_ms: fmt(idds.p50),
      idcard_decide_p99_ms: fmt(idds.p99),
      rows_per_lookup: (rows / IDCARD_LOOKUPS).toFixed(1),
      samples: IDCARD_LOOKUPS,
    });
  } finally {
    store.close();
  }
}

const started = nowMs();
try {
  await main();
  note(`done in ${((nowMs() - started) / 1000).toFixed(0)}s`);
} finally {
  cleanup();
}
