/**
 * Step 2: a name and ID number per person (a family package: each of its persons, grouped by
 * ticket). Each number is checked here as it is typed (GB 11643 check character, region, birth
 * date: idcard.ts) and said in plain words next to its field; the server checks again.
 */
import { el, nextId } from '../dom.js';
import { t, type Ctx } from '../context.js';
import { visitorCount } from '../flow.js';
import { idProblem, normalizeId } from '../idcard.js';
import { primary, secondary, stepHeading } from './common.js';

/** The problem of each visitor's fields (null when fine), duplicates included. */
export function visitorProblems(ctx: Pick<Ctx, 'visitors' | 'info'>, n: number): { name: string | null; id: string | null }[] {
  const seen = new Map<string, number>();
  const out: { name: 'nameMissing' | null; id: string | null }[] = [];
  for (let i = 0; i < n; i++) {
    const v = ctx.visitors[i] ?? { name: '', idNumber: '' };
    const p = idProblem(v.idNumber, ctx.info.today);
    const id = normalizeId(v.idNumber);
    let idKey: string | null = p ? `id_${p}` : null;
    if (!p && seen.has(id)) idKey = 'id_duplicate';
    if (!p) seen.set(id, i);
    out.push({ name: v.name.trim() === '' ? 'nameMissing' : null, id: idKey });
  }
  return out;
}

