/**
 * The screen's DOM from a {@link ScreenModel}. Every value reaches the page as text
 * (`textContent`), never as markup. Labels come in both languages, each in its own
 * `<span class="zh|en" lang>`; the style sheet hides one when the page shows a single language.
 */
import type { ScreenModel } from '../../src/modules/screen/model.js';
import { screenText, type ScreenTextKey } from '../../src/modules/screen/text.js';
import type { ConnState } from './connection.js';

export function $(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`screen: #${id} missing from the page`);
  return node;
}

function span(cls: string, lang: string, text: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = cls;
  s.setAttribute('lang', lang);
  s.textContent = text;
  return s;
}

/** A catalogue name into `node`: both languages as labels are (the style sheet shows one or both), once when they read the same. */
export function bilingualName(node: HTMLElement, name: { zh: string; en: string }): void {
  const key = `${name.zh}\u0000${name.en}`;
  if (node.getAttribute('data-name') === key) return;
  node.setAttribute('data-name', key);
  while (node.firstChild) node.removeChild(node.firstChild);
  if (name.en === name.zh) {
    node.textContent = name.zh; // "VIP": no .zh/.en span, so neither single-language mode hides it
    return;
  }
  node.appendChild(span('zh', 'zh-CN', name.zh));
  node.appendChild(span('en', 'en', name.en));
}

/** Both languages of a label into `node` (replacing what it held). */
export function bilingual(node: HTMLElement, key: ScreenTextKey, vars?: Record<string, string | number>): void {
  while (node.firstChild) node.removeChild(node.firstChild);
  node.appendChild(span('zh', 'zh-CN', screenText('zh-CN', key, vars)));
  node.appendChild(span('en', 'en', screenText('en', key, vars)));
}

function setText(id: string, text: string): void {
  const node = $(id);
  if (node.textContent !== text) node.textContent = text;
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;
const formatters: { [tz: string]: Intl.DateTimeFormat | null } = {};

/** "HH:MM" of an ISO time in the park's zone (the browser's own zone where Intl cannot do time zones). */
export function hhmm(iso: string, timeZone: string | undefined): string {
  const d = new Date(iso);
  if (isNaN(d.getTime())) return '--:--';
  const key = timeZone || '';
  if (!(key in formatters)) {
    try {
      formatters[key] = new Intl.DateTimeFormat('en-GB', { timeZone: timeZone || undefined, hour: '2-digit', minute: '2-digit', hour12: false });
    } catch {
      formatters[key] = null;
    }
  }
  const f = formatters[key];
  const text = f ? f.format(d).replace(/^24:/, '00:') : '';
  return /^\d\d:\d\d$/.test(text) ? text : `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

export function render(m: ScreenModel): void {
  document.body.setAttribute('data-level', m.level);
  if (m.siteName) bilingualName($('site-name'), m.siteName);
  $('connecting').hidden = true;
  $('main').hidden = false;

  setText('remaining', String(m.remaining));
  const tickets = $('tickets');
  tickets.setAttribute('data-open', m.salesOpen ? 'true' : 'false');
  const note = $('sales-note');
  note.hidden = m.salesOpen;
  if (!m.salesOpen) bilingual(note, m.level === 'red' ? 'salesStopped' : 'soldOut');

  setText('admitted', String(m.admittedToday));
  bilingual($('capacity'), 'capacity', { count: m.capacity });

  $('level').setAttribute('data-level', m.level);
  bilingual($('level-name'), `level_${m.level}` as ScreenTextKey);

  const section = $('slots-section');
  section.hidden = m.slots.length === 0;
  section.setAttribute('data-count', String(m.slots.length));
  const list = $('slots');
  while (list.firstChild) list.removeChild(list.firstChild);
  for (const s of m.slots) {
    const li = document.createElement('li');
    li.setAttribute('data-slot', s.id);
    li.setAttribute('data-state', s.state);
    if (s.name) {
      const name = document.createElement('span');
      name.className = 'slot-name';
      bilingualName(name, s.name);
      li.appendChild(name);
    }
    const time = document.createElement('span');
    time.className = 'time';
    time.textContent = `${s.start}–${s.end}`;
    const left = document.createElement('span');
    left.className = 'left';
    bilingual(left, `slot_${s.state}` as ScreenTextKey, { count: s.remaining });
    li.appendChild(time);
    li.appendChild(left);
    list.appendChild(li);
  }

  setText('notice-zh', m.announcement.zh);
  setText('notice-en', m.announcement.en);
  setText('date', m.date);
  renderUpdated(m.updatedAt, m.timeZone);
}

/** "Updated HH:MM": the server time of the last news (a model, or word that it is still current). */
export function renderUpdated(at: string, timeZone: string | undefined): void {
  bilingual($('updated'), 'updated', { time: hhmm(at, timeZone) });
}

/** The connection as the page shows it: nothing while live or polling, a marker with the time of the last news when lost. */
export function renderState(state: ConnState, lastNewsAt: string | null, timeZone: string | undefined): void {
  document.body.setAttribute('data-state', state);
  const lost = $('lost');
  lost.hidden = state !== 'lost';
  if (state === 'lost') bilingual(lost, 'lost', { time: hhmm(lastNewsAt || new Date().toISOString(), timeZone) });
}
