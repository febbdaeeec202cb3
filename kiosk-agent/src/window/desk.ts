/**
 * The staffed ticket window (kiosk.mode: window): the same sale machine on a staff PC, with
 * the staff member's own actions around it. Staff log in with an id and PIN (scrypt hashes in
 * kiosk.yaml; wrong tries lock the id out), sell through the machine (cash typed in by hand,
 * or a payment code), look a visitor's tickets up by ID card (the keyed hash goes to the
 * cloud, never the number), print them again, and refund with a reason from the park's list.
 *
 * Every action is an audit row naming the staff member; the machine's own journal entries
 * name them too (the sale, `staff_cash`, `staff_refund`), and the refund goes to the cloud
 * with the staff id.
 */
import type { Logger } from 'pino';
import { hashIdNumber, idNumberProblem, maskIdNumber } from '@stile/config';
import type { KioskConfig } from '../config.js';
import type { KioskRuntime } from '../daemon/runtime.js';
import { ticketDocuments } from '../daemon/printouts.js';
import type { EscPosPrinter } from '../devices/printer.js';
import { encodeDocument } from '../protocol/escpos.js';
import type { KioskJournal } from '../store/journal.js';
import { printSettingOf } from '../cli/operations.js';
import { lookupVisitor, LookupError, type FoundOrder, type LookupAnswer } from './lookup.js';
import { verifyPin } from './pin.js';

export class WindowError extends Error {
  constructor(
    readonly code: 'unknown_staff' | 'wrong_pin' | 'locked_out' | 'not_logged_in' | 'busy' | 'invalid_id' | 'no_card' | 'no_key' | 'lookup_failed' | 'unknown_order' | 'not_paid' | 'not_refundable' | 'unknown_reason' | 'bad_amount' | 'print_failed',
    message: string,
  ) {
    super(message);
    this.name = 'WindowError';
  }
}

export interface WindowDeskDeps {
  cfg: KioskConfig;
  runtime: KioskRuntime;
  journal: KioskJournal;
  printer: EscPosPrinter;
  log: Logger;
  now: () => number;
}

/** A card tapped while no sale runs is kept this long for a lookup, then forgotten. */
const CARD_KEEP_MS = 60_000;

export class WindowDesk {
  private readonly tries = new Map<string, { wrong: number; lockedUntil: number }>();
  /** The last lookup's orders: print and refund act only on what staff saw. */
  private readonly found = new Map<string, FoundOrder>();
  private reasons: LookupAnswer['refundReasons'] = [];
  private card: { idNumber: string; at: number } | undefined;
  private readonly off: () => void;
  private readonly log: Logger;

  constructor(private readonly d: WindowDeskDeps) {
    this.log = d.log.child({ module: 'window' });
    this.off = d.runtime.subscribe((s, ev) => {
      // Outside a sale the machine ignores a card: the window keeps it for a lookup.
      if (ev.kind === 'id_card_read' && s.phase === 'idle') this.card = { idNumber: ev.idNumber, at: ev.at };
    });
  }

  close(): void {
    this.off();
    this.card = undefined;
  }

  /** The staff member logged in, if any. */
  get staff(): string | undefined {
    return this.d.runtime.state().staff;
  }

  private audit(action: string, detail: Record<string, unknown>, saleId: string | null = null, staff = this.staff ?? null): void {
    this.d.journal.audit({ at: this.d.now(), staff, action, saleId, detail });
    this.log.info({ event: 'window_action', action, staff, saleId, ...detail }, action);
  }

  private need(): string {
    const staff = this.staff;
    if (!staff) throw new WindowError('not_logged_in', 'log in first (staff id and PIN)');
    return staff;
  }

  private idle(what: string): void {
    const phase = this.d.runtime.state().phase;
    if (phase !== 'idle') throw new WindowError('busy', `finish the sale first (${phase}), then ${what}`);
  }

