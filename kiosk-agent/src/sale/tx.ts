/*
 * One step of the machine in the making: a private copy of the state to change, the effects
 * so far, and the few moves every phase uses. Money changes only through journal(), which
 * folds the entry into the sale's Money and emits it before any effect that acts on it.
 */
import type { JournalEntry, SaleEffect, SaleEvent } from './events.js';
import { applyEntry } from './money.js';
import type { Phase, Sale, SaleConfig, SaleContext, SaleState } from './model.js';
import type { TextKey } from './text.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EntryBody = DistributiveOmit<JournalEntry, 'saleId' | 'at' | 'staff'>;

export class Tx {
  readonly s: SaleState;
  readonly fx: SaleEffect[] = [];

  constructor(
    prev: SaleState,
    readonly ev: SaleEvent,
    readonly ctx: SaleContext,
  ) {
    this.s = structuredClone(prev);
  }

  get at(): number {
    return this.ev.at;
  }

  get cfg(): SaleConfig {
    return this.ctx.config;
  }

  /** The current sale; phases other than idle always have one (machine.ts checks before dispatch). */
  get sale(): Sale {
    return this.s.sale as Sale;
  }

  emit(e: SaleEffect): void {
    this.fx.push(e);
  }

  go(phase: Phase): void {
    if (this.s.phase !== phase) this.s.since = this.at;
    this.s.phase = phase;
  }

  say(key: TextKey, vars?: Record<string, string | number>): void {
    this.s.notice = vars ? { key, vars } : { key };
    this.emit({ kind: 'show', notice: this.s.notice });
  }

  /** Persist first, then act: the entry is emitted before whatever effect the caller adds next. */
  journal(body: EntryBody, opts: { saleId?: string; staff?: string } = {}): void {
    const saleId = opts.saleId ?? this.s.sale?.id ?? '';
    const staff = opts.staff ?? this.s.staff;
    const entry = { ...body, saleId, at: this.at, ...(staff ? { staff } : {}) } as JournalEntry;
    if (this.s.sale && this.s.sale.id === saleId) this.s.sale.money = applyEntry(this.s.sale.money, entry);
    this.emit({ kind: 'journal', entry });
  }

  /** An event this phase does not take: ignored, with the reason logged. */
  ignore(reason = 'not_in_this_phase'): true {
    this.emit({ kind: 'log', level: 'warn', reason, event: this.ev.kind, phase: this.s.phase });
    return true;
  }

  log(reason: string): void {
    this.emit({ kind: 'log', level: 'info', reason, event: this.ev.kind, phase: this.s.phase });
  }
}

/**
 * The sale is over: closed in the journal, a held order released when no money is kept, and
 * back to the start screen with a word about why.
 */
export function endSale(tx: Tx, outcome: 'cancelled' | 'timeout' | 'fault' | 'owed', key: TextKey, vars?: Record<string, string | number>): void {
  const sale = tx.sale;
  if (sale.orderId && sale.money.paidBy === undefined) tx.emit({ kind: 'cancel_order', saleId: sale.id, orderId: sale.orderId });
  tx.journal({ kind: 'sale_closed', outcome });
  delete tx.s.sale;
  tx.go('idle');
  tx.say(key, vars);
}

export function personsOf(tx: Tx, sale: Sale = tx.sale): number {
  const type = tx.ctx.catalogue.types.find((t) => t.id === sale.typeId);
  return (type?.persons ?? 1) * sale.count;
}

export function totalOf(sale: Sale): number {
  return sale.quote ? sale.quote.unitFen * sale.count - (sale.discountFen ?? 0) : 0;
}

/**
 * A coupon code as typed or scanned, normalised as the cloud does (spaces and dashes out,
 * upper case): 4 to 32 letters and digits; undefined for anything else. A scan that is a
 * payment code (16–24 digits: WeChat 10–15…, Alipay 25–30…) is never a coupon.
 */
export function couponCodeOf(raw: string): string | undefined {
  const code = String(raw).replace(/[\s-]/g, '').toUpperCase();
  if (!/^[A-Z0-9]{4,32}$/.test(code) || /^\d{16,24}$/.test(code)) return undefined;
  return code;
}
