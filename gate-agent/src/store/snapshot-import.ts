import { createHash } from 'node:crypto';
import { closeSync, openSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type Database from 'better-sqlite3';
import { formatZodIssue, StileError, StileErrorCode, verifySnapshotSignature, type TrustedKeys } from '@stile/config';
import { parseSnapshotTicket } from './snapshot-line.js';
import { replaceTickets, WalKeeper } from './snapshot-swap.js';
import { sortStage } from './stage-sort.js';

export interface ImportProgress {
  bytesRead: number;
  totalBytes: number;
  tickets: number;
}

export interface SnapshotSignatureCheck {
  /** The gate's control keys (keys.control): the cloud signs the trailer with the site's control key. */
  trusted: TrustedKeys;
  /** The park's local date, for key validity. */
  today: string;
  /**
   * true (the gate's own resync): a file without a signature line is refused. false
   * (a technician's local file via gatectl): it imports, but a signed file is still verified.
   */
  required: boolean;
}

export interface ImportOptions {
  /** Refuse a snapshot whose header names another site. */
  siteId?: string;
  onProgress?: (p: ImportProgress) => void;
  /**
   * Tickets between progress reports, and the most rows one write transaction of the load
   * takes (they are sized by time, SLICE_MS, below that).
   */
  batchSize?: number;
  /**
   * Verify the signature line. Without it a signature line is accepted in its place but
   * not verified: only for files the caller already trusts (tests, benchmarks).
   */
  signature?: SnapshotSignatureCheck;
}

export interface ImportResult {
  tickets: number;
  asOfSeq: string | null;
  carriedOver: number;
  ms: number;
  /** The file had a signature line and it verified under `signature.trusted`. */
  signed: boolean;
  /** Wall time of each phase (ms): read and validate, sort, write into the gate's tables. */
  phases: { stageMs: number; sortMs: number; writeMs: number };
}

/** A ticket line is well under 1 KiB; a longer line than this is not a snapshot. */
export const SNAPSHOT_LINE_MAX_BYTES = 64 * 1024;

/** What a snapshot line carries; the usage columns start empty and the swap merges local usage in. */
const STAGED = 'ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used, id_hash';
const STAGED_DDL = `ticket_id TEXT NOT NULL, type_id TEXT NOT NULL, status TEXT NOT NULL, visit_date TEXT NOT NULL,
  slot_start TEXT, slot_end TEXT, persons INTEGER NOT NULL, entries_used INTEGER NOT NULL, id_hash TEXT`;
const STAGE = 'import_stage';
/** Small reads keep memory flat: lines sliced from a big chunk keep the whole chunk alive. */
const READ_CHUNK = 64 * 1024;
const LF = 0x0a;
const CR = 0x0d;
/** Page cache of the staging database while it is attached (KiB). */
const STAGE_CACHE_KIB = 4 * 1024;

/**
 * Load an NDJSON whitelist snapshot atomically. An optional first line
 * `{"snapshot":{"site":"…","asOfSeq":"…"}}` is the header; an optional last line
 * `{"signature":{…}}` signs the digest of the ticket lines; every other line is one ticket.
 *
 * 1. Every line is validated into a staging database next to the gate database
 *    (`<db>-import`, 0600, attached; no journal, no fsync, deleted afterwards), so nothing
 *    touches the gate's tables or write lock until the whole file is known to be good,
 *    and the signature (`opts.signature`) is checked against what was read.
 * 2. The staged tickets are sorted by ticket id (inside SQLite, in bounded memory; in a
 *    worker thread, so a resync on the daemon's thread does not stall its scans).
 * 3. They are appended to a shadow table in key order (random ids inserted straight into
 *    a WITHOUT ROWID table dirty most of the tree in every batch, which made a 1M-ticket
 *    import I/O-bound), what this gate knows and the snapshot may not (local usage,
 *    signed tickets admitted offline) is carried over, the tables are swapped and the old
 *    one is removed: all of it in write transactions of a few milliseconds, since the
 *    daemon keeps admitting meanwhile (snapshot-swap.ts).
 * Any bad line aborts the import and the old whitelist stays in place; the swap is one
 * transaction, so a scan sees either the whole old or the whole new whitelist.
 */
export async function importSnapshot(db: Database.Database, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const started = performance.now();
  const totalBytes = statSync(file).size;
  const batchSize = Math.max(1, opts.batchSize ?? 5_000);
  // An in-memory gate (tests) stages into an anonymous temporary database instead.
  const stagePath = db.memory ? '' : `${db.name}-import`;
  if (stagePath) {
    rmSync(stagePath, { force: true });
    // SQLite would create it 0644; it holds the site's ID-card hashes. An empty file is an empty database.
    closeSync(openSync(stagePath, 'wx', 0o600));
  }
  db.prepare(`ATTACH DATABASE ? AS ${STAGE}`).run(stagePath);
  const wal = new WalKeeper(db);
  try {
    db.pragma(`${STAGE}.journal_mode = OFF`);
    db.pragma(`${STAGE}.synchronous = OFF`);
    db.pragma(`${STAGE}.cache_size = -${STAGE_CACHE_KIB}`);
    db.exec(`CREATE TABLE ${STAGE}.staged (line INTEGER NOT NULL, ${STAGED_DDL})`);
    const staged = await stageLines(db, file, totalBytes, batchSize, opts);
    const stagedAt = performance.now();
    const { tickets, asOfSeq } = staged;
    // Before anything is written to the gate's own tables.
    const signed = checkSignature(file, staged, opts);
    // Rows go in in ORDER BY order, so the rowid of `sorted` is the position in ticket-id order
    // (BINARY, the primary key's collation). Only speed depends on that, never correctness.
    // `idcards` likewise in ticket_idcards' key order.
    await sortStage(
      db,
      STAGE,
      stagePath,
      (s) => `CREATE TABLE ${s}sorted AS SELECT line, ${STAGED} FROM ${s}staged ORDER BY ticket_id, line;
        CREATE TABLE ${s}idcards AS SELECT id_hash, visit_date, ticket_id FROM ${s}staged WHERE id_hash IS NOT NULL ORDER BY id_hash, visit_date, ticket_id;`,
    );
    const sortedAt = performance.now();
    const idcards = (db.prepare(`SELECT max(rowid) AS n FROM ${STAGE}.idcards`).get() as { n: number | null }).n ?? 0;
    const generation = Number((db.prepare("SELECT value FROM meta WHERE key = 'tickets_generation'").get() as { value?: string } | undefined)?.value ?? '0') + 1;
    const carriedOver = await replaceTickets(db, { stage: STAGE, tickets, idcards, generation, asOfSeq, maxRows: batchSize, duplicate: () => duplicate(db, file), wal });
    opts.onProgress?.({ bytesRead: totalBytes, totalBytes, tickets });
    const end = performance.now();
    return { tickets, asOfSeq, carriedOver, ms: end - started, signed, phases: { stageMs: stagedAt - started, sortMs: sortedAt - stagedAt, writeMs: end - sortedAt } };
  } finally {
    wal.stop();
    try {
      db.exec(`DETACH DATABASE ${STAGE}`);
    } finally {
      if (stagePath) rmSync(stagePath, { force: true });
    }
  }
}

interface Staged {
  tickets: number;
  asOfSeq: string | null;
  /** The header's site, if it named one. */
  site: string | undefined;
  /** The signature line's `signature` object, if there was one. */
  trailer: { raw: unknown; line: number } | undefined;
  /** SnapshotDigest of the ticket lines as read. */
  sha256: string;
}

/**
 * The bytes SnapshotDigest hashes (each ticket line's text plus "\n", in file order), fed a
 * run of consecutive "\n"-terminated ticket lines in one call: per-line updates cost
 * ~0.5 s of a 1M-ticket import. The signature tests check it against SnapshotDigest.
 */
class TicketLinesDigest {
  private readonly hash = createHash('sha256');

  /** Whole lines, each already followed by its "\n". */
  lines(text: string): void {
    if (text.length > 0) this.hash.update(text, 'utf8');
  }

  /** One line without its line break. */
  line(text: string): void {
    this.hash.update(`${text}\n`, 'utf8');
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

/**
 * Phase 1: read, parse and validate every line into the staging table, digesting each
 * ticket line's exact text. Each chunk read is one transaction on the staging database;
 * none stays open across an await.
 *
 * Lines are cut at the byte level: each read is split after its last line break, only
 * the unfinished tail is carried (at most SNAPSHOT_LINE_MAX_BYTES), and a tail that grows
 * past that aborts at once. Prepending the tail to the next decoded chunk instead made a
 * 32 MiB line cost a full re-copy and re-scan per 64 KiB read (25 s, 433 MB RSS).
 */
async function stageLines(
  db: Database.Database,
  file: string,
  totalBytes: number,
  batchSize: number,
  opts: ImportOptions,
): Promise<Staged> {
  const put = db.prepare(`INSERT INTO ${STAGE}.staged (line, ${STAGED}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const digest = new TicketLinesDigest();
  let asOfSeq: string | null = null;
  let site: string | undefined;
  let trailer: Staged['trailer'];
  let lineNo = 0;
  let tickets = 0;
  let bytesRead = 0;

  /** One line; true when it was a ticket (the caller digests it). */
  const onLine = (line: string): boolean => {
    lineNo++;
    // Bytes ≤ 3 × UTF-16 length, so only a suspiciously long string is measured.
    if (line.length > SNAPSHOT_LINE_MAX_BYTES / 3 && Buffer.byteLength(line) > SNAPSHOT_LINE_MAX_BYTES) throw tooLong(file, lineNo);
    if (line.trim() === '') return false;
    if (trailer) throw invalid(file, lineNo, `nothing may follow the signature line (line ${trailer.line})`);
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw invalid(file, lineNo, `not JSON (${(err as Error).message})`);
    }
    if (lineNo === 1 && isHeader(obj)) {
      if (opts.siteId && obj.snapshot.site !== undefined && obj.snapshot.site !== opts.siteId) {
        throw invalid(file, lineNo, `snapshot is for site "${obj.snapshot.site}", this gate is "${opts.siteId}"`);
      }
      asOfSeq = obj.snapshot.asOfSeq ?? null;
      site = obj.snapshot.site;
      return false;
    }
    if (isTrailer(obj)) {
      if (Object.keys(obj).length !== 1) throw invalid(file, lineNo, 'the signature line may hold only "signature"');
      trailer = { raw: obj.signature, line: lineNo };
      return false;
    }
    const parsed = parseSnapshotTicket(obj);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw invalid(file, lineNo, formatZodIssue(issue, { root: '(line)' }));
    }
    const t = parsed.data;
    put.run(lineNo, t.ticketId, t.typeId, t.status, t.visitDate, t.slotStart ?? null, t.slotEnd ?? null, t.persons, t.entriesUsed, t.idHash ?? null);
    if (++tickets % batchSize === 0) opts.onProgress?.({ bytesRead, totalBytes, tickets });
    return true;
  };
  /** Text with \r in it. Line breaks as readline sees them: \n, \r\n and a lone \r. */
  const onText = (text: string): void => {
    if (text.endsWith('\r')) text = text.slice(0, -1);
    for (const part of text.indexOf('\r') < 0 ? [text] : text.split('\r')) if (onLine(part)) digest.line(part);
  };
  /** Text that ends at a line break (or at the end of the file): every line in it. */
  const onBlock = db.transaction((text: string): void => {
    let from = 0;
    /** Start of the current run of plain ticket lines, digested in one call when it ends. */
    let run = -1;
    const endRun = () => {
      if (run >= 0) digest.lines(text.slice(run, from));
      run = -1;
    };
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      const line = text.slice(from, nl);
      if (line.indexOf('\r') >= 0) {
        endRun();
        onText(line);
      } else if (onLine(line)) {
        if (run < 0) run = from;
      } else endRun();
      from = nl + 1;
    }
    endRun();
    if (from < text.length) onText(text.slice(from));
  });

  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    /** The unfinished line: bytes after the last break, copied out of `buf`. */
    let tail: Buffer[] = [];
    let tailBytes = 0;
    /** The last block ended in \r: a \n first in the next read completes that \r\n. */
    let afterCr = false;
    for (;;) {
      const { bytesRead: n } = await fh.read(buf, 0, READ_CHUNK, null);
      if (n === 0) break;
      bytesRead += n;
      let chunk = buf.subarray(0, n);
      if (afterCr && chunk[0] === LF) chunk = chunk.subarray(1);
      afterCr = false;
      // 0x0a and 0x0d never occur inside a multi-byte UTF-8 sequence: cutting there is safe.
      const cut = Math.max(chunk.lastIndexOf(LF), chunk.lastIndexOf(CR)) + 1;
      if (cut === 0) {
        tailBytes += chunk.length;
        if (tailBytes > SNAPSHOT_LINE_MAX_BYTES) throw tooLong(file, lineNo + 1);
        if (chunk.length > 0) tail.push(Buffer.from(chunk));
        continue;
      }
      const head = chunk.subarray(0, cut);
      onBlock((tailBytes > 0 ? Buffer.concat([...tail, head]) : head).toString('utf8'));
      afterCr = chunk[cut - 1] === CR;
      tail = cut < chunk.length ? [Buffer.from(chunk.subarray(cut))] : [];
      tailBytes = chunk.length - cut;
    }
    if (tailBytes > 0) onBlock(Buffer.concat(tail).toString('utf8'));
  } finally {
    await fh.close();
  }
  return { tickets, asOfSeq, site, trailer, sha256: digest.hex() };
}

/**
 * The signature line against what was read; throws before the swap when it does not
 * hold. Returns whether the file was signed (and verified).
 */
function checkSignature(file: string, staged: Staged, opts: ImportOptions): boolean {
  const check = opts.signature;
  if (!check) return false;
  if (!staged.trailer) {
    if (check.required) throw refused(file, 'unsigned', 'snapshot is not signed');
    return false;
  }
  const verdict = verifySnapshotSignature(
    staged.trailer.raw,
    // A header without a site: the signature must name this gate's.
    { site: staged.site ?? opts.siteId ?? '', asOfSeq: staged.asOfSeq, tickets: staged.tickets, sha256: staged.sha256 },
    check.trusted,
    check.today,
  );
  if (!verdict.ok) throw refused(file, verdict.reason, `snapshot signature: ${verdict.reason}: ${verdict.detail}`);
  return true;
}

/** Duplicates are neighbours in key order; name the earliest repeated line and where the id first appeared. */
function duplicate(db: Database.Database, file: string): StileError {
  const d = db
    .prepare<[], { first: number; again: number }>(
      `SELECT a.line AS first, b.line AS again FROM ${STAGE}.sorted a
       JOIN ${STAGE}.sorted b ON b.rowid = a.rowid + 1 AND b.ticket_id = a.ticket_id ORDER BY b.line LIMIT 1`,
    )
    .get();
  return d
    ? invalid(file, d.again, `duplicate ticketId in snapshot (first on line ${d.first})`)
    : new StileError(StileErrorCode.SnapshotInvalid, `${file}: duplicate ticketId in snapshot; whitelist unchanged`);
}

function isHeader(obj: unknown): obj is { snapshot: { site?: string; asOfSeq?: string } } {
  return typeof obj === 'object' && obj !== null && 'snapshot' in obj && typeof (obj as { snapshot: unknown }).snapshot === 'object';
}

function isTrailer(obj: unknown): obj is { signature: unknown } {
  return typeof obj === 'object' && obj !== null && !Array.isArray(obj) && 'signature' in obj;
}

function tooLong(file: string, line: number): StileError {
  return invalid(file, line, `line longer than ${SNAPSHOT_LINE_MAX_BYTES} bytes`);
}

/** A snapshot that does not carry a valid signature; `details.reason` is the verdict (unsigned, bad_signature, mismatch, …). */
function refused(file: string, reason: string, message: string): StileError {
  return new StileError(StileErrorCode.SnapshotInvalid, `${file}: ${message}; whitelist unchanged`, { reason });
}

function invalid(file: string, line: number, message: string): StileError {
  return new StileError(StileErrorCode.SnapshotInvalid, `${file}:${line}: ${message}; whitelist unchanged`, { line });
}
