import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { parseDocument, stringify } from 'yaml';
import {
  formatZodIssues, generateSigningKeyPair, hashIdNumber, isValidIdNumber, issueOfflineTicket, loadGateConfig, loadSigningKey, loadTrustedKeys,
  localClock, maskIdNumber, parseTicketCode, plainHttpProblem, StileError, StileErrorCode, TicketTypeSchema, TicketTypesDocumentSchema,
  verifySiteDocument, type GateConfig, type TicketType,
} from '@stile/config';
import { openGate } from '../daemon/gate-context.js';
import { loadIdHashKey } from '../daemon/secrets.js';
import { importSnapshot, type EntryRow } from '../store/index.js';
import { authHeaders, cloudCredential, httpError, readCapped } from '../sync/resync-http.js';
import { CliError, table, type Out } from './output.js';
import { progressBar } from './progress.js';
import { daemonView } from './daemon-state.js';
import { deviceLine, kindOf, laneLines, syncLines } from './status-lines.js';

export interface Ctx {
  configPath: string;
  out: Out;
  flags: Record<string, string | boolean | undefined>;
  args: string[];
}

const quiet = pino({ level: 'silent' });
/** How many recent entries `status` shows. */
const STATUS_ENTRIES = 5;

function config(ctx: Ctx): GateConfig {
  return loadGateConfig(ctx.configPath);
}

type Gate = ReturnType<typeof openGate>;

/**
 * Say plainly what is wrong with the database file before SQLite does ("unable to open
 * database file"). `inspect` commands never create a database; `import` may.
 */
function checkDatabaseFile(path: string, mode: 'inspect' | 'write'): void {
  const unavailable = (why: string) => new StileError(StileErrorCode.StoreUnavailable, `gate database ${path} ${why}`);
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && mode === 'write') return;
    if (code === 'ENOENT') throw unavailable('does not exist (start stile-gate or run "gatectl tickets import <snapshot>" first)');
    throw unavailable(`cannot be read (${code ?? (err as Error).message})`);
  }
  if (!st.isFile()) throw unavailable('is not a regular file');
  if (st.size === 0 && mode === 'inspect') throw unavailable('is empty (0 bytes), so it holds no whitelist or entries; remove it and run "gatectl tickets import <snapshot>"');
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw unavailable(`cannot be read and written by this user (${(err as NodeJS.ErrnoException).code ?? 'access denied'})`);
  }
}

/** SQLite errors met mid-command (a damaged page, a locked file) named with the file they concern. */
function storeError(path: string, err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const message = (err as Error).message;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new StileError(
      StileErrorCode.StoreCorrupt,
      `gate database ${path} is damaged (${message}, ${code}); keep the file for recovery, move it aside and re-import the whitelist`,
    );
  }
  return new StileError(StileErrorCode.StoreUnavailable, `gate database ${path}: ${message} (${code})`);
}

/** Open the gate's store (read-mostly unless `write`), run `fn`, always close it. */
async function withGate<T>(cfg: GateConfig, mode: 'inspect' | 'write', fn: (gate: Gate) => T | Promise<T>): Promise<T> {
  const path = cfg.store.path;
  checkDatabaseFile(path, mode);
  let gate: Gate | undefined;
  try {
    gate = openGate(cfg, quiet, { inspectOnly: mode === 'inspect' });
    return await fn(gate);
  } catch (err) {
    throw storeError(path, err);
  } finally {
    gate?.store.close();
  }
}

