import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import {
  generateSigningKeyPair, hashIdNumber, isValidIdNumber, issueOfflineTicket, loadGateConfig, loadSigningKey,
  maskIdNumber, parseTicketCode, StileError, type GateConfig,
} from '@stile/config';
import { openGate } from '../daemon/gate-context.js';
import { loadIdHashKey } from '../daemon/secrets.js';
import type { DaemonStatus } from '../daemon/gate-daemon.js';
import { importSnapshot, type EntryRow } from '../store/index.js';
import { CliError, table, type Out } from './output.js';
import { progressBar } from './progress.js';

export interface Ctx {
  configPath: string;
  out: Out;
  flags: Record<string, string | boolean | undefined>;
  args: string[];
}

const quiet = pino({ level: 'silent' });
const HEARTBEAT_STALE_MS = 15_000;

function config(ctx: Ctx): GateConfig {
  return loadGateConfig(ctx.configPath);
}

function inspect(ctx: Ctx) {
  return openGate(config(ctx), quiet, { inspectOnly: true });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function status(ctx: Ctx): void {
  const cfg = config(ctx);
  const { store } = openGate(cfg, quiet, { inspectOnly: true });
  try {
    const raw = store.getMeta('daemon_status');
    const daemon = raw ? (JSON.parse(raw) as DaemonStatus) : null;
    const running = daemon !== null && pidAlive(daemon.pid) && Date.now() - Date.parse(daemon.heartbeatAt) < HEARTBEAT_STALE_MS;
    const data = {
      site: cfg.site.id,
      gate: cfg.gate.id,
      zone: cfg.gate.zone,
      daemon: { running, ...(daemon ?? {}) },
      whitelist: { tickets: store.ticketCount(), seq: store.getMeta('whitelist_seq') ?? null, importedAt: store.getMeta('whitelist_imported_at') ?? null },
      entries: { total: store.entryCount(), lastSeq: store.lastSeq() },
      outboxDepth: store.outboxDepth(),
      keys: store.listKeys().length,
      revokedTickets: store.revokedCount(),
    };
    ctx.out.result(data, () => [
      `gate ${cfg.site.id}/${cfg.gate.id} (zone ${cfg.gate.zone})`,
      `daemon     ${running ? `running, pid ${daemon!.pid}, epoch ${daemon!.epoch}, since ${daemon!.startedAt}` : 'NOT RUNNING'}`,
      ...(daemon ? [`scans      ${daemon.admitted} admitted (${daemon.persons} persons), ${daemon.rejected} rejected ${JSON.stringify(daemon.rejectsByReason)}`] : []),
      ...(daemon?.inputs ?? []).map((i) => `input      ${i.name}: ${i.state}${i.error ? ` (${i.error})` : ''}, ${i.discarded} discarded`),
      `whitelist  ${data.whitelist.tickets} tickets, seq ${data.whitelist.seq ?? '-'}, imported ${data.whitelist.importedAt ?? 'never'}`,
      `entries    ${data.entries.total} (last seq ${data.entries.lastSeq}), outbox ${data.outboxDepth} waiting`,
      `keys       ${data.keys} trusted, ${data.revokedTickets} revoked tickets`,
    ]);
  } finally {
    store.close();
  }
}

export function configValidate(ctx: Ctx): void {
  const cfg = config(ctx); // throws with every issue listed
  ctx.out.result({ valid: true, file: ctx.configPath, site: cfg.site.id, gate: cfg.gate.id }, () => `${ctx.configPath}: valid (site ${cfg.site.id}, gate ${cfg.gate.id})`);
}

export function configShow(ctx: Ctx): void {
  const cfg = config(ctx);
  const shown = { ...cfg, keys: { ...cfg.keys, idHash: cfg.keys.idHash.file ? { file: cfg.keys.idHash.file } : { value: '***redacted***' } } };
  ctx.out.result(shown, () => JSON.stringify(shown, null, 2));
}

export async function ticketsImport(ctx: Ctx): Promise<void> {
  const file = ctx.args[0];
  if (!file) throw new CliError('usage: gatectl tickets import <snapshot.ndjson>', 2);
  const cfg = config(ctx);
  const { store } = openGate(cfg, quiet);
  const bar = progressBar('importing');
  try {
    const result = await importSnapshot(store.db, file, {
      siteId: cfg.site.id,
      onProgress: (p) => bar.update(p.bytesRead, p.totalBytes, `${p.tickets} tickets`),
    });
    bar.done();
    ctx.out.result({ imported: true, ...result }, () => `imported ${result.tickets} tickets in ${(result.ms / 1000).toFixed(1)} s (seq ${result.asOfSeq ?? '-'}, ${result.carriedOver} kept from local use)`);
  } catch (err) {
    bar.done();
    throw err;
  } finally {
    store.close();
  }
}

export function ticketsLookup(ctx: Ctx): void {
  const key = ctx.args[0];
  if (!key) throw new CliError('usage: gatectl tickets lookup <ticketId | code>', 2);
  const parsed = parseTicketCode(key);
  const ticketId = parsed.ok ? (parsed.kind === 'st1' ? parsed.ticketId : parsed.payload.ticketId) : key;
  const { store } = inspect(ctx);
  try {
    const ticket = store.getTicket(ticketId);
    if (!ticket) throw new CliError(`ticket ${ticketId} is not in this gate's whitelist`);
    const entries = store.entriesForTicket(ticketId);
    const shown = { ...ticket, idHash: ticket.idHash ? `${ticket.idHash.slice(0, 8)}…` : null, revoked: store.isRevoked(ticketId), entries };
    ctx.out.result(shown, () => [
      ...table(Object.entries(shown).filter(([k]) => k !== 'entries').map(([k, v]) => [k, v as string])),
      ...entryLines(entries),
    ]);
  } finally {
    store.close();
  }
}

export function check(ctx: Ctx): void {
  const cfg = config(ctx);
  const idNumber = ctx.flags.idcard as string | undefined;
  const code = ctx.args[0];
  if (!code && !idNumber) throw new CliError('usage: gatectl check <code> | gatectl check --idcard <ID number>', 2);
  const { store, gatekeeper } = openGate(cfg, quiet, { inspectOnly: true });
  try {
    let outcome;
    if (idNumber) {
      if (!isValidIdNumber(idNumber)) throw new CliError(`not a valid ID number: ${maskIdNumber(idNumber)} (check digit)`);
      outcome = gatekeeper.evaluate({ kind: 'idcard', idHash: hashIdNumber(loadIdHashKey(cfg), idNumber), masked: maskIdNumber(idNumber) }, { dryRun: true });
    } else {
      outcome = gatekeeper.evaluate({ kind: 'qr', text: code! }, { dryRun: true });
    }
    ctx.out.result(outcome, () =>
      outcome.decision === 'admit'
        ? `admit: ${outcome.persons} person(s), ticket ${outcome.ticketId} (${outcome.typeId}) — dry run, ticket not used`
        : `reject: ${outcome.reason}${outcome.detail ? ` (${outcome.detail})` : ''}${outcome.ticketId ? `, ticket ${outcome.ticketId}` : ''}`,
    );
    if (outcome.decision === 'reject' && ctx.flags['fail-on-reject']) process.exitCode = 3;
  } finally {
    store.close();
  }
}

function entryLines(entries: EntryRow[]): string[] {
  if (entries.length === 0) return ['(no entries)'];
  return table([
    ['SEQ', 'AT', 'KIND', 'TICKET', 'TYPE', 'CREDENTIAL', 'PERSONS', 'INPUT'],
    ...entries.map((e) => [e.seq, new Date(e.at).toISOString(), e.kind, e.ticketId, e.typeId, e.credential, e.persons, e.input]),
  ]);
}

export async function entriesTail(ctx: Ctx): Promise<void> {
  const n = Number(ctx.flags.n ?? 20);
  if (!Number.isInteger(n) || n < 1) throw new CliError('-n takes a positive whole number', 2);
  const { store } = inspect(ctx);
  try {
    const entries = store.recentEntries(n).reverse();
    ctx.out.result(entries, () => entryLines(entries));
    if (!ctx.flags.follow) return;
    let last = entries.at(-1)?.seq ?? store.lastSeq();
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const fresh = store.recentEntries(1000, last).reverse();
      for (const e of fresh) process.stdout.write(`${ctx.out.json ? JSON.stringify(e) : entryLines([e])[1]}\n`);
      if (fresh.length) last = fresh.at(-1)!.seq;
    }
  } finally {
    store.close();
  }
}

export function keysList(ctx: Ctx): void {
  const { store } = inspect(ctx);
  try {
    const keys = store.listKeys();
    const data = { trusted: keys, revokedTickets: store.revokedCount() };
    ctx.out.result(data, () => [...table([['KEY', 'NOT AFTER', 'PUBLIC KEY'], ...keys.map((k) => [k.keyId, k.notAfter, k.publicKey])]), `${data.revokedTickets} revoked ticket(s)`]);
  } finally {
    store.close();
  }
}

/** `gatectl keys generate <keyId> [--out DIR]`: a signing key pair for offline tickets. */
export function keysGenerate(ctx: Ctx): void {
  const keyId = ctx.args[0];
  if (!keyId) throw new CliError('usage: gatectl keys generate <keyId> [--out DIR]', 2);
  const pair = generateSigningKeyPair(keyId);
  const dir = (ctx.flags.out as string | undefined) ?? '.';
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${keyId}.key.pem`);
  writeFileSync(file, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
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
  const key = loadSigningKey(f['key-id']!, readFileSync(f['signing-key']!, 'utf8'));
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

export { StileError };
