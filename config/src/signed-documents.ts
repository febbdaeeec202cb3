import { createHash } from 'node:crypto';
import { z } from 'zod';
import { signControl, verifyControl, type ControlVerdict } from './control-sign.js';
import type { SigningKey, TrustedKeys } from './ticket-code.js';
import { formatZodIssues, type IssueLike } from './zod-issues.js';

/**
 * Signed documents a gate or a screen fetches or receives besides deltas and commands:
 * the whitelist snapshot (a trailer line over the digest of its ticket lines), the
 * ticket-type rules, and the retained capacity / announce messages. All are signed with
 * the site's control key (signControl), so a LAN attacker, a forged HTTP answer or a
 * foreign publisher on the broker cannot make a gate or a PA act on them.
 */

/**
 * The last line of a snapshot: `{"signature":{v,site,asOfSeq,tickets,sha256,sig}}`. `sha256`
 * is the digest of every ticket line (its exact text plus "\n") in file order, so the
 * gate checks it while streaming, in one pass, before anything is swapped in.
 */
export const SnapshotSignatureSchema = z
  .object({
    v: z.literal(1),
    site: z.string().min(1),
    asOfSeq: z.string().regex(/^\d{1,20}$/),
    tickets: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    sig: z.string().min(1),
  })
  .strict();
export type SnapshotSignature = z.infer<typeof SnapshotSignatureSchema>;

/** Running digest of a snapshot's ticket lines. */
export class SnapshotDigest {
  private readonly hash = createHash('sha256');
  tickets = 0;

  /** One ticket line, without its line break. */
  line(text: string): void {
    this.hash.update(text, 'utf8');
    this.hash.update('\n');
    this.tickets++;
  }

  hex(): string {
    return this.hash.copy().digest('hex');
  }
}

export function signSnapshot(key: SigningKey, s: { site: string; asOfSeq: string; tickets: number; sha256: string }): SnapshotSignature {
  return signControl({ v: 1 as const, site: s.site, asOfSeq: s.asOfSeq, tickets: s.tickets, sha256: s.sha256 }, key);
}

export type DocumentVerdict = { ok: true } | { ok: false; reason: 'unsigned' | 'unknown_key' | 'bad_signature' | 'key_expired' | 'wrong_site' | 'mismatch' | 'invalid'; detail: string };

function fromControl(v: ControlVerdict): DocumentVerdict | null {
  return v.ok ? null : { ok: false, reason: v.reason, detail: v.detail };
}

/** The trailer must be signed by a trusted control key and describe exactly what was read. */
export function verifySnapshotSignature(
  raw: unknown,
  read: { site: string; asOfSeq: string | null; tickets: number; sha256: string },
  trusted: TrustedKeys,
  today: string,
): DocumentVerdict {
  const parsed = SnapshotSignatureSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: 'invalid', detail: `signature line: ${formatZodIssues(parsed.error.issues, { limit: 1 }) || 'invalid'}` };
  const bad = fromControl(verifyControl(raw as Record<string, unknown>, trusted, today));
  if (bad) return bad;
  const s = parsed.data;
  if (s.site !== read.site) return { ok: false, reason: 'wrong_site', detail: `snapshot is signed for site "${s.site}"` };
  if (s.asOfSeq !== read.asOfSeq) return { ok: false, reason: 'mismatch', detail: `signed asOfSeq ${s.asOfSeq}, header says ${read.asOfSeq ?? 'none'}` };
  if (s.tickets !== read.tickets || s.sha256 !== read.sha256) return { ok: false, reason: 'mismatch', detail: `signed ${s.tickets} tickets, read ${read.tickets}; content digest ${s.sha256 === read.sha256 ? 'matches' : 'differs'}` };
  return { ok: true };
}

/**
 * A signed JSON document for one site (ticket types, capacity, announce): parse with
 * `schema`, verify the control signature on the raw object (zod defaults would change the
 * signed bytes), and check the site it names.
 */
export function verifySiteDocument<T extends { site: string }>(
  raw: unknown,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: readonly IssueLike[] } } },
  site: string,
  trusted: TrustedKeys,
  today: string,
): { ok: true; doc: T } | Extract<DocumentVerdict, { ok: false }> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'invalid', detail: 'not a JSON object' };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: 'invalid', detail: formatZodIssues(parsed.error.issues, { limit: 1 }) || 'invalid' };
  const bad = fromControl(verifyControl(raw as Record<string, unknown>, trusted, today));
  if (bad) return bad as Extract<DocumentVerdict, { ok: false }>;
  if (parsed.data.site !== site) return { ok: false, reason: 'wrong_site', detail: `signed for site "${parsed.data.site}"` };
  return { ok: true, doc: parsed.data };
}

/** GET /v1/sites/{site}/ticket-types: the catalogue's gate rules, signed for one site. */
export const TicketTypesDocumentSchema = z
  .object({
    v: z.literal(1),
    site: z.string().min(1),
    ticketTypes: z.array(z.unknown()).min(1),
    at: z.string().datetime({ offset: true }),
    sig: z.string().min(1),
  })
  .strict();
export type TicketTypesDocument = z.infer<typeof TicketTypesDocumentSchema>;

/**
 * GET /v1/sites/{site}/gates/{gate}/marks: what the cloud holds of one gate, signed for the
 * site — the highest entry seq it stored and the gate's newest session epoch. A gate whose
 * database was rebuilt (gatectl restore) numbers its entries and sessions on from these:
 * the cloud takes each (gate, seq) once, and ignores a status from an older epoch.
 */
export const GateMarksDocumentSchema = z
  .object({
    v: z.literal(1),
    site: z.string().min(1),
    gate: z.string().min(1),
    highSeq: z.string().regex(/^\d{1,20}$/),
    epoch: z.number().int().min(0),
    at: z.string().datetime({ offset: true }),
    sig: z.string().min(1),
  })
  .strict();
export type GateMarksDocument = z.infer<typeof GateMarksDocumentSchema>;
