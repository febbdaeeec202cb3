/**
 * Typing an ID number on the touchscreen: a name field and a keypad of digits and X (no
 * system keyboard needed for the number). What is typed stays in the page until it is sent
 * as one `id_typed` touch; the screen never gets it back (the view shows the masked form).
 */
import { button, el } from './dom.js';
import { t, type Ui } from './ui.js';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'X', '0'];

export function idEntry(ui: Ui): HTMLElement {
  const e = ui.entry;
  const name = el('input', { type: 'text', id: 'entry-name', class: 'entry-name', autocomplete: 'off', maxlength: 40, value: e.name, 'aria-label': t(ui, 'name') });
  name.addEventListener('input', () => (e.name = name.value));
  const shown = el('output', { class: 'entry-id mono', id: 'entry-id', text: e.id || '—' });
  const press = (k: string) => {
    if (e.id.length >= 18) return;
    e.id += k;
    shown.textContent = e.id;
  };
  const pad = el('div', { class: 'keypad' }, [
    ...KEYS.map((k) => button(k, () => press(k), { class: 'key', 'data-key': k })),
    button(t(ui, 'delete'), () => ((e.id = e.id.slice(0, -1)), (shown.textContent = e.id || '—')), { class: 'key key-del', 'data-key': 'del' }),
  ]);
  const add = button(
    t(ui, 'add'),
    () => {
      ui.send({ kind: 'id_typed', name: e.name.trim(), idNumber: e.id });
      // Forget it at once: the machine has it, and the page must not keep a full number.
      e.id = '';
      e.name = '';
      e.open = false;
    },
    { class: 'primary', id: 'entry-add' },
  );
  const close = button(t(ui, 'back'), () => ((e.open = false), (e.id = ''), ui.redraw()), { class: 'secondary' });
  return el('div', { class: 'entry' }, [
    el('label', { class: 'entry-label', for: 'entry-name', text: t(ui, 'name') }),
    name,
    el('span', { class: 'entry-label', text: t(ui, 'id_number') }),
    shown,
    pad,
    el('div', { class: 'entry-actions' }, [close, add]),
  ]);
}