  login(staffId: string, pin: string): void {
    const staff = this.d.cfg.window?.staff.find((s) => s.id === staffId);
    const now = this.d.now();
    const t = this.tries.get(staffId) ?? { wrong: 0, lockedUntil: 0 };
    if (t.lockedUntil > now) throw new WindowError('locked_out', `${staffId} is locked out for ${Math.ceil((t.lockedUntil - now) / 1000)} s after wrong PINs`);
    if (!staff || !verifyPin(pin, staff.pinHash)) {
      t.wrong++;
      if (t.wrong >= (this.d.cfg.window?.maxPinTries ?? 5)) {
        t.lockedUntil = now + (this.d.cfg.window?.lockoutMs ?? 300_000);
        t.wrong = 0;
      }
      this.tries.set(staffId, t);
      this.audit('login_refused', { staffId: staffId.slice(0, 64), why: staff ? 'wrong_pin' : 'unknown_staff' }, null, null);
      throw new WindowError(staff ? 'wrong_pin' : 'unknown_staff', staff ? 'wrong PIN' : `no staff member ${staffId} in kiosk.yaml`);
    }
    this.idle('log in');
    this.tries.delete(staffId);
    if (this.staff && this.staff !== staffId) this.logout();
    this.d.runtime.dispatch({ kind: 'staff_login', staffId });
    this.audit('login', {}, null, staffId);
  }

  logout(): void {
    const staff = this.staff;
    if (!staff) return;
    this.idle('log out');
    this.d.runtime.dispatch({ kind: 'staff_logout' });
    this.found.clear();
    this.audit('logout', {}, null, staff);
  }

  /** A new sale at the window: the machine's choosing screen. */
  startSale(): string {
    this.need();
    this.idle('start another sale');
    return this.d.runtime.startSale();
  }

  /** Cash handed over by the visitor, typed in by staff: the change to give back. */
  tenderCash(amountFen: number): { tenderedFen: number; changeFen: number; saleId: string } {
    this.need();
    const s = this.d.runtime.state();
    if (s.phase !== 'staff_cash' || !s.sale) throw new WindowError('busy', `no sale is waiting for cash (${s.phase})`);
    const total = s.sale.money.totalFen;
    if (!Number.isInteger(amountFen) || amountFen < total) throw new WindowError('bad_amount', `the visitor must hand over at least ¥${(total / 100).toFixed(2)}`);
    this.d.runtime.dispatch({ kind: 'cash_tendered', amountFen });
    return { tenderedFen: amountFen, changeFen: amountFen - total, saleId: s.sale.id };
  }

  /** Today's orders holding this ID (typed, or the card tapped last), any channel. */
  async lookup(idNumber?: string): Promise<LookupAnswer> {
    const staff = this.need();
    const id = idNumber ?? this.lastCard();
    const problem = idNumberProblem(id);
    if (problem) throw new WindowError('invalid_id', `not a valid ID number (${problem})`);
    const key = this.d.cfg.window?.idHashKey;
    if (!key) throw new WindowError('no_key', 'window.idHashKeyFile is not set in kiosk.yaml: lookups need the site\'s ID hash key');
    let answer: LookupAnswer;
    try {
      answer = await lookupVisitor({ url: this.d.cfg.cloud.url, apiKey: this.d.cfg.cloud.apiKey, timeoutMs: this.d.cfg.cloud.timeoutMs }, hashIdNumber(key, id));
    } catch (err) {
      this.audit('lookup_failed', { id: maskIdNumber(id), code: err instanceof LookupError ? err.code : 'error' }, null, staff);
      throw new WindowError('lookup_failed', (err as Error).message);
    }
    this.found.clear();
    for (const o of answer.orders) this.found.set(o.orderId, o);
    if (answer.refundReasons.length > 0) {
      this.reasons = answer.refundReasons;
      this.d.runtime.setRefundReasons(answer.refundReasons);
    }
    this.audit('lookup', { id: maskIdNumber(id), orders: answer.orders.map((o) => o.orderId) }, null, staff);
    return answer;
  }

  private lastCard(): string {
    const c = this.card;
    if (!c || this.d.now() - c.at > CARD_KEEP_MS) throw new WindowError('no_card', 'tap the visitor\'s ID card on the reader (or type the number)');
    this.card = undefined;
    return c.idNumber;
  }

