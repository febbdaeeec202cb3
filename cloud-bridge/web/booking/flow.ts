/**
 * The steps of a booking and how the page moves between them, pure: pick (date, slot, type,
 * quantity) → visitors (real names) → login (phone + SMS code; skipped with a live session) →
 * pay (the order exists and waits for the provider) → ticket. "My orders" is beside the flow.
 * The hash of the URL mirrors the step, so the back button and a reload land where the visitor
 * was; an order waiting for payment survives closing the page (its id is kept, main.ts).
 */
import type { Availability, BookInfo, BookOrder } from './types.js';

export type Step = 'pick' | 'visitors' | 'login' | 'pay' | 'ticket' | 'orders';

export interface Draft {
  date: string;
  slotId: string | null;
  typeId: string | null;
  entry: 'early' | 'night' | null;
  /** Tickets (a family package is one ticket for its persons). */
  tickets: number;
}

export interface FlowState {
  step: Step;
  draft: Draft;
  /** The order being paid or shown. */
  orderId: string | null;
  loggedIn: boolean;
  /** Where login leads: on to the order, or to "my orders". */
  afterLogin: 'order' | 'orders';
}

export type FlowEvent =
  | { type: 'picked' }
  | { type: 'visitorsDone' }
  | { type: 'loggedIn' }
  | { type: 'loggedOut' }
  | { type: 'orderCreated'; orderId: string }
  | { type: 'orderShown'; order: Pick<BookOrder, 'orderId' | 'status'> }
  | { type: 'paid' }
  | { type: 'expired' }
  | { type: 'openOrders' }
  | { type: 'newBooking' }
  | { type: 'back' };

export function initialState(today: string, loggedIn: boolean): FlowState {
  return { step: 'pick', draft: { date: today, slotId: null, typeId: null, entry: null, tickets: 1 }, orderId: null, loggedIn, afterLogin: 'order' };
}

/** Why the pick step cannot go on yet, or null. Slots: the park sells them, so one must be chosen and open. */
export type PickProblem = 'slot' | 'slot_full' | 'type' | 'type_unavailable' | 'closed' | 'too_many';

export function pickProblem(d: Draft, info: BookInfo, avail: Availability | null): PickProblem | null {
  if (!avail || avail.paused || !avail.open) return 'closed';
  const type = info.types.find((t) => t.typeId === d.typeId);
  if (!type) return 'type';
  const offered = avail.types.find((t) => t.typeId === d.typeId);
  if (!offered || offered.available === false) return 'type_unavailable';
  const persons = d.tickets * type.persons;
  if (info.slots.length > 0) {
    const slot = avail.slots.find((s) => s.slotId === d.slotId);
    if (!slot) return 'slot';
    if (slot.remaining < persons) return 'slot_full';
  } else if (avail.capacity.remaining < persons) return 'too_many';
  return null;
}

/** Visitors the order needs: one per person. */
export function visitorCount(d: Draft, info: BookInfo): number {
  const type = info.types.find((t) => t.typeId === d.typeId);
  return type ? d.tickets * type.persons : 0;
}

export function advance(s: FlowState, e: FlowEvent): FlowState {
  switch (e.type) {
    case 'picked':
      return s.step === 'pick' ? { ...s, step: 'visitors' } : s;
    case 'visitorsDone':
      return s.step === 'visitors' ? { ...s, step: s.loggedIn ? 'pay' : 'login', afterLogin: 'order' } : s;
    case 'loggedIn':
      return { ...s, loggedIn: true, step: s.step === 'login' ? (s.afterLogin === 'orders' ? 'orders' : 'pay') : s.step };
    case 'loggedOut':
      return { ...s, loggedIn: false, step: s.step === 'pay' || s.step === 'orders' || s.step === 'ticket' ? 'login' : s.step, afterLogin: s.step === 'orders' ? 'orders' : 'order' };
    case 'orderCreated':
      return { ...s, step: 'pay', orderId: e.orderId };
    case 'orderShown':
      return { ...s, orderId: e.order.orderId, step: e.order.status === 'pending' ? 'pay' : 'ticket' };
    case 'paid':
      return s.step === 'pay' ? { ...s, step: 'ticket' } : s;
    case 'expired':
      return { ...s, step: 'pick', orderId: null };
    case 'openOrders':
      return s.loggedIn ? { ...s, step: 'orders' } : { ...s, step: 'login', afterLogin: 'orders' };
    case 'newBooking':
      return { ...s, step: 'pick', orderId: null, draft: { ...s.draft, slotId: null } };
    case 'back':
      return { ...s, step: backOf(s) };
  }
}

function backOf(s: FlowState): Step {
  switch (s.step) {
    case 'visitors':
      return 'pick';
    case 'login':
      return s.afterLogin === 'orders' ? 'pick' : 'visitors';
    case 'ticket':
      return s.loggedIn ? 'orders' : 'pick';
    default:
      return 'pick';
  }
}

/** The URL hash of a state: the step, and the order it shows. */
export function hashOf(s: FlowState): string {
  return s.orderId && (s.step === 'pay' || s.step === 'ticket') ? `#${s.step}/${encodeURIComponent(s.orderId)}` : `#${s.step}`;
}

/** A hash back to a step (and order); unknown hashes are the start. */
export function parseHash(hash: string): { step: Step; orderId: string | null } {
  const m = /^#(pick|visitors|login|pay|ticket|orders)(?:\/([^/]+))?$/.exec(hash);
  if (!m) return { step: 'pick', orderId: null };
  return { step: m[1] as Step, orderId: m[2] ? decodeURIComponent(m[2]) : null };
}
