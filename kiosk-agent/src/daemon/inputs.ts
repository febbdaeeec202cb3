/**
 * Device events into the sale machine: the bill validator and hopper (each note stacked or
 * handed back goes into the cash journal first), the payment-code scanner and the ID-card
 * reader (gate-agent's drivers). The reader's holder data goes straight into the event; it is
 * never logged (only the masked number).
 */
import type { Logger } from 'pino';
import { createInput, IdCardReader, type GateInput, type IdCardHolder } from '@stile/gate-agent';
import type { IdCardGa467Config, InputConfig } from '@stile/config';
import type { CashDevices, CashFault } from '../devices/cctalk-cash.js';
import type { KioskJournal } from '../store/journal.js';
import type { EdgeEvent } from './executor.js';
import type { KioskRuntime } from './runtime.js';
import { couponCodeOf } from '../sale/tx.js';

const FRAUD = /fraud|tamper|pulled_backwards/;
const FULL = /stacker_full/;
const GONE = new Set(['not_responding', 'device_unavailable', 'init_failed']);

/** A validator fault in the sale machine's words, or undefined when it is not one that stops a sale. */
export function billFaultOf(f: CashFault): Extract<EdgeEvent, { kind: 'bill_fault' }>['fault'] | undefined {
  if (f.device !== 'bill_validator') return undefined;
  if (GONE.has(f.code)) return 'offline';
  // Set up again by the driver; only a note in escrow at the reset is money in the air.
  if (f.code === 'device_reset' && !f.note) return undefined;
  if (FRAUD.test(f.code)) return 'fraud';
  if (FULL.test(f.code)) return 'cashbox_full';
  if (/jam|stacker_faulty|anti_string_faulty|device_reset|events_lost/.test(f.code)) return 'jam';
  return undefined;
}

export function attachCash(cash: CashDevices, rt: KioskRuntime, journal: KioskJournal, log: Logger): void {
  const saleId = () => rt.state().sale?.id ?? 'none';
  cash.on('ready', (device) => {
    if (device === 'bill_validator') rt.dispatch({ kind: 'validator_status', ready: true });
    if (device === 'hopper') rt.dispatch({ kind: 'hopper_status', coins: [{ valueFen: cash.hopper?.coinFen ?? 100, count: journal.hopperCoins() ?? 0 }] });
  });
  cash.on('noteHeld', (note) => {
    rt.executor.held = note;
    rt.dispatch({ kind: 'note_held', valueFen: note.fen });
  });
  cash.on('noteStacked', ({ note, fen, billId }) => {
    if (rt.executor.held && (!note || note.id === rt.executor.held.id)) rt.executor.held = undefined;
    journal.cash(Date.now(), saleId(), 'note_in', fen, billId);
    rt.dispatch({ kind: 'note_stacked', valueFen: fen });
  });
  cash.on('noteReturned', (note, why) => {
    if (rt.executor.held && (!note || note.id === rt.executor.held.id)) rt.executor.held = undefined;
    if (!note) return;
    // Handed back from escrow: it never reached the box (the row is for the day's audit, not the count).
    journal.cash(Date.now(), saleId(), 'note_out', note.fen, why);
    rt.dispatch({ kind: 'note_returned', valueFen: note.fen });
  });
  cash.on('noteRejected', () => rt.dispatch({ kind: 'note_rejected' }));
  cash.on('fault', (f) => {
    log.warn({ event: 'cash_fault', device: f.device, code: f.code, note: f.note?.fen }, f.message);
    const fault = billFaultOf(f);
    if (fault === 'offline') rt.dispatch({ kind: 'validator_status', ready: false });
    if (fault) rt.dispatch({ kind: 'bill_fault', fault });
  });
}

/** The scanner that reads visitors' payment codes (WeChat / Alipay 付款码): each scan is one code. */
export function paymentScanner(cfg: InputConfig, rt: KioskRuntime, log: Logger): GateInput {
  const input = createInput(cfg, 'kiosk-scanner-has-no-id-cards', log);
  input.on('credential', (c) => {
    if (c.kind !== 'qr') return;
    const authCode = c.text.trim();
    // A coupon's QR holds its code (4–32 letters and digits); a payment code is 16–24 digits.
    const coupon = couponCodeOf(authCode);
    if (coupon) {
      log.info({ event: 'coupon_scanned', chars: coupon.length }, 'coupon code scanned');
      return rt.dispatch({ kind: 'coupon_entered', code: coupon });
    }
    log.info({ event: 'payment_code_scanned', digits: authCode.length }, 'payment code scanned');
    rt.dispatch({ kind: 'payment_code_scanned', authCode });
  });
  return input;
}

/** The GA/T 467 reader: a tapped card is one visitor (name and number into the machine, the masked number in the log). */
export function idCardReader(cfg: IdCardGa467Config, rt: KioskRuntime, log: Logger, idKey: Buffer): IdCardReader {
  const onHolder = (h: IdCardHolder) => {
    log.info({ event: 'id_card_read', id: h.masked }, 'ID card read');
    rt.dispatch({ kind: 'id_card_read', name: h.name, idNumber: h.idNumber });
  };
  // Nothing of a half-read card reaches the sale: only "place it again".
  const onReadFailed = () => rt.dispatch({ kind: 'id_card_removed' });
  return new IdCardReader(cfg, idKey, log.child({ module: 'device', device: cfg.name }), undefined, undefined, onHolder, onReadFailed);
}
