import type { Logger } from 'pino';
import type { RejectReason, TicketRecord, TicketType, TrustedKeys, OfflineTicketPayload } from '@stile/config';
import { localClock, normalizeScan, parseTicketCode, verifyOfflineTicket } from '@stile/config';
import type { EntryRow, GateStore } from '../store/index.js';
import { decide, recordAdmission, type Decision, type GateContext } from '../validation/index.js';
import type { Credential } from './credential.js';

export interface ScanOutcome {
  decision: 'admit' | 'reject';
  reason: RejectReason | null;
  detail?: string;
  persons: number;
  ticketId: string | null;
  typeId: string | null;
  credential: 'qr' | 'signed-qr' | 'idcard';
  entry?: EntryRow;
  /** True when nothing was written (gatectl check). */
  dryRun: boolean;
}

export interface GatekeeperDeps {
  store: GateStore;
  gate: GateContext;
  ticketTypes: ReadonlyMap<string, TicketType>;
  trustedKeys: TrustedKeys;
  clock: () => number;
  logger: Logger;
}

type Resolved =
  | {
      ok: true;
      ticket: TicketRecord | undefined;
      credential: ScanOutcome['credential'];
      /** The ticket's state again, under the write lock. */
      reread: (ticketId: string) => TicketRecord | undefined;
      /** signed-qr: the normalised code, carried in the entry event. */
      code?: string;
    }
  | { ok: false; outcome: ScanOutcome };

/**
 * Turns a credential into an admission or a reject with a reason. The admission is
 * committed (ticket usage + journal + outbox) before this returns, so the caller may
 * move the relay only after it, and a crash can neither admit twice nor lose an entry.
 */
export class Gatekeeper {
  constructor(private readonly deps: GatekeeperDeps) {}

  /**
   * `unsynced`: commit the admission without waiting for the disk; the caller must then call
   * `store.syncWal()` before it treats the admission as durable (the daemon sends the relay
   * command in between, see gate-daemon.ts). A crash of the process keeps it either way.
   */
  evaluate(cred: Credential, opts: { dryRun?: boolean; input?: string; unsynced?: boolean } = {}): ScanOutcome {
    const dryRun = opts.dryRun ?? false;
    const now = this.deps.clock();
    const extra = { input: opts.input, unsynced: opts.unsynced ?? false };
    if (cred.kind === 'idcard') return this.evaluateIdCard(cred.idHash, now, dryRun, extra);
    const resolved = this.resolveQr(cred.text, now, dryRun);
    if (!resolved.ok) return resolved.outcome;
    return this.admitOrReject(resolved.ticket, resolved.credential, now, dryRun, { ...extra, code: resolved.code }, resolved.reread);
  }

  private resolveQr(text: string, now: number, dryRun: boolean): Resolved {
    const parsed = parseTicketCode(text);
    if (!parsed.ok) return { ok: false, outcome: reject(parsed.reason, 'qr', dryRun, null, parsed.detail) };
    if (parsed.kind === 'st1') {
      if (this.deps.store.isRevoked(parsed.ticketId)) return { ok: false, outcome: reject('revoked', 'qr', dryRun, parsed.ticketId) };
      return { ok: true, ticket: this.deps.store.getTicket(parsed.ticketId), credential: 'qr', reread: (id) => this.deps.store.getTicket(id) };
    }
    const today = localClock(this.deps.gate.timeZone, now).date;
    const verified = verifyOfflineTicket(parsed, this.deps.trustedKeys, today);
    if (!verified.ok) return { ok: false, outcome: reject(verified.reason, 'signed-qr', dryRun, parsed.payload.ticketId, verified.detail) };
    const p = verified.payload;
    if (p.site !== this.deps.gate.siteId) {
      return { ok: false, outcome: reject('wrong_site', 'signed-qr', dryRun, p.ticketId, `code is for site ${p.site}`) };
    }
    if (this.deps.store.isRevoked(p.ticketId)) return { ok: false, outcome: reject('revoked', 'signed-qr', dryRun, p.ticketId) };
    // A signed ticket admits even before the whitelist knows it; once known, the whitelist state wins.
    // Unknown here, it still counts what other gates reported, or a single entry would admit at every gate.
    const store = this.deps.store;
    const signed = (id: string) => store.getTicket(id) ?? ticketFromSignedPayload(p, store.remoteEntriesUsed(id));
    return { ok: true, ticket: signed(p.ticketId), credential: 'signed-qr', reread: signed, code: normalizeScan(text) };
  }

