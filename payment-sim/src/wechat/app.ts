/**
 * The WeChat app on a visitor's phone, as a browser test plays it: its user agent, the
 * simulated user it is logged in as (the openid the authorize page hands out), and
 * `window.WeixinJSBridge` for the page. The bridge in the page calls back into Node through a
 * binding (playwright's `page.exposeFunction`), and Node asks the simulator's control API to
 * show the payment sheet for the prepay_id: so the page's CSP (connect-src 'self') and its
 * origin do not matter, as they do not for the real app.
 *
 *   const wx = new SimulatedWeChatApp(sim.baseUrl, { user: 'li' });
 *   const context = await browser.newContext({ userAgent: wx.userAgent });
 *   await context.addCookies([wx.userCookie()]);
 *   await context.exposeFunction(SimulatedWeChatApp.BINDING, (name, params) => wx.invoke(name, params));
 *   await context.addInitScript(SimulatedWeChatApp.initScript());
 *   wx.answers.push('cancel', 'pay');   // the visitor closes the sheet once, then pays
 */
import { USER_COOKIE } from './oauth.js';

export type SheetAnswer = 'pay' | 'cancel' | 'fail';

export interface Invocation {
  name: string;
  params: Record<string, unknown>;
  errMsg: string;
}

export class SimulatedWeChatApp {
  static readonly BINDING = '__stilePaysimWeChat';
  readonly userAgent = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003129) NetType/WIFI Language/zh_CN';
  /** What the visitor does on each payment sheet, in order; `pay` once they are used up. */
  readonly answers: SheetAnswer[] = [];
  readonly invocations: Invocation[] = [];
  readonly user: string;

  constructor(
    readonly simBaseUrl: string,
    opts: { user?: string } = {},
  ) {
    this.user = opts.user ?? 'visitor';
  }

  /** The cookie that makes the simulator's authorize page answer for this app's user (for `context.addCookies`). */
  userCookie(): { name: string; value: string; url: string } {
    return { name: USER_COOKIE, value: this.user, url: this.simBaseUrl };
  }

  /** A WeixinJSBridge call from the page: getBrandWCPayRequest shows the sheet (the simulator checks paySign and the payer). */
  async invoke(name: string, params: Record<string, unknown>): Promise<{ err_msg: string }> {
    if (name !== 'getBrandWCPayRequest') {
      this.invocations.push({ name, params, errMsg: `${name}:fail` });
      return { err_msg: `${name}:fail` };
    }
    const action = this.answers.shift() ?? 'pay';
    const r = await fetch(`${this.simBaseUrl}/sim/wechat/jsapi`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...params, action, user: this.user }) });
    const answer = (await r.json()) as { errMsg?: string };
    const errMsg = answer.errMsg ?? 'chooseWXPay:fail';
    this.invocations.push({ name, params, errMsg });
    // chooseWXPay:ok|cancel|fail → get_brand_wcpay_request:ok|cancel|fail (a failure keeps its reason after the colon).
    return { err_msg: errMsg.replace(/^chooseWXPay:/, 'get_brand_wcpay_request:').replace(/^(get_brand_wcpay_request:fail),.*$/, '$1') };
  }

  /**
   * The page's WeixinJSBridge. As in WeChat it appears a moment after the document is parsed
   * and announces itself with the `WeixinJSBridgeReady` event, so a page must wait for it.
   */
  static initScript(binding = SimulatedWeChatApp.BINDING): string {
    return `(() => {
  const install = () => {
    const bridge = {
      invoke(name, params, done) {
        const call = window[${JSON.stringify(binding)}];
        const failed = { err_msg: name === 'getBrandWCPayRequest' ? 'get_brand_wcpay_request:fail' : name + ':fail' };
        if (typeof call !== 'function') return void setTimeout(() => done(failed), 0);
        call(name, params).then((r) => done(r), () => done(failed));
      },
      on() {},
      call() {},
    };
    Object.defineProperty(window, 'WeixinJSBridge', { value: bridge, configurable: true });
    document.dispatchEvent(new Event('WeixinJSBridgeReady'));
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => setTimeout(install, 50));
  else setTimeout(install, 50);
})();`;
  }
}
