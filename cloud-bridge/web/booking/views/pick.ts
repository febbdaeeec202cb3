/**
 * Step 1: the date (the next days as buttons, any later one by the date field), the live
 * remaining count ("当前剩余票量 XX 张") with the almost-full / closed / paused states, the time
 * slots with theirs, the ticket types with their price on that date, early/night entry where a
 * type offers it, and how many tickets.
 */
import { el, nextId, type Child } from '../dom.js';
import { addDays, dayParts, local, parkTimeNow, t, type Ctx } from '../context.js';
import { pickProblem } from '../flow.js';
import { typeOffers, totalFen, yuan } from '../price.js';
import { refusalText } from '../../../src/modules/booking/page-text.js';
import { primary, stepHeading } from './common.js';

const QUICK_DAYS = 7;
const MAX_TICKETS = 10;

export function pickView(ctx: Ctx): HTMLElement {
  const d = ctx.state.draft;
  const info = ctx.info;
  const avail = ctx.avail && ctx.avail.date === d.date ? ctx.avail : null;
  const setDraft = (patch: Partial<typeof d>) => {
    ctx.state = { ...ctx.state, draft: { ...ctx.state.draft, ...patch } };
    ctx.rerender();
  };
  const chooseDate = (date: string) => {
    if (date === d.date) return;
    setDraft({ date, slotId: null });
    void ctx.loadAvailability(date);
  };

  // Dates: today and the next days (up to the last one sold), and a field for any other.
  const dates: string[] = [];
  for (let i = 0; i < QUICK_DAYS; i++) {
    const date = addDays(info.today, i);
    if (date > info.lastDate) break;
    dates.push(date);
  }
  const chips = el(
    'div',
    { class: 'chips', role: 'group', 'aria-label': t(ctx, 'date') },
    dates.map((date, i) => {
      const b = el('button', { type: 'button', class: 'chip', 'aria-pressed': String(date === d.date), 'data-date': date }, [
        el('span', { class: 'chip-top', text: i === 0 ? t(ctx, 'today') : i === 1 ? t(ctx, 'tomorrow') : dayParts(ctx.lang, date).weekday }),
        el('span', { class: 'chip-sub', text: dayParts(ctx.lang, date).day }),
      ]);
      b.addEventListener('click', () => chooseDate(date));
      return b;
    }),
  );
  const dateId = nextId('date');
  const dateInput = el('input', { type: 'date', id: dateId, min: info.today, max: info.lastDate, value: d.date });
  dateInput.addEventListener('change', () => {
    if (/^\d{4}-\d{2}-\d{2}$/.test(dateInput.value) && dateInput.value >= info.today && dateInput.value <= info.lastDate) chooseDate(dateInput.value);
  });

  // The day: remaining places, or why nothing can be bought.
  const persons = info.types.find((x) => x.typeId === d.typeId)?.persons ?? 1;
  let dayState: Child;
  if (!avail) dayState = el('p', { class: 'left loading', 'aria-busy': 'true', text: t(ctx, 'loading') });
  else if (avail.paused) dayState = el('p', { class: 'left closed', 'data-state': 'paused', text: t(ctx, 'paused') });
  else if (!avail.open) {
    const level = avail.capacity.level;
    const why = level === 'red' ? refusalText(ctx.lang, 'capacity_red') : level === 'orange' ? refusalText(ctx.lang, 'capacity_orange') : t(ctx, 'dayClosed');
    dayState = el('p', { class: 'left closed', 'data-state': 'closed', text: why });
  } else
    dayState = el('p', { class: `left${avail.almostFull ? ' almost' : ''}`, 'data-state': avail.almostFull ? 'almostFull' : 'open' }, [
      el('span', { id: 'day-left', text: t(ctx, 'ticketsLeft', { count: avail.capacity.remaining }) }),
      avail.almostFull ? el('span', { class: 'badge warn', text: t(ctx, 'almostFull') }) : null,
    ]);

  // Slots, each with its own count and state.
  let slots: Child = null;
  if (info.slots.length > 0) {
    const now = d.date === info.today ? parkTimeNow(info.timeZone) : null;
    slots = el('fieldset', { class: 'options slots' }, [
      el('legend', { text: t(ctx, 'slot') }),
      ...info.slots.map((s) => {
        const a = avail ? avail.slots.find((x) => x.slotId === s.slotId) : undefined;
        const over = now !== null && s.end <= now;
        const state = !a ? 'loading' : over ? 'over' : a.quota === 0 ? 'closed' : a.remaining === 0 || !avail!.open ? 'soldOut' : a.remaining < persons ? 'soldOut' : a.almostFull ? 'almostFull' : 'open';
        const status = state === 'loading' ? '' : state === 'over' ? t(ctx, 'slotOver') : state === 'closed' ? t(ctx, 'slotClosed') : state === 'soldOut' ? t(ctx, 'soldOut') : t(ctx, 'slotLeft', { count: a!.remaining });
        const id = nextId('slot');
        const input = el('input', { type: 'radio', name: 'slot', id, value: s.slotId, checked: d.slotId === s.slotId, disabled: state !== 'open' && state !== 'almostFull' });
        input.addEventListener('change', () => setDraft({ slotId: s.slotId }));
        return el('label', { class: 'option', for: id, 'data-slot': s.slotId, 'data-state': state }, [
          input,
          el('span', { class: 'opt-main' }, [el('span', { class: 'opt-name', text: `${s.start}–${s.end}` }), s.name ? el('span', { class: 'muted', text: ` ${local(ctx, s.name)}` }) : null]),
          el('span', { class: 'opt-side' }, [el('span', { class: 'slot-left', text: status }), state === 'almostFull' ? el('span', { class: 'badge warn', text: t(ctx, 'almostFull') }) : null]),
        ]);
      }),
    ]);
  }

  // Ticket types with their price on that date.
  const offers = typeOffers(info, avail, { slotId: d.slotId, entry: d.entry });
  const types = el('fieldset', { class: 'options types' }, [
    el('legend', { text: t(ctx, 'type') }),
    ...offers.map((o) => {
      const type = info.types.find((x) => x.typeId === o.typeId)!;
      const id = nextId('type');
      const unavailable = o.unitFen === null;
      const input = el('input', { type: 'radio', name: 'type', id, value: o.typeId, checked: d.typeId === o.typeId, disabled: unavailable });
      input.addEventListener('change', () => setDraft({ typeId: o.typeId, entry: null, tickets: 1 }));
      const price: Child[] = unavailable
        ? [el('span', { class: 'muted', text: t(ctx, 'notOnThisDay') })]
        : [
            el('strong', { class: 'price', text: yuan(o.unitFen!) }),
            o.discount ? el('span', { class: 'badge deal', text: `${t(ctx, `rule_${o.discount.rule}`)} · ${t(ctx, 'percentOff', { percent: o.discount.percentOff })}` }) : null,
            o.discount ? el('s', { class: 'muted was', text: yuan(o.baseFen) }) : null,
          ];
      return el('label', { class: 'option', for: id, 'data-type': o.typeId }, [
        input,
        el('span', { class: 'opt-main' }, [el('span', { class: 'opt-name', text: local(ctx, type.name) }), type.persons > 1 ? el('span', { class: 'muted small', text: t(ctx, 'typePersons', { persons: type.persons }) }) : null]),
        el('span', { class: 'opt-side' }, price),
      ]);
    }),
  ]);

  // Early/night entry, where the chosen type offers it.
  const chosen = offers.find((o) => o.typeId === d.typeId);
  let entry: Child = null;
  if (chosen && chosen.entries.length > 0) {
    const kinds: (typeof d.entry)[] = [null, ...chosen.entries];
    entry = el('fieldset', { class: 'options entry' }, [
      el('legend', { text: t(ctx, 'entry') }),
      ...kinds.map((k) => {
        const id = nextId('entry');
        const input = el('input', { type: 'radio', name: 'entry', id, checked: d.entry === k });
        input.addEventListener('change', () => setDraft({ entry: k }));
        return el('label', { class: 'option', for: id, 'data-entry': k ?? 'any' }, [input, el('span', { class: 'opt-main', text: t(ctx, k === null ? 'entry_any' : `entry_${k}`) })]);
      }),
    ]);
  }

  // How many tickets, and the total.
  const qtyOut = el('output', { class: 'qty-n', 'aria-live': 'polite', text: String(d.tickets) });
  const less = el('button', { type: 'button', class: 'step', 'aria-label': t(ctx, 'less'), disabled: d.tickets <= 1 }, ['−']);
  const more = el('button', { type: 'button', class: 'step', 'aria-label': t(ctx, 'more'), disabled: d.tickets >= MAX_TICKETS }, ['+']);
  less.addEventListener('click', () => setDraft({ tickets: Math.max(1, d.tickets - 1) }));
  more.addEventListener('click', () => setDraft({ tickets: Math.min(MAX_TICKETS, d.tickets + 1) }));
  const total = chosen ? totalFen(chosen, d.tickets) : null;

  const problem = pickProblem(d, info, avail);
  const next = primary(t(ctx, 'next'), () => ctx.dispatch({ type: 'picked' }), { id: 'pick-next', disabled: problem !== null });
  const why = problem === 'slot_full' ? refusalText(ctx.lang, 'sold_out') : problem === 'too_many' ? refusalText(ctx.lang, 'capacity_exceeded') : '';

  return el('section', { class: 'step', 'data-step': 'pick' }, [
    stepHeading(t(ctx, 'stepPick'), 1),
    el('div', { class: 'field' }, [el('span', { class: 'label', text: t(ctx, 'date') }), chips, el('label', { class: 'other-date', for: dateId }, [el('span', { class: 'muted', text: `${t(ctx, 'date')}:` }), dateInput])]),
    el('div', { class: 'day', id: 'day-state' }, [dayState]),
    slots,
    types,
    entry,
    el('div', { class: 'qty' }, [el('span', { class: 'label', text: t(ctx, 'quantity') }), el('div', { class: 'stepper' }, [less, qtyOut, more])]),
    el('p', { class: 'muted small', text: t(ctx, 'perDay', { count: info.ticketsPerIdPerDay }) }),
    el('div', { class: 'bar' }, [el('span', { class: 'total' }, [t(ctx, 'total'), ' ', el('strong', { id: 'total', text: total === null ? '—' : yuan(total) })]), next]),
    why ? el('p', { class: 'error', role: 'status', text: why }) : null,
  ]);
}