export function status(ctx: Ctx): Promise<void> {
  const cfg = config(ctx);
  return withGate(cfg, 'inspect', ({ store }) => {
    const { running, status: daemon, stoppedAt, stoppedSinceStart } = daemonView((k) => store.getMeta(k));
    const last = store.recentEntries(STATUS_ENTRIES).reverse();
    const data = {
      site: cfg.site.id,
      gate: cfg.gate.id,
      zone: cfg.gate.zone,
      database: cfg.store.path,
      daemon: { running, ...(daemon ?? {}), stoppedAt },
      whitelist: { tickets: store.ticketCount(), seq: store.getMeta('whitelist_seq') ?? null, importedAt: store.getMeta('whitelist_imported_at') ?? null },
      entries: { total: store.entryCount(), lastSeq: store.lastSeq(), last },
      outboxDepth: store.outboxDepth(),
      keys: store.listKeys().length,
      revokedTickets: store.revokedCount(),
    };
    const newest = last.at(-1);
    ctx.out.result(data, () => [
      `gate ${cfg.site.id}/${cfg.gate.id} (zone ${cfg.gate.zone}), database ${cfg.store.path}`,
      `daemon     ${running ? `running, pid ${daemon!.pid}, epoch ${daemon!.epoch}, since ${daemon!.startedAt}` : `NOT RUNNING${stoppedSinceStart ? ` (stopped ${stoppedAt})` : ''}`}`,
      ...(daemon ? [`scans      ${daemon.admitted} admitted (${daemon.persons} persons), ${daemon.rejected} rejected ${JSON.stringify(daemon.rejectsByReason)}`] : []),
      ...(daemon?.inputs ?? []).map((i) => deviceLine('input', i)),
      ...(daemon?.relay ? [deviceLine('relay', daemon.relay, 'pulses').replace(/, 0 discarded$/, '')] : []),
      ...(daemon?.lane ? laneLines(daemon.lane) : []),
      ...(running && daemon?.locked ? [`${'lock'.padEnd(10)} GATE LOCKED by remote command: every scan is refused (gate_locked)`] : []),
      ...(daemon?.sync ? syncLines(daemon.sync) : []),
      `whitelist  ${data.whitelist.tickets} tickets, seq ${data.whitelist.seq ?? '-'}, imported ${data.whitelist.importedAt ?? 'never'}`,
      `entries    ${data.entries.total} (last seq ${data.entries.lastSeq}), outbox ${data.outboxDepth} waiting`,
      ...(newest ? [`last entry #${newest.seq} ${new Date(newest.at).toISOString()} ${kindOf(newest)} ${newest.ticketId} (${newest.typeId}, ${newest.credential}, ${newest.persons} person(s))`] : []),
      `keys       ${data.keys} trusted, ${data.revokedTickets} revoked tickets`,
    ]);
  });
}

export function configValidate(ctx: Ctx): void {
  const cfg = config(ctx); // throws with every issue listed
  ctx.out.result({ valid: true, file: ctx.configPath, site: cfg.site.id, gate: cfg.gate.id }, () => `${ctx.configPath}: valid (site ${cfg.site.id}, gate ${cfg.gate.id})`);
}

export function configShow(ctx: Ctx): void {
  const cfg = config(ctx);
  const shown = { ...cfg, keys: { ...cfg.keys, idHash: cfg.keys.idHash.file ? { file: cfg.keys.idHash.file } : { value: '***redacted***' } } };
  ctx.out.result(shown, () => stringify(shown).trimEnd());
}