export function visitorsView(ctx: Ctx): HTMLElement {
  const n = visitorCount(ctx.state.draft, ctx.info);
  while (ctx.visitors.length < n) ctx.visitors.push({ name: '', idNumber: '' });
  const type = ctx.info.types.find((x) => x.typeId === ctx.state.draft.typeId);
  const persons = type ? type.persons : 1;
  /** Fields touched (or the form submitted): only then is a problem shown. */
  const touched = new Set<string>();
  const errs: { name: HTMLElement; id: HTMLElement; nameIn: HTMLInputElement; idIn: HTMLInputElement }[] = [];

  const show = (all: boolean) => {
    const problems = visitorProblems(ctx, n);
    problems.forEach((p, i) => {
      const e = errs[i]!;
      const nameMsg = p.name && (all || touched.has(`n${i}`)) ? t(ctx, 'nameMissing') : '';
      const idMsg = p.id && (all || touched.has(`i${i}`)) ? t(ctx, p.id as 'id_format') : '';
      e.name.textContent = nameMsg;
      e.id.textContent = idMsg;
      e.nameIn.setAttribute('aria-invalid', String(nameMsg !== ''));
      e.idIn.setAttribute('aria-invalid', String(idMsg !== ''));
    });
    return problems;
  };

  const groups: HTMLElement[] = [];
  for (let i = 0; i < n; i++) {
    const v = ctx.visitors[i]!;
    const nameId = nextId('name');
    const idId = nextId('id');
    const nameIn = el('input', { id: nameId, name: `name${i}`, type: 'text', autocomplete: 'name', maxlength: 50, value: v.name, 'aria-describedby': `${nameId}-err` });
    const idIn = el('input', { id: idId, name: `id${i}`, type: 'text', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', maxlength: 18, value: v.idNumber, 'aria-describedby': `${idId}-hint ${idId}-err`, class: 'mono' });
    const nameErr = el('p', { class: 'field-error', id: `${nameId}-err`, 'aria-live': 'polite' });
    const idErr = el('p', { class: 'field-error', id: `${idId}-err`, 'aria-live': 'polite' });
    errs.push({ name: nameErr, id: idErr, nameIn, idIn });
    nameIn.addEventListener('input', () => (ctx.visitors[i]!.name = nameIn.value));
    idIn.addEventListener('input', () => {
      ctx.visitors[i]!.idNumber = idIn.value.toUpperCase();
      // A full-length number is checked as soon as it is complete.
      if (idIn.value.trim().length >= 18) touched.add(`i${i}`);
      show(false);
    });
    nameIn.addEventListener('blur', () => {
      touched.add(`n${i}`);
      show(false);
    });
    idIn.addEventListener('blur', () => {
      touched.add(`i${i}`);
      show(false);
    });
    const legend = persons > 1 ? `${t(ctx, 'ticketN', { n: Math.floor(i / persons) + 1 })} · ${t(ctx, 'visitorN', { n: (i % persons) + 1 })}` : t(ctx, 'visitorN', { n: i + 1 });
    groups.push(
      el('fieldset', { class: 'visitor', 'data-visitor': i }, [
        el('legend', { text: legend }),
        el('label', { for: nameId, text: t(ctx, 'name') }),
        nameIn,
        nameErr,
        el('label', { for: idId, text: t(ctx, 'idNumber') }),
        el('span', { class: 'muted small', id: `${idId}-hint`, text: t(ctx, 'idHint') }),
        idIn,
        idErr,
      ]),
    );
  }

  const next = primary(t(ctx, 'next'), () => {
    const problems = show(true);
    const first = problems.findIndex((p) => p.name || p.id);
    if (first >= 0) {
      const e = errs[first]!;
      (problems[first]!.name ? e.nameIn : e.idIn).focus();
      return;
    }
    for (const v of ctx.visitors) v.idNumber = normalizeId(v.idNumber);
    ctx.dispatch({ type: 'visitorsDone' });
  }, { id: 'visitors-next' });

  const view = el('section', { class: 'step', 'data-step': 'visitors' }, [
    stepHeading(t(ctx, 'stepVisitors'), 2),
    ...groups,
    extrasFields(ctx),
    el('p', { class: 'muted small', text: t(ctx, 'privacy') }),
    el('div', { class: 'bar' }, [secondary(t(ctx, 'back'), () => ctx.dispatch({ type: 'back' })), next]),
  ]);
  // Errors from the server (ID refused, already booked) are marked on their field.
  void Promise.resolve().then(() => show(false));
  return view;
}

/**
 * The optional coupon code and the marketing consent: a box of its own, unticked until the
 * visitor ticks it, that says what it is for (PIPL: purpose stated, separate consent, never a
 * condition of the purchase).
 */
function extrasFields(ctx: Ctx): HTMLElement {
  const codeId = nextId('coupon');
  const consentId = nextId('consent');
  const code = el('input', { id: codeId, name: 'coupon', type: 'text', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', maxlength: 32, value: ctx.extras.couponCode, 'aria-describedby': `${codeId}-hint ${codeId}-err`, class: 'mono' });
  code.addEventListener('input', () => {
    ctx.extras.couponCode = code.value;
    code.removeAttribute('aria-invalid');
    const err = document.getElementById(`${codeId}-err`);
    if (err) err.textContent = '';
  });
  const consent = el('input', { id: consentId, name: 'marketing-consent', type: 'checkbox' });
  consent.checked = ctx.extras.marketingConsent;
  consent.addEventListener('change', () => (ctx.extras.marketingConsent = consent.checked));
  return el('fieldset', { class: 'extras' }, [
    el('label', { for: codeId, text: t(ctx, 'couponCode') }),
    el('span', { class: 'muted small', id: `${codeId}-hint`, text: t(ctx, 'couponHint') }),
    code,
    el('p', { class: 'field-error', id: `${codeId}-err`, 'aria-live': 'polite' }),
    el('div', { class: 'consent' }, [consent, el('label', { for: consentId, class: 'small', text: t(ctx, 'marketingConsent') })]),
  ]);
}

/** Mark the coupon field with the reason the server refused the coupon. */
export function markCoupon(message: string): void {
  const input = document.querySelector<HTMLInputElement>('input[name="coupon"]');
  const err = input ? document.getElementById(`${input.id}-err`) : null;
  if (input && err) {
    err.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

/** Mark a field the server refused (ID number of visitor `i`). */
export function markVisitor(i: number, message: string): void {
  const field = document.querySelector<HTMLElement>(`[data-visitor="${i}"]`);
  const input = field?.querySelector<HTMLInputElement>('input[name^="id"]');
  const err = input ? document.getElementById(`${input.id}-err`) : null;
  if (input && err) {
    err.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}
