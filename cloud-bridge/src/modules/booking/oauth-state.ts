import { randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * The WeChat OAuth round trip's `state` and its cookie. WeChat allows a state of at most 128
 * characters of [a-zA-Z0-9], too short to carry the return path itself, so the path travels
 * in an HttpOnly cookie of the browser that started, and the state binds both:
 *
 *   state  = exp (8 hex, Unix seconds) ‖ nonce (24 hex) ‖ MAC(site key; exp, nonce, returnTo) (32 hex)
 *   cookie = nonce "." base64url(returnTo)
 *
 * A forged or altered state, a state without its cookie (another browser: a login-CSRF link),
 * or a return path that is not the site's booking page is `state_invalid`; a genuine one past
 * its 10 minutes is `state_expired`. Pure apart from the random nonce, which can be passed in.
 */

/** How long the visitor has to come back from WeChat's authorize page. */
export const OAUTH_STATE_TTL_MS = 10 * 60_000;
export const OAUTH_COOKIE = 'stile_wxoauth';

/** The site key's MAC over what a state binds (SiteSecrets.oauthStateMac). */
export type StateMac = (expSec: number, nonce: string, returnTo: string) => string;

export type StateCheck = { ok: true; returnTo: string } | { ok: false; reason: 'state_invalid' | 'state_expired'; returnTo?: string };

const BASE = 'http://stile.invalid';

/**
 * The path the visitor goes back to, or undefined: only the site's own booking page on this
 * origin (`/book/{site}`, with its query and fragment), so the route can never redirect
 * anywhere else (no `//host`, no scheme, no backslash tricks, no other path).
 */
export function returnPath(site: string, raw: string | undefined | null): string | undefined {
  // Printable ASCII only (no control characters, no backslash: browsers read "/\\host" as "//host").
  if (!raw || raw.length > 512 || raw[0] !== '/' || raw.startsWith('//') || !/^[\x20-\x5b\x5d-\x7e]+$/.test(raw)) return undefined;
  let u: URL;
  try {
    u = new URL(raw, BASE);
  } catch {
    return undefined;
  }
  if (u.origin !== BASE || u.pathname !== `/book/${encodeURIComponent(site)}`) return undefined;
  return u.pathname + u.search + u.hash;
}

export function newOAuthState(mac: StateMac, returnTo: string, nowMs: number, nonce = randomBytes(12).toString('hex')): { state: string; cookie: string } {
  const exp = Math.floor((nowMs + OAUTH_STATE_TTL_MS) / 1000);
  return { state: exp.toString(16).padStart(8, '0') + nonce + mac(exp, nonce, returnTo), cookie: `${nonce}.${Buffer.from(returnTo, 'utf8').toString('base64url')}` };
}

export function checkOAuthState(mac: StateMac, site: string, state: string | undefined, cookie: string | undefined, nowMs: number): StateCheck {
  const s = /^([0-9a-f]{8})([0-9a-f]{24})([0-9a-f]{32})$/.exec(state ?? '');
  const c = /^([0-9a-f]{24})\.([A-Za-z0-9_-]{1,700})$/.exec(cookie ?? '');
  if (!s || !c || s[2] !== c[1]) return { ok: false, reason: 'state_invalid' };
  const returnTo = returnPath(site, Buffer.from(c[2]!, 'base64url').toString('utf8'));
  if (returnTo === undefined) return { ok: false, reason: 'state_invalid' };
  const exp = parseInt(s[1]!, 16);
  const want = Buffer.from(mac(exp, s[2]!, returnTo), 'hex');
  const got = Buffer.from(s[3]!, 'hex');
  if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'state_invalid' };
  // Genuine from here on: the return path can be trusted even when the state is too old.
  if (exp * 1000 <= nowMs) return { ok: false, reason: 'state_expired', returnTo };
  return { ok: true, returnTo };
}

/** A cookie header's value of `name`, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** Where the page picks the result up: its own path, the fragment `wx_openid=…` or `wx_error=…` with the page's own fragment in `to`. */
export function pageTarget(returnTo: string, result: { openid: string } | { error: string }): string {
  const hash = returnTo.indexOf('#');
  const base = hash < 0 ? returnTo : returnTo.slice(0, hash);
  const to = hash < 0 ? '' : returnTo.slice(hash + 1);
  const p = new URLSearchParams('openid' in result ? { wx_openid: result.openid } : { wx_error: result.error });
  if (to) p.set('to', to);
  return `${base}#${p.toString()}`;
}