  private order(orderId: string): FoundOrder {
    const o = this.found.get(orderId);
    if (!o) throw new WindowError('unknown_order', `order ${orderId} is not in the last lookup; look the visitor up first`);
    return o;
  }

  /** Print a looked-up order's tickets again (marked as a copy). */
  async printAgain(orderId: string): Promise<{ orderId: string; tickets: number }> {
    const staff = this.need();
    this.idle('print');
    const o = this.order(orderId);
    if (o.status !== 'paid' || o.tickets.length === 0) throw new WindowError('not_paid', `order ${orderId} is ${o.status}: it has no tickets to print`);
    const ticket = { saleId: `window:${orderId}`, orderId, codes: o.tickets.map((t) => t.code), typeId: o.typeId, date: o.date, ...(o.slotId ? { slotId: o.slotId } : {}), persons: o.persons, totalFen: o.amountFen, paidBy: 'code' as const, changeOwedFen: 0, copy: 2 };
    const { docs } = ticketDocuments({ ticket, catalogue: this.d.runtime.catalogue(), persons: o.tickets.map((t) => t.persons), at: this.d.now() }, printSettingOf(this.d.cfg));
    const r = await this.d.printer.print(Buffer.concat(docs.map((doc) => encodeDocument(doc))));
    this.audit('print_again', { orderId, tickets: o.tickets.length, outcome: r.outcome }, null, staff);
    if (r.outcome !== 'printed') throw new WindowError('print_failed', `the printer did not print (${r.outcome}${r.faults.length ? `: ${r.faults.join(', ')}` : ''})`);
    return { orderId, tickets: o.tickets.length };
  }

  /**
   * Refund a looked-up order with a reason from the park's list, through the machine (its
   * journal names the staff member) and the channel API (the staff id goes with it). An
   * order this window sold for cash is handed back from the till: a `refund_cash` row.
   */
  async refund(orderId: string, reasonCode: string): Promise<{ orderId: string; ok: boolean; cashBackFen: number }> {
    const staff = this.need();
    this.idle('refund');
    const o = this.order(orderId);
    if (o.status !== 'paid') throw new WindowError('not_paid', `order ${orderId} is ${o.status}: only paid orders are refunded`);
    if (!o.canRefund) throw new WindowError('not_refundable', `order ${orderId} cannot be refunded (a ticket of it has been used)`);
    if (!this.reasons.some((r) => r.code === reasonCode)) throw new WindowError('unknown_reason', `refund reason "${reasonCode}" is not one of: ${this.reasons.map((r) => r.code).join(', ')}`);
    this.audit('refund', { orderId, reason: reasonCode, amountFen: o.amountFen }, null, staff);
    const result = new Promise<boolean>((resolve) => {
      const off = this.d.runtime.subscribe((_s, _ev, effects) => {
        for (const fx of effects)
          if (fx.kind === 'journal' && fx.entry.kind === 'staff_refund_result' && fx.entry.orderId === orderId) {
            off();
            resolve(fx.entry.ok);
          }
      });
    });
    this.d.runtime.dispatch({ kind: 'staff_refund', orderId, reasonCode });
    const ok = await result;
    const sold = this.soldHereForCash(orderId);
    const cashBackFen = ok && sold ? o.amountFen : 0;
    if (cashBackFen > 0) this.d.journal.cash(this.d.now(), sold!, 'refund_cash', cashBackFen, `order=${orderId}`);
    this.audit('refund_result', { orderId, ok, cashBackFen }, null, staff);
    return { orderId, ok, cashBackFen };
  }

  /** The sale of this kiosk that sold the order for cash, if one did (its money is in the till). */
  private soldHereForCash(orderId: string): string | undefined {
    const now = this.d.now();
    const placed = this.d.journal.entriesBetween(now - 2 * 86_400_000, now + 60_000).find((e) => e.kind === 'order_placed' && e.orderId === orderId);
    return placed?.kind === 'order_placed' && (placed.method === 'cash' || placed.method === 'staff_cash') ? placed.saleId : undefined;
  }
}
