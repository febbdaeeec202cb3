/**
 * Paying inside WeChat with JSAPI: the openid comes from WeChat's web authorization, which the
 * server runs (/v1/book/{site}/wechat-oauth/start → WeChat → …/callback) and which sends the
 * browser back here with the outcome in the URL fragment — `#wx_openid=…&to=…` or
 * `#wx_error=…&to=…`, `to` being the page's own fragment (#pay/{order}). The fragment never
 * reaches a server; the page takes it out of the address at once and keeps the openid in
 * sessionStorage for this visit. Then WeixinJSBridge shows WeChat's payment sheet.
 */
import type { JsapiParams } from './types.js';

export type OAuthError = 'state_invalid' | 'state_expired' | 'code_invalid' | 'code_used' | 'unavailable';
const ERRORS: readonly string[] = ['state_invalid', 'state_expired', 'code_invalid', 'code_used', 'unavailable'];

export interface OAuthReturn {
  openid: string | null;
  error: OAuthError | null;
  /** The page's own fragment to put back ('' for none), with its '#'. */
  hash: string;
}

/** The outcome of the OAuth round trip in a fragment, or null when the fragment is the page's own. Pure. */
export function oauthReturn(hash: string): OAuthReturn | null {
  if (!/^#wx_(openid|error)=/.test(hash)) return null;
  const p = new URLSearchParams(hash.slice(1));
  const openid = p.get('wx_openid');
  const error = p.get('wx_error');
  const to = p.get('to');
  return {
    openid: openid && /^[A-Za-z0-9_-]{6,64}$/.test(openid) ? openid : null,
    error: error !== null ? (ERRORS.indexOf(error) >= 0 ? (error as OAuthError) : 'unavailable') : null,
    hash: to && /^[a-z]+(\/[^#]*)?$/.test(to) ? `#${to}` : '',
  };
}

/** Where the browser goes to get the openid: back to this page on the order being paid. */
export function oauthStartUrl(site: string, pagePathAndQuery: string, orderId: string): string {
  const returnTo = `${pagePathAndQuery}#pay/${encodeURIComponent(orderId)}`;
  return `/v1/book/${encodeURIComponent(site)}/wechat-oauth/start?returnTo=${encodeURIComponent(returnTo)}`;
}

export interface WeixinBridge {
  invoke(name: 'getBrandWCPayRequest', params: JsapiParams, done: (r: { err_msg: string }) => void): void;
}
declare global {
  interface Window {
    WeixinJSBridge?: WeixinBridge;
  }
}

/** WeChat's bridge: there already, or announced by `WeixinJSBridgeReady`; null if it does not come in time (not in WeChat). */
export function weixinBridge(timeoutMs = 5000): Promise<WeixinBridge | null> {
  if (window.WeixinJSBridge) return Promise.resolve(window.WeixinJSBridge);
  return new Promise((resolve) => {
    const ready = () => {
      clearTimeout(timer);
      resolve(window.WeixinJSBridge ?? null);
    };
    const timer = setTimeout(() => {
      document.removeEventListener('WeixinJSBridgeReady', ready);
      resolve(window.WeixinJSBridge ?? null);
    }, timeoutMs);
    document.addEventListener('WeixinJSBridgeReady', ready, { once: true });
  });
}

/** The sheet's answer: `get_brand_wcpay_request:ok|cancel|fail`. Only the order's status says it is paid. */
export function sheetOutcome(errMsg: string): 'ok' | 'cancel' | 'fail' {
  if (/:ok$/.test(errMsg)) return 'ok';
  if (/:cancel$/.test(errMsg)) return 'cancel';
  return 'fail';
}

/** Show the sheet and wait for the visitor. */
export function payInWeChat(bridge: WeixinBridge, params: JsapiParams): Promise<'ok' | 'cancel' | 'fail'> {
  return new Promise((resolve) => bridge.invoke('getBrandWCPayRequest', params, (r) => resolve(sheetOutcome(r && typeof r.err_msg === 'string' ? r.err_msg : ''))));
}