/** The cloud's base URL: --url, else the origin of mqtt.snapshotUrl; https unless loopback or insecure. */
function cloudUrl(ctx: Ctx, cfg: GateConfig): string {
  const given = typeof ctx.flags.url === 'string' ? ctx.flags.url : undefined;
  const fromSnapshot = cfg.mqtt?.snapshotUrl ? new URL(cfg.mqtt.snapshotUrl).origin : undefined;
  const url = given ?? fromSnapshot;
  if (!url) throw new CliError('usage: gatectl config pull-types --url https://cloud-host[:port] (or set mqtt.snapshotUrl in gate.yaml)', 2);
  if (!/^https?:\/\//.test(url)) throw new CliError(`usage: --url must be an https:// URL, got "${url}"`, 2);
  const insecure = ctx.flags.insecure === true || (given === undefined && cfg.mqtt?.insecure === true);
  const problem = plainHttpProblem(url, insecure);
  if (problem) throw new CliError(`${problem} (or pass --insecure on a closed test network)`, 2);
  return url.replace(/\/$/, '');
}

/** A ticket-types document is a few KiB; anything far larger is not one. */
const TICKET_TYPES_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Replace gate.yaml's ticketTypes with the site's catalogue rules from the cloud (entry
 * windows of early-bird/night tickets included). The answer must be signed by one of the
 * gate's control keys for this site; then the file is checked as a whole before it
 * replaces the old one (same mode; 0600 if new), and its comments stay. The daemon picks it
 * up on restart or the reload-config command.
 */
export async function configPullTypes(ctx: Ctx): Promise<void> {
  const cfg = config(ctx);
  const url = `${cloudUrl(ctx, cfg)}/v1/sites/${encodeURIComponent(cfg.site.id)}/ticket-types`;
  const credential = cloudCredential(cfg.mqtt, cfg.site.id, cfg.gate.id, cfg.mqtt?.passwordFile !== undefined ? readFileSync(cfg.mqtt.passwordFile, 'utf8') : undefined);
  let body: unknown;
  try {
    const res = await fetch(url, { headers: authHeaders(credential), redirect: 'error', signal: AbortSignal.timeout(10_000) });
    if (!res.ok) {
      await res.body?.cancel();
      throw httpError('GET ticket-types', res.status, credential);
    }
    body = JSON.parse((await readCapped(res, TICKET_TYPES_MAX_BYTES, 'GET ticket-types')).toString('utf8'));
  } catch (err) {
    throw new StileError(StileErrorCode.ConfigInvalid, `cannot get ticket types from ${url}: ${(err as Error).message}; gate.yaml unchanged`);
  }
  if (cfg.keys.control.length === 0) throw new StileError(StileErrorCode.ConfigInvalid, `${ctx.configPath}: keys.control is empty, so the ticket types from ${url} cannot be verified; gate.yaml unchanged`);
  const today = localClock(cfg.site.timezone, Date.now()).date;
  const verdict = verifySiteDocument(body, TicketTypesDocumentSchema, cfg.site.id, loadTrustedKeys(cfg.keys.control), today);
  if (!verdict.ok) throw new StileError(StileErrorCode.ConfigInvalid, `${url}: ticket types refused: ${verdict.reason}: ${verdict.detail}; gate.yaml unchanged`);
  const parsed = TicketTypeSchema.array().min(1).safeParse(verdict.doc.ticketTypes);
  if (!parsed.success) throw new StileError(StileErrorCode.ConfigInvalid, `${url} did not send valid ticket types (${formatZodIssues(parsed.error.issues, { limit: 1 }) || 'invalid'}); gate.yaml unchanged`);
  const types: TicketType[] = parsed.data;
  const doc = parseDocument(readFileSync(ctx.configPath, 'utf8'));
  doc.set('ticketTypes', doc.createNode(types));
  // Write beside it with the old file's mode (it may name secrets), check the whole file as the daemon would, then swap.
  const mode = existsSync(ctx.configPath) ? statSync(ctx.configPath).mode & 0o777 : 0o600;
  const tmp = `${ctx.configPath}.pull-${process.pid}`;
  try {
    writeFileSync(tmp, doc.toString(), { mode, flag: 'wx' });
    loadGateConfig(tmp);
  } catch (err) {
    rmQuiet(tmp);
    throw err;
  }
  renameSync(tmp, ctx.configPath);
  const before = new Map(cfg.ticketTypes.map((t) => [t.id, JSON.stringify(t)]));
  const after = new Map(types.map((t) => [t.id, JSON.stringify(t)]));
  const added = [...after.keys()].filter((id) => !before.has(id));
  const removed = [...before.keys()].filter((id) => !after.has(id));
  const changed = [...after.keys()].filter((id) => before.has(id) && before.get(id) !== after.get(id));
  ctx.out.result({ file: ctx.configPath, from: url, types: types.length, added, changed, removed }, () =>
    `${ctx.configPath}: ${types.length} ticket types from ${url} (added ${added.join(', ') || '-'}; changed ${changed.join(', ') || '-'}; removed ${removed.join(', ') || '-'}); restart stile-gate or send reload-config to apply`,
  );
}

function rmQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // never written
  }
}

