/** The sale as a pure state machine (docs/kiosk-sale.md): step(), its events, effects and journal, recovery, texts. */
export { step, run, type StepResult } from './machine.js';
export { recover, openSales, type Recovery } from './recover.js';
export { applyEntry, foldJournal, cashPending, providerKept, isPaid, moneyProblems, maxPayable, canPayExactly } from './money.js';
export { SALE_TEXT, saleText, isTextKey, yuan, type TextKey } from './text.js';
export { INPUT_EVENTS, type SaleEvent, type SaleEventKind, type SaleEffect, type SaleEffectKind, type JournalEntry, type JournalKind, type TicketPrint } from './events.js';
export * from './model.js';
