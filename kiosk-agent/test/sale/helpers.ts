import { expect } from 'vitest';
import type { JournalEntry, SaleEffect, SaleEvent } from '../../src/sale/events.js';
import { step } from '../../src/sale/machine.js';
import { DEFAULT_SALE_CONFIG, initialState, type KioskCatalogue, type Phase, type SaleConfig, type SaleContext, type SaleState } from '../../src/sale/model.js';

export const TODAY = '2026-05-01';
export const T0 = Date.UTC(2026, 4, 1, 2, 0, 0); // 10:00 Asia/Shanghai

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/** A resident ID number that passes every check (Beijing Dongcheng, born 1990-01-01), sequence `seq`. */
export function idNumber(seq: number, birth = '19900101'): string {
  const body = `110101${birth}${String(seq % 1000).padStart(3, '0')}`;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * (WEIGHTS[i] as number);
  return body + '10X98765432'[sum % 11];
}

export const CATALOGUE: KioskCatalogue = {
  types: [
    { id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000, persons: 1 },
    { id: 'family', name: { 'zh-CN': '家庭套票', en: 'Family' }, priceFen: 18000, persons: 3 },
  ],
  slots: [
    { id: 'am', start: '08:00', end: '12:00' },
    { id: 'pm', start: '12:00', end: '17:00' },
  ],
  realName: { ticketsPerIdPerDay: 1, bookingHorizonDays: 7 },
  refundReasons: [{ code: 'weather', label: { 'zh-CN': '天气原因', en: 'Weather' } }],
};

export function context(config: Partial<SaleConfig> = {}, catalogue: KioskCatalogue = CATALOGUE): SaleContext {
  return { config: { ...DEFAULT_SALE_CONFIG, ...config }, catalogue };
}
export const KIOSK = context();
export const WINDOW = context({ mode: 'window', methods: ['staff_cash', 'code'] });

/** Hopper with plenty of ¥1 and ¥0.5 coins. */
export const COINS = [
  { valueFen: 100, count: 200 },
  { valueFen: 50, count: 100 },
];

type Body = SaleEvent extends infer E ? (E extends SaleEvent ? Omit<E, 'at'> : never) : never;

/** Drives the machine like the edge would, keeping the clock, every effect and the journal. */
export class Driver {
  state: SaleState;
  now: number;
  effects: SaleEffect[] = [];
  last: SaleEffect[] = [];
  journal: JournalEntry[] = [];

  constructor(
    readonly ctx: SaleContext = KIOSK,
    state?: SaleState,
    now = T0,
  ) {
    this.now = now;
    this.state = state ?? initialState(now, { coins: COINS.map((c) => ({ ...c })) });
  }

  send(body: Body, advanceMs = 100): this {
    this.now += advanceMs;
    const r = step(this.state, { ...body, at: this.now } as SaleEvent, this.ctx);
    this.state = r.state;
    this.last = r.effects;
    this.effects.push(...r.effects);
    for (const e of r.effects) if (e.kind === 'journal') this.journal.push(e.entry);
    return this;
  }

  /** A tick `ms` after the previous event. */
  tick(ms: number): this {
    return this.send({ kind: 'tick' }, ms);
  }

  get phase(): Phase {
    return this.state.phase;
  }

  lastOf<K extends SaleEffect['kind']>(kind: K): Extract<SaleEffect, { kind: K }> | undefined {
    return this.last.find((e) => e.kind === kind) as Extract<SaleEffect, { kind: K }> | undefined;
  }

  has(kind: SaleEffect['kind']): boolean {
    return this.last.some((e) => e.kind === kind);
  }

  get attemptId(): string {
    const id = this.state.sale?.attempt?.id;
    expect(id).toBeDefined();
    return id as string;
  }
}

export const green = (date = TODAY, remaining = 500) => ({ date, level: 'green' as const, remaining, reserve: 25, slots: [{ slotId: 'am', remaining }, { slotId: 'pm', remaining }] });

/** start → green availability → adult × count, slot am → confirmed. */
export function toIdentifying(d: Driver, count = 1, typeId = 'adult'): Driver {
  if (d.ctx.config.mode === 'window' && !d.state.staff) d.send({ kind: 'staff_login', staffId: 'wang' });
  d.send({ kind: 'start', saleId: `s${d.now}`, today: TODAY });
  d.send({ kind: 'availability', availability: green() });
  d.send({ kind: 'choose_type', typeId });
  d.send({ kind: 'choose_slot', slotId: 'am' });
  d.send({ kind: 'set_count', count });
  d.send({ kind: 'confirm' });
  return d;
}

