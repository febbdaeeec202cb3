/**
 * Sales channels: each in one state (selling, paused by staff, stopped by capacity) with its
 * pause/resume button and form. Rows are kept across renders (keyed by id) so an open form
 * survives live updates.
 */
import type { DashboardModel } from '../../../src/modules/dashboard/model.js';
import { apiBase, errorText } from '../api.js';
import { channelState } from '../channel-state.js';
import type { Connection } from '../connection.js';
import { $, el, getItem, setItem } from '../dom.js';
import type { View } from '../view.js';

type Channel = DashboardModel['channels'][number];
type Action = 'pause' | 'resume';

const LS_BY = 'stile.dashboard.by';

interface Form {
  action: Action;
  busy: boolean;
  node: HTMLFormElement;
  by: HTMLInputElement;
  reason: HTMLInputElement;
  byLabel: HTMLSpanElement;
  reasonLabel: HTMLSpanElement;
  error: HTMLDivElement;
  submit: HTMLButtonElement;
  cancel: HTMLButtonElement;
}

interface Row {
  id: string;
  action: Action;
  form: Form | null;
  li: HTMLLIElement;
  info: HTMLDivElement;
  btn: HTMLButtonElement;
}

export class Channels {
  private rows = new Map<string, Row>();
  private formSeq = 0;
  private readonly t: View['t'] = (key, vars) => this.view.t(key, vars);

  constructor(
    private readonly view: View,
    private readonly conn: Connection,
  ) {}