export async function ticketsImport(ctx: Ctx): Promise<void> {
  const file = ctx.args[0];
  if (!file) throw new CliError('usage: gatectl tickets import <snapshot.ndjson>', 2);
  const cfg = config(ctx);
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw new StileError(StileErrorCode.SnapshotInvalid, `cannot read snapshot ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; whitelist unchanged`);
  }
  await withGate(cfg, 'write', async ({ store }) => {
    const bar = progressBar('importing');
    try {
      const result = await importSnapshot(store.db, file, {
        siteId: cfg.site.id,
        // A technician's local file may be unsigned; a signed one must verify.
        signature: { required: false, trusted: loadTrustedKeys(cfg.keys.control), today: localClock(cfg.site.timezone, Date.now()).date },
        onProgress: (p) => bar.update(p.bytesRead, p.totalBytes, `${p.tickets} tickets`),
      });
      bar.done();
      ctx.out.result({ imported: true, file, ...result }, () =>
        `imported ${result.tickets} tickets in ${(result.ms / 1000).toFixed(1)} s (seq ${result.asOfSeq ?? '-'}, ${result.carriedOver} kept from local use; ${result.signed ? 'signed by the site\'s control key' : 'unsigned file'})`,
      );
    } catch (err) {
      bar.done();
      throw err;
    }
  });
}

export function ticketsLookup(ctx: Ctx): Promise<void> {
  const key = ctx.args[0];
  if (!key) throw new CliError('usage: gatectl tickets lookup <ticketId | code>', 2);
  const parsed = parseTicketCode(key);
  const ticketId = parsed.ok ? (parsed.kind === 'st1' ? parsed.ticketId : parsed.payload.ticketId) : key.trim();
  return withGate(config(ctx), 'inspect', ({ store }) => {
    const ticket = store.getTicket(ticketId);
    if (!ticket) {
      if (isValidIdNumber(ticketId)) {
        throw new CliError(`${maskIdNumber(ticketId)} looks like an ID number, not a ticket; use gatectl check --idcard <number>`, 1, 'NOT_FOUND');
      }
      throw new CliError(`ticket ${ticketId} is not in this gate's whitelist`, 1, 'NOT_FOUND');
    }
    const entries = store.entriesForTicket(ticketId);
    const shown = { ...ticket, idHash: ticket.idHash ? `${ticket.idHash.slice(0, 8)}…` : null, revoked: store.isRevoked(ticketId), entries };
    ctx.out.result(shown, () => [
      ...table(Object.entries(shown).filter(([k]) => k !== 'entries').map(([k, v]) => [k, v as string])),
      ...entryLines(entries),
    ]);
  });
}

export function check(ctx: Ctx): Promise<void> {
  const cfg = config(ctx);
  const idNumber = ctx.flags.idcard as string | undefined;
  const code = ctx.args[0];
  if ((!code && !idNumber) || (code && idNumber)) throw new CliError('usage: gatectl check <code> | gatectl check --idcard <ID number>', 2);
  if (code && isValidIdNumber(code)) throw new CliError(`${maskIdNumber(code)} looks like an ID number; use gatectl check --idcard <number>`, 2);
  if (idNumber && !isValidIdNumber(idNumber)) throw new CliError(`not a valid ID number: ${maskIdNumber(idNumber)} (18 characters with a matching check digit)`);
  const idKey = idNumber ? loadIdHashKey(cfg) : '';
  return withGate(cfg, 'inspect', ({ gatekeeper }) => {
    const masked = idNumber ? maskIdNumber(idNumber) : undefined;
    const outcome = idNumber
      ? { ...gatekeeper.evaluate({ kind: 'idcard', idHash: hashIdNumber(idKey, idNumber), masked: masked! }, { dryRun: true }), idcard: masked }
      : gatekeeper.evaluate({ kind: 'qr', text: code! }, { dryRun: true });
    const via = masked ? ` via ID card ${masked}` : '';
    ctx.out.result(outcome, () =>
      outcome.decision === 'admit'
        ? `admit: ${outcome.persons} person(s), ticket ${outcome.ticketId} (${outcome.typeId})${via} — dry run, ticket not used`
        : `reject: ${outcome.reason}${outcome.detail ? ` (${outcome.detail})` : ''}${outcome.ticketId ? `, ticket ${outcome.ticketId}` : ''}${via}`,
    );
    if (outcome.decision === 'reject' && ctx.flags['fail-on-reject']) process.exitCode = 3;
  });
}