/** … → every visitor's card read → quote of ¥80 per ticket (or `unitFen`) → review. */
export function toReview(d: Driver, count = 1, unitFen = 8000, typeId = 'adult'): Driver {
  toIdentifying(d, count, typeId);
  const persons = count * (CATALOGUE.types.find((t) => t.id === typeId)?.persons ?? 1);
  for (let i = 0; i < persons; i++) d.send({ kind: 'id_card_read', name: `游客${i}`, idNumber: idNumber(100 + i) });
  d.send({ kind: 'quote', quote: { typeId, date: TODAY, slotId: 'am', count, unitFen, baseFen: unitFen, discounts: [] } });
  return d;
}

/** … → method chosen → order placed: in the payment phase of that method. */
export function toPayment(d: Driver, method: 'cash' | 'code' | 'qr' | 'staff_cash', count = 1, unitFen = 8000): Driver {
  toReview(d, count, unitFen);
  d.send({ kind: 'choose_method', method });
  d.send({ kind: 'order_placed', orderId: `o${d.now}` });
  return d;
}

/** A cash sale of ¥80 paid with one ¥100 note, change paid, recorded: in printing. */
export function toPrinting(d: Driver): Driver {
  toPayment(d, 'cash');
  d.send({ kind: 'note_held', valueFen: 10000 }).send({ kind: 'note_stacked', valueFen: 10000 });
  d.send({ kind: 'payout_done', paidFen: 2000 });
  d.send({ kind: 'sale_recorded', codes: ['ST1:abc'] });
  return d;
}

/** One reachable state per phase, each reached through real events. */
export function reach(phase: Phase, ctx: SaleContext = KIOSK): Driver {
  const d = new Driver(phase === 'staff_cash' || phase === 'staff_refund' ? WINDOW : ctx);
  if (d.ctx.config.mode === 'window' && phase !== 'staff_refund') d.send({ kind: 'staff_login', staffId: 'wang' });
  switch (phase) {
    case 'idle':
      return d;
    case 'choosing':
      return d.send({ kind: 'start', saleId: 's1', today: TODAY });
    case 'identifying':
      return toIdentifying(d);
    case 'quoting':
      toIdentifying(d);
      return d.send({ kind: 'id_card_read', name: '张三', idNumber: idNumber(1) });
    case 'review':
      return toReview(d);
    case 'placing':
      return toReview(d).send({ kind: 'choose_method', method: 'cash' });
    case 'cash':
      return toPayment(d, 'cash');
    case 'staff_cash':
      return toPayment(d, 'staff_cash');
    case 'code_wait':
      return toPayment(d, 'code');
    case 'code_pending':
      return toPayment(d, 'code').send({ kind: 'payment_code_scanned', authCode: '134567890123456789' });
    case 'qr':
      return toPayment(d, 'qr');
    case 'closing':
      return toPayment(d, 'qr').send({ kind: 'cancel' });
    case 'change':
      return toPayment(d, 'cash').send({ kind: 'note_held', valueFen: 10000 }).send({ kind: 'note_stacked', valueFen: 10000 });
    case 'refunding':
      return toPayment(d, 'cash').send({ kind: 'note_held', valueFen: 5000 }).send({ kind: 'note_stacked', valueFen: 5000 }).send({ kind: 'cancel' });
    case 'owed': {
      const e = new Driver(ctx, initialState(T0, { coins: [] }));
      return toPayment(e, 'cash').send({ kind: 'note_held', valueFen: 5000 }).send({ kind: 'note_stacked', valueFen: 5000 }).send({ kind: 'cancel' });
    }
    case 'recording':
      return toPayment(d, 'cash').send({ kind: 'note_held', valueFen: 5000 }).send({ kind: 'note_stacked', valueFen: 5000 }).send({ kind: 'note_held', valueFen: 5000 }).send({ kind: 'note_stacked', valueFen: 5000 }).send({ kind: 'payout_done', paidFen: 2000 });
    case 'printing':
      return toPrinting(d);
    case 'print_failed':
      return toPrinting(d).send({ kind: 'print_result', ok: false, fault: 'paper_out' });
    case 'done':
      return toPrinting(d).send({ kind: 'print_result', ok: true });
    case 'staff_refund':
      return d.send({ kind: 'staff_login', staffId: 'wang' }).send({ kind: 'staff_refund', orderId: 'o1', reasonCode: 'weather' });
  }
}

/** Every ID number that went into a sale, to check none is kept or journaled. */
export const SEEN_IDS = Array.from({ length: 12 }, (_, i) => idNumber(100 + i)).concat([idNumber(1)]);