  private evaluateIdCard(idHash: string, now: number, dryRun: boolean, extra: { input: string | undefined; unsynced: boolean }): ScanOutcome {
    const candidates = this.deps.store.ticketsForIdHash(idHash);
    const today = localClock(this.deps.gate.timeZone, now).date;
    const todays = candidates.filter((t) => t.visitDate === today);
    if (todays.length === 0) return reject('no_ticket_today', 'idcard', dryRun, null, candidates.length > 0 ? `${candidates.length} ticket(s) on other dates` : undefined);
    let firstReject: Decision | undefined;
    let firstRejected: TicketRecord | undefined;
    for (const t of todays) {
      const d = this.decideFor(t, now);
      if (d.decision === 'admit') return this.admitOrReject(t, 'idcard', now, dryRun, extra, (id) => this.deps.store.getTicket(id));
      if (!firstReject) {
        firstReject = d;
        firstRejected = t;
      }
    }
    return outcomeOf(firstReject!, firstRejected!, 'idcard', dryRun);
  }

  private decideFor(ticket: TicketRecord | undefined, now: number): Decision {
    return decide(ticket, ticket ? this.deps.ticketTypes.get(ticket.typeId) : undefined, this.deps.gate, now);
  }

  private admitOrReject(
    ticket: TicketRecord | undefined,
    credential: ScanOutcome['credential'],
    now: number,
    dryRun: boolean,
    extra: { input: string | undefined; unsynced: boolean; code?: string | undefined },
    reread: (ticketId: string) => TicketRecord | undefined,
  ): ScanOutcome {
    const first = this.decideFor(ticket, now);
    if (first.decision === 'reject' || dryRun || !ticket) return outcomeOf(first, ticket, credential, dryRun);
    const store = this.deps.store;
    try {
      // Re-read and re-decide under the write lock: another writer may have used the ticket meanwhile.
      const inLock = <T>(fn: () => T): T => (extra.unsynced ? store.exclusiveUnsynced(fn) : store.exclusive(fn));
      return inLock(() => {
        const current = reread(ticket.ticketId);
        const d = this.decideFor(current, now);
        if (d.decision === 'reject' || !current) return outcomeOf(d, current, credential, false);
        const entry = this.deps.store.recordAdmission({
          ticket: recordAdmission(current, this.deps.gate, now),
          credential,
          persons: d.persons,
          at: now,
          gateSite: this.deps.gate.siteId,
          gateId: this.deps.gate.gateId,
          ...(extra.input !== undefined ? { input: extra.input } : {}),
          ...(extra.code !== undefined ? { code: extra.code } : {}),
        });
        return { ...outcomeOf(d, current, credential, false), entry };
      });
    } catch (err) {
      this.deps.logger.error({ err, ticketId: ticket.ticketId }, 'admission could not be recorded; relay stays shut');
      return reject('gate_fault', credential, false, ticket.ticketId, (err as Error).message);
    }
  }
}

function ticketFromSignedPayload(p: OfflineTicketPayload, entriesUsed: number): TicketRecord {
  return {
    ticketId: p.ticketId,
    typeId: p.typeId,
    status: 'valid',
    visitDate: p.visitDate,
    slotStart: p.slotStart,
    slotEnd: p.slotEnd,
    persons: p.persons,
    entriesUsed,
    entriesDay: null,
    entriesDayCount: 0,
    lastEntryAt: null,
    idHash: null,
    source: 'signed',
  };
}

function outcomeOf(d: Decision, ticket: TicketRecord | undefined, credential: ScanOutcome['credential'], dryRun: boolean): ScanOutcome {
  if (d.decision === 'admit') {
    return { decision: 'admit', reason: null, persons: d.persons, ticketId: ticket?.ticketId ?? null, typeId: ticket?.typeId ?? null, credential, dryRun };
  }
  return reject(d.reason, credential, dryRun, ticket?.ticketId ?? null, d.detail, ticket?.typeId);
}

function reject(
  reason: RejectReason,
  credential: ScanOutcome['credential'],
  dryRun: boolean,
  ticketId: string | null,
  detail?: string,
  typeId?: string,
): ScanOutcome {
  return { decision: 'reject', reason, ...(detail !== undefined ? { detail } : {}), persons: 0, ticketId, typeId: typeId ?? null, credential, dryRun };
}