function entryLines(entries: EntryRow[]): string[] {
  if (entries.length === 0) return ['(no entries)'];
  return table([
    ['SEQ', 'AT', 'KIND', 'TICKET', 'TYPE', 'CREDENTIAL', 'PERSONS', 'INPUT'],
    ...entries.map((e) => [e.seq, new Date(e.at).toISOString(), kindOf(e), e.ticketId, e.typeId, e.credential, e.persons, e.input]),
  ]);
}

export function entriesTail(ctx: Ctx): Promise<void> {
  const n = Number(ctx.flags.n ?? 20);
  if (!Number.isInteger(n) || n < 1) throw new CliError('-n takes a positive whole number', 2);
  return withGate(config(ctx), 'inspect', async ({ store }) => {
    const entries = store.recentEntries(n).reverse();
    const follow = ctx.flags.follow === true;
    // --follow --json is a stream: one JSON object per line from the start.
    if (follow && ctx.out.json) for (const e of entries) process.stdout.write(`${JSON.stringify(e)}\n`);
    else ctx.out.result(entries, () => entryLines(entries));
    if (!follow) return;
    let last = entries.at(-1)?.seq ?? store.lastSeq();
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const fresh = store.recentEntries(1000, last).reverse();
      for (const e of fresh) process.stdout.write(`${ctx.out.json ? JSON.stringify(e) : entryLines([e])[1]}\n`);
      if (fresh.length) last = fresh.at(-1)!.seq;
    }
  });
}

export function keysList(ctx: Ctx): Promise<void> {
  return withGate(config(ctx), 'inspect', ({ store }) => {
    const keys = store.listKeys();
    const bySource = store.revokedCountsBySource();
    const data = { trusted: keys, revokedTickets: store.revokedCount(), revokedBySource: bySource };
    ctx.out.result(data, () => [
      ...table([['KEY', 'NOT AFTER', 'PUBLIC KEY'], ...keys.map((k) => [k.keyId, k.notAfter, k.publicKey])]),
      `${data.revokedTickets} revoked ticket(s): ${bySource.config} listed in gate.yaml, ${bySource.cloud} sent by the cloud`,
    ]);
  });
}

/** `gatectl keys generate <keyId> [--out DIR]`: a signing key pair for offline tickets. */
export function keysGenerate(ctx: Ctx): void {
  const keyId = ctx.args[0];
  if (!keyId) throw new CliError('usage: gatectl keys generate <keyId> [--out DIR]', 2);
  const pair = generateSigningKeyPair(keyId); // checks the key id, so it is safe in a file name
  const dir = (ctx.flags.out as string | undefined) ?? '.';
  const file = join(dir, `${keyId}.key.pem`);
  if (existsSync(file)) throw new CliError(`${file} already exists; not overwriting a private key (pick another key id or --out)`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new CliError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  ctx.out.result({ keyId, privateKeyFile: file, publicKey: pair.publicKey }, () => [
    `private key written to ${file} (keep it on the issuing side only)`,
    `add to gate.yaml keys.offline:  - { id: ${keyId}, publicKey: ${pair.publicKey} }`,
  ]);
}

/** `gatectl keys issue --signing-key F --key-id K --ticket ID --type T --date D [--slot HH:MM-HH:MM] [--persons N]` */
export function keysIssue(ctx: Ctx): void {
  const f = ctx.flags as Record<string, string | undefined>;
  const need = ['signing-key', 'key-id', 'ticket', 'type', 'date'].filter((k) => !f[k]);
  if (need.length) throw new CliError(`keys issue needs --${need.join(', --')}`, 2);
  const cfg = config(ctx);
  let pem: string;
  try {
    pem = readFileSync(f['signing-key']!, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read signing key ${f['signing-key']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const key = loadSigningKey(f['key-id']!, pem);
  const [slotStart, slotEnd] = f.slot ? f.slot.split('-') : [null, null];
  const persons = Number(f.persons ?? 1);
  let code: string;
  try {
    code = issueOfflineTicket(key, {
      site: cfg.site.id, ticketId: f.ticket!, typeId: f.type!, visitDate: f.date!,
      slotStart: slotStart ?? null, slotEnd: slotEnd ?? null, persons, issuedAt: Math.floor(Date.now() / 1000),
    });
  } catch (err) {
    throw new CliError(`cannot issue: ${(err as Error).message}`);
  }
  ctx.out.result({ code }, () => code);
}
