/**
 * Which payment fits the browser the page is open in, from its user agent: inside WeChat pay
 * with WeChat (JSAPI), inside Alipay with Alipay (WAP), in a phone's own browser the Alipay WAP
 * cashier (WeChat Pay cannot be opened from an outside mobile browser without the H5 product),
 * and on a desktop a QR code to scan with either app. Pure: the user agent comes in.
 */
import type { Provider } from './types.js';

export type BrowserKind = 'wechat' | 'alipay' | 'mobile' | 'desktop';

export function browserKind(ua: string): BrowserKind {
  if (/MicroMessenger\//i.test(ua)) return 'wechat';
  if (/AlipayClient\//i.test(ua)) return 'alipay';
  if (/Android|iPhone|iPad|iPod|Mobile|HarmonyOS/i.test(ua)) return 'mobile';
  return 'desktop';
}

export interface PayChoice {
  provider: Provider;
  method: 'qr' | 'in_app';
}

/**
 * The ways to pay offered here, best first, among the site's providers. Every browser can
 * show a QR code to scan with the other phone's app, so QR is always a fallback.
 */
export function payChoices(kind: BrowserKind, providers: readonly Provider[], wechatInApp = false): PayChoice[] {
  const has = (p: Provider) => providers.indexOf(p) >= 0;
  const out: PayChoice[] = [];
  const add = (c: PayChoice) => {
    if (has(c.provider) && !out.some((x) => x.provider === c.provider && x.method === c.method)) out.push(c);
  };
  // Inside one app the other provider's pages do not open (WeChat blocks Alipay links and back).
  // JSAPI needs the visitor's openid: known, or to be had from WeChat's web authorization (wechat.ts); else the QR code.
  if (kind === 'wechat' && wechatInApp) add({ provider: 'wechat', method: 'in_app' });
  else if (kind === 'alipay') add({ provider: 'alipay', method: 'in_app' });
  else if (kind === 'mobile') add({ provider: 'alipay', method: 'in_app' });
  if (kind !== 'alipay') add({ provider: 'wechat', method: 'qr' });
  if (kind !== 'wechat') add({ provider: 'alipay', method: 'qr' });
  return out;
}
