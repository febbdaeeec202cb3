/** Pieces several steps share: the step heading, a primary button, the order summary. */
import { el, type Child } from '../dom.js';
import { dateLabel, local, t, timeOf, type Ctx } from '../context.js';
import { yuan } from '../price.js';
import type { BookOrder } from '../types.js';

/** The step's heading, focusable so a screen reader announces the new step (main.ts focuses it). */
export function stepHeading(text: string, n?: number): HTMLElement {
  return el('h2', { class: 'step-title', tabindex: -1, id: 'step-title' }, [n ? el('span', { class: 'step-n', 'aria-hidden': 'true', text: `${n}/4` }) : null, text]);
}

export function primary(text: string, onClick: () => void, attrs: Record<string, string | boolean> = {}): HTMLButtonElement {
  const b = el('button', { type: 'button', class: 'primary', ...attrs }, [text]);
  b.addEventListener('click', onClick);
  return b;
}

export function secondary(text: string, onClick: () => void, attrs: Record<string, string | boolean> = {}): HTMLButtonElement {
  const b = el('button', { type: 'button', class: 'secondary', ...attrs }, [text]);
  b.addEventListener('click', onClick);
  return b;
}

/** Type, date and slot (or entry window), visitors, amount: what a visitor checks before paying and on the ticket. */
export function orderSummary(ctx: Ctx, o: BookOrder): HTMLElement {
  const when: Child[] = [dateLabel(ctx.lang, o.date)];
  if (o.slot) when.push(` ${o.slot.start}–${o.slot.end}`);
  const rows: [string, Child[]][] = [
    [t(ctx, 'type'), [local(ctx, o.typeName)]],
    [t(ctx, 'date'), when],
    [t(ctx, 'visitors'), [o.visitors.map((v) => `${v.name} ${v.idMasked.slice(-4)}`).join('、')]],
    [t(ctx, 'amount'), [el('strong', { text: yuan(o.amountFen) })]],
    [t(ctx, 'orderNo'), [el('span', { class: 'mono', text: o.orderId })]],
  ];
  if (o.entryWindow) rows.splice(2, 0, [t(ctx, 'entry'), [t(ctx, 'entryWindow', o.entryWindow)]]);
  if (o.status === 'pending' && o.deadline) rows.push(['', [el('span', { class: 'muted', text: t(ctx, 'payDeadline', { time: timeOf(o.deadline, ctx.info.timeZone) }) })]]);
  return el(
    'dl',
    { class: 'summary' },
    rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]),
  );
}
