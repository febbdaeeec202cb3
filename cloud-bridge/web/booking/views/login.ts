/**
 * Step 3: the phone and its SMS code. "Send code" counts down before it can be pressed again
 * (the server's resendAfterSec); the code field is filled by the phone's one-time-code
 * autofill where it can. The session token is kept on this phone (store.ts).
 */
import { ApiError } from '../api.js';
import { el, nextId } from '../dom.js';
import { refusal, t, type Ctx } from '../context.js';
import { primary, secondary, stepHeading } from './common.js';

const PHONE_RE = /^1\d{10}$/;

/** A resend countdown that outlives a rerender of the step (per page). */
let resendUntil = 0;
let phoneTyped = '';

export function loginView(ctx: Ctx, onLoggedIn: () => void): HTMLElement {
  const phoneId = nextId('phone');
  const codeId = nextId('code');
  const phone = el('input', { id: phoneId, type: 'tel', inputmode: 'numeric', autocomplete: 'tel-national', maxlength: 11, value: phoneTyped, 'aria-describedby': `${phoneId}-err` });
  const code = el('input', { id: codeId, type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, 'aria-describedby': `${codeId}-err`, class: 'mono' });
  const phoneErr = el('p', { class: 'field-error', id: `${phoneId}-err`, 'aria-live': 'polite' });
  const codeErr = el('p', { class: 'field-error', id: `${codeId}-err`, 'aria-live': 'polite' });
  const send = el('button', { type: 'button', class: 'secondary send', id: 'send-code' }, [t(ctx, 'sendCode')]);
  const sentNote = el('p', { class: 'muted small', 'aria-live': 'polite' });
  let timer: ReturnType<typeof setInterval> | null = null;

  const tick = () => {
    const left = Math.ceil((resendUntil - Date.now()) / 1000);
    if (left > 0) {
      send.disabled = true;
      send.textContent = t(ctx, 'resendIn', { sec: left });
    } else {
      send.disabled = false;
      send.textContent = t(ctx, 'sendCode');
      if (timer) clearInterval(timer);
      timer = null;
    }
    // Stop when the step is gone.
    if (!send.isConnected && timer) {
      clearInterval(timer);
      timer = null;
    }
  };
  const countdown = () => {
    tick();
    if (!timer && resendUntil > Date.now()) timer = setInterval(tick, 1000);
  };

  phone.addEventListener('input', () => {
    phone.value = phone.value.replace(/\D/g, '').slice(0, 11);
    phoneTyped = phone.value;
  });
  code.addEventListener('input', () => (code.value = code.value.replace(/\D/g, '').slice(0, 6)));

  send.addEventListener('click', () => {
    if (!PHONE_RE.test(phone.value)) {
      phoneErr.textContent = t(ctx, 'phoneInvalid');
      phone.setAttribute('aria-invalid', 'true');
      phone.focus();
      return;
    }
    phoneErr.textContent = '';
    phone.setAttribute('aria-invalid', 'false');
    send.disabled = true;
    ctx.api.sendCode(phone.value, ctx.lang).then(
      (r) => {
        resendUntil = Date.now() + r.resendAfterSec * 1000;
        sentNote.textContent = t(ctx, 'codeSent', { phone: `${phone.value.slice(0, 3)}****${phone.value.slice(7)}` });
        countdown();
        code.focus();
      },
      (e: ApiError) => {
        send.disabled = false;
        const wait = typeof e.details.retryAfterSec === 'number' ? e.details.retryAfterSec : 0;
        if (wait > 0) {
          resendUntil = Date.now() + wait * 1000;
          countdown();
        }
        phoneErr.textContent = e.code === 'invalid_request' ? t(ctx, 'phoneInvalid') : refusal(ctx, e);
      },
    );
  });

  const submit = primary(
    t(ctx, 'login'),
    () => {
      let bad = false;
      if (!PHONE_RE.test(phone.value)) {
        phoneErr.textContent = t(ctx, 'phoneInvalid');
        bad = true;
      }
      if (!/^\d{6}$/.test(code.value)) {
        codeErr.textContent = t(ctx, 'codeInvalid');
        bad = true;
      }
      if (bad) return;
      submit.disabled = true;
      ctx.api.session(phone.value, code.value).then(
        (s) => {
          ctx.api.token = s.token;
          ctx.phoneMasked = s.phoneMasked;
          ctx.store.session(s.token, s.phoneMasked, s.expiresAt);
          onLoggedIn();
        },
        (e: ApiError) => {
          submit.disabled = false;
          codeErr.textContent = e.code === 'invalid_request' ? t(ctx, 'codeInvalid') : refusal(ctx, e);
          code.setAttribute('aria-invalid', 'true');
          code.focus();
        },
      );
    },
    { id: 'login' },
  );

  void Promise.resolve().then(countdown);
  return el('section', { class: 'step', 'data-step': 'login' }, [
    stepHeading(t(ctx, 'stepLogin'), ctx.state.afterLogin === 'orders' ? undefined : 3),
    el('label', { for: phoneId, text: t(ctx, 'phone') }),
    phone,
    phoneErr,
    el('label', { for: codeId, text: t(ctx, 'smsCode') }),
    el('div', { class: 'code-row' }, [code, send]),
    codeErr,
    sentNote,
    el('div', { class: 'bar' }, [secondary(t(ctx, 'back'), () => ctx.dispatch({ type: 'back' })), submit]),
  ]);
}