  render(m: DashboardModel): void {
    const list = $('channels');
    const seen = new Set<string>();
    const order: HTMLLIElement[] = [];
    for (const c of m.channels) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      let row = this.rows.get(c.id);
      if (!row) {
        row = this.makeRow(c.id);
        this.rows.set(c.id, row);
      }
      this.updateRow(row, c, m);
      order.push(row.li);
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.li.remove();
        this.rows.delete(id);
      }
    }
    for (const child of Array.from(list.children)) if (!order.includes(child as HTMLLIElement)) child.remove();
    order.forEach((li, i) => {
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
    });
    if (!order.length) list.appendChild(el('li', { class: 'empty', text: this.view.t('none') }));
  }

  private makeRow(id: string): Row {
    const info = el('div', { class: 'ch-info' });
    const btn = el('button', { type: 'button', 'data-action': 'pause', 'aria-expanded': 'false' });
    const li = el('li', { 'data-channel': id }, [el('div', { class: 'ch-main' }, [info, btn])]);
    const row: Row = { id, action: 'pause', form: null, li, info, btn };
    btn.addEventListener('click', () => (row.form ? this.closeForm(row) : this.openForm(row)));
    return row;
  }

  private updateRow(row: Row, c: Channel, m: DashboardModel): void {
    const t = this.t;
    const paused = c.paused === true;
    row.action = paused ? 'resume' : 'pause';
    const s = channelState(c, m.capacity.level);
    row.li.setAttribute('data-paused', String(paused));
    row.li.setAttribute('data-state', s.state);
    const kind = c.kind === 'online' || c.kind === 'kiosk' ? t(`kind_${c.kind}`) : String(c.kind);
    // One state line: what the channel does now. History (who resumed it, when) stays muted below.
    const state =
      s.state === 'paused'
        ? el('div', { class: 'ch-state paused', 'data-field': 'state', text: t('pausedBy', { by: c.by || '—', reason: c.reason || '—' }) })
        : s.state === 'stopped'
          ? el('div', { class: 'ch-state stopped', 'data-field': 'state', 'data-level': s.level, text: t(`capacityStop_${s.level}`) })
          : el('div', { class: 'ch-state selling', 'data-field': 'state', text: t('selling') });
    const lines: HTMLElement[] = [el('div', {}, [el('span', { class: 'ch-name', text: (c.names && c.names[this.view.lang]) || c.name || c.id }), el('span', { class: 'kind', 'data-kind': c.kind, text: kind })]), state];
    if (!paused && c.by) lines.push(el('div', { class: 'muted', text: t('resumedBy', { by: c.by, reason: c.reason || '—' }) + (c.at ? ' · ' + this.view.fmtAt(c.at) : '') }));
    if (paused && c.at) lines.push(el('div', { class: 'muted', text: this.view.fmtAt(c.at) }));
    row.info.replaceChildren(...lines);
    row.btn.setAttribute('data-action', row.action);
    row.btn.textContent = t(row.action);
    if (row.form && row.form.action !== row.action && !row.form.busy) this.closeForm(row);
    if (row.form) this.labelForm(row.form);
  }

  private labelForm(f: Form): void {
    const t = this.t;
    f.byLabel.textContent = t('yourName');
    f.reasonLabel.textContent = t('reason');
    f.submit.textContent = t(f.busy ? 'sending' : `confirm_${f.action}`);
    f.cancel.textContent = t('cancel');
  }

  private openForm(row: Row): void {
    const id = `chform-${++this.formSeq}`;
    const by = el('input', { type: 'text', name: 'by', 'data-field': 'by', maxlength: 64, required: true, autocomplete: 'name' });
    by.value = getItem('local', LS_BY) ?? '';
    const reason = el('input', { type: 'text', name: 'reason', 'data-field': 'reason', maxlength: 200, required: true });
    const byLabel = el('span');
    const reasonLabel = el('span');
    const error = el('div', { class: 'form-error', 'data-role': 'error', role: 'alert' });
    error.hidden = true;
    const submit = el('button', { type: 'submit', 'data-role': 'submit' });
    const cancel = el('button', { type: 'button', 'data-role': 'cancel' });
    const node = el('form', { id, class: 'action-form', 'data-form': row.action, novalidate: true }, [
      el('label', {}, [byLabel, by]),
      el('label', {}, [reasonLabel, reason]),
      error,
      el('div', { class: 'form-buttons' }, [submit, cancel]),
    ]);
    const f: Form = { action: row.action, busy: false, node, by, reason, byLabel, reasonLabel, error, submit, cancel };
    node.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submitForm(row, f);
    });
    cancel.addEventListener('click', () => {
      this.closeForm(row);
      row.btn.focus();
    });
    this.labelForm(f);
    row.form = f;
    row.li.appendChild(node);
    row.btn.setAttribute('aria-expanded', 'true');
    row.btn.setAttribute('aria-controls', id);
    (by.value ? reason : by).focus();
  }

  private closeForm(row: Row): void {
    if (!row.form) return;
    row.form.node.remove();
    row.form = null;
    row.btn.setAttribute('aria-expanded', 'false');
    row.btn.removeAttribute('aria-controls');
  }

  private formError(f: Form, text: string): void {
    f.error.textContent = text;
    f.error.hidden = !text;
  }

  private submitForm(row: Row, f: Form): void {
    const t = this.t;
    if (f.busy) return;
    const by = f.by.value.trim();
    const reason = f.reason.value.trim();
    if (!by) {
      this.formError(f, t('nameRequired'));
      f.by.focus();
      return;
    }
    if (!reason) {
      this.formError(f, t('reasonRequired'));
      f.reason.focus();
      return;
    }
    if (!this.conn.token) {
      this.conn.unauthorized();
      this.formError(f, t('unauthorized'));
      return;
    }
    setItem('local', LS_BY, by);
    this.formError(f, '');
    f.busy = true;
    f.submit.disabled = true;
    this.labelForm(f);
    fetch(`${apiBase(this.view.site)}/channels/${encodeURIComponent(row.id)}/${f.action}`, {
      method: 'POST',
      headers: this.conn.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ by, reason }),
      cache: 'no-store',
    })
      .then(
        (res): Promise<void> => {
          if (res.ok) {
            f.busy = false;
            if (row.form === f) {
              this.closeForm(row);
              row.btn.focus();
            }
            return this.conn.fetchModel();
          }
          return res.text().then((body) => {
            if (res.status === 401) this.conn.unauthorized();
            this.formError(f, errorText(this.view, res, body));
          });
        },
        () => this.formError(f, t('networkError')),
      )
      .then(() => {
        f.busy = false;
        f.submit.disabled = false;
        this.labelForm(f);
      });
  }
}
