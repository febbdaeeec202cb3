// WeChat web OAuth for the booking page's JSAPI payments (issue #16 point 5), against the
// payment simulator's authorize page and code exchange: the round trip hands the page an
// openid that pays; forged, cookie-less and expired states, a reused or unknown code, WeChat's
// errors and open-redirect attempts are refused, and nothing of it lands in the logs. The
// OAuth state lives in the request and a cookie, not in the store: SQLite is enough here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedWeChatApp } from '@stile/payment-sim';
import { classifyExchange } from '../../src/modules/booking/wechat-oauth.js';
import { DAY, idem, newPhone, startBookPark, type BookPark } from './harness.js';

const WECHAT_UA = new SimulatedWeChatApp('http://unused').userAgent;

interface Hop {
  status: number;
  location: string;
  setCookie: string;
}

describe('booking page: WeChat web OAuth for JSAPI', () => {
  let p: BookPark;
  const logs: string[] = [];
  beforeAll(async () => {
    p = await startBookPark('sqlite', { logLine: (l) => void logs.push(l) });
  }, 30_000);
  afterAll(async () => {
    await p?.close();
  });

  /** One request, redirects not followed. */
  const hop = async (url: string, headers: Record<string, string> = {}): Promise<Hop> => {
    const r = await fetch(url.startsWith('http') ? url : p.base + url, { redirect: 'manual', headers });
    await r.text();
    return { status: r.status, location: r.headers.get('location') ?? '', setCookie: r.headers.get('set-cookie') ?? '' };
  };
  const start = (returnTo: string) => hop(`/v1/book/${p.site}/wechat-oauth/start?returnTo=${encodeURIComponent(returnTo)}`);
  const cookieOf = (h: Hop) => /^(stile_wxoauth=[^;]+)/.exec(h.setCookie)![1]!;
  const page = (rest = '') => `/book/${p.site}${rest}`;
  /** The fragment the page gets back. */
  const fragment = (h: Hop) => Object.fromEntries(new URLSearchParams(h.location.slice(h.location.indexOf('#') + 1)));

  /** start → WeChat's authorize page (as the WeChat app) → the callback URL with code and state, and the browser's cookie. */
  async function authorize(returnTo = page('?lang=en#pay/O1')): Promise<{ callback: string; cookie: string; state: string; code: string }> {
    const s = await start(returnTo);
    expect(s.status).toBe(302);
    const wx = await hop(s.location.replace(/#wechat_redirect$/, ''), { 'user-agent': WECHAT_UA });
    expect(wx.status, 'the simulator redirects back').toBe(302);
    const back = new URL(wx.location);
    return { callback: back.pathname + back.search, cookie: cookieOf(s), state: back.searchParams.get('state')!, code: back.searchParams.get('code')! };
  }

  it('info says the page can get an openid; start sends the browser to WeChat with a signed state bound to a cookie', async () => {
    expect((await p.book('GET', '/info')).body.wechatOAuth).toBe(true);
    const s = await start(page('?lang=en#pay/O1'));
    expect(s.status).toBe(302);
    const to = new URL(s.location);
    expect(`${to.origin}${to.pathname}`).toBe(`${p.sim.baseUrl}/connect/oauth2/authorize`);
    expect(to.hash).toBe('#wechat_redirect');
    // WeChat wants its parameters in this order.
    expect([...to.searchParams.keys()]).toEqual(['appid', 'redirect_uri', 'response_type', 'scope', 'state']);
    expect(to.searchParams.get('appid')).toBe(p.sim.keys.identity.wechat.appid);
    expect(to.searchParams.get('redirect_uri')).toBe(`${p.base}/v1/book/${p.site}/wechat-oauth/callback`);
    expect(to.searchParams.get('scope')).toBe('snsapi_base');
    expect(to.searchParams.get('state')).toMatch(/^[0-9a-f]{64}$/); // WeChat: at most 128 of [a-zA-Z0-9]
    expect(s.setCookie).toMatch(new RegExp(`^stile_wxoauth=[0-9a-f]{24}\\.[A-Za-z0-9_-]+; Path=/v1/book/${p.site}/wechat-oauth; Max-Age=600; HttpOnly; SameSite=Lax$`));
  });

  it('the round trip hands the page an openid in the fragment, which pays the order with JSAPI', async () => {
    const phone = newPhone();
    const token = await p.login(phone);
    const o = await p.book('POST', '/orders', { typeId: 'adult', date: DAY, slotId: 's10', visitors: p.visitors(1) }, { token, headers: idem() });
    expect(o.status).toBe(201);
    const orderId = o.body.orderId as string;
    const a = await authorize(page(`?lang=en#pay/${orderId}`));
    const back = await hop(a.callback, { cookie: a.cookie });
    expect(back.status).toBe(302);
    // Back to the page itself (same origin, a relative path), the page's own fragment in `to`.
    expect(back.location.startsWith(`/book/${p.site}?lang=en#wx_openid=`)).toBe(true);
    const got = fragment(back);
    expect(got.wx_openid).toBe(p.sim.oauth.openid('visitor'));
    expect(got.to).toBe(`pay/${orderId}`);
    expect(back.setCookie).toMatch(/^stile_wxoauth=; .*Max-Age=0/);
    // A different simulated WeChat user gets another, stable, openid.
    p.sim.oauth.user = 'other';
    const b = await authorize();
    expect(fragment(await hop(b.callback, { cookie: b.cookie })).wx_openid).toBe(p.sim.oauth.openid('other'));
    p.sim.oauth.user = 'visitor';

    const pay = await p.book('POST', `/orders/${orderId}/pay`, { provider: 'wechat', method: 'in_app', openid: got.wx_openid }, { token });
    expect(pay.status).toBe(200);
    expect(pay.body.inApp.kind).toBe('wechat_jsapi');
    const wx = new SimulatedWeChatApp(p.sim.baseUrl);
    // The sheet closed first: nothing paid; then paid. The sheet's "ok" is not the proof: the order is paid from the provider.
    wx.answers.push('cancel');
    expect(await wx.invoke('getBrandWCPayRequest', pay.body.inApp.params)).toEqual({ err_msg: 'get_brand_wcpay_request:cancel' });
    expect((await p.book('GET', `/orders/${orderId}`, undefined, { token })).body.status).toBe('pending');
    // Another WeChat user cannot pay this visitor's sheet.
    expect(await new SimulatedWeChatApp(p.sim.baseUrl, { user: 'other' }).invoke('getBrandWCPayRequest', pay.body.inApp.params)).toEqual({ err_msg: 'get_brand_wcpay_request:fail' });
    expect(await wx.invoke('getBrandWCPayRequest', pay.body.inApp.params)).toEqual({ err_msg: 'get_brand_wcpay_request:ok' });
    await p.untilOrder(token, orderId, (x) => x.status === 'paid', 'the order paid through JSAPI');
  });

  it('a code is used once: the same callback again (a reload, a replay) is code_used', async () => {
    const a = await authorize();
    expect(fragment(await hop(a.callback, { cookie: a.cookie })).wx_openid).toBeDefined();
    const again = await hop(a.callback, { cookie: a.cookie });
    expect(again.status).toBe(302);
    expect(fragment(again)).toEqual({ wx_error: 'code_used', to: 'pay/O1' });
    // A code WeChat never issued, and none at all.
    const c = await authorize();
    expect(fragment(await hop(`/v1/book/${p.site}/wechat-oauth/callback?code=${'f'.repeat(32)}&state=${c.state}`, { cookie: c.cookie })).wx_error).toBe('code_invalid');
    expect(fragment(await hop(`/v1/book/${p.site}/wechat-oauth/callback?state=${c.state}`, { cookie: c.cookie })).wx_error).toBe('code_invalid');
  });

  it('a forged or altered state, or one without its cookie (another browser), is state_invalid and goes to the page\'s start', async () => {
    const a = await authorize();
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1);
    const cb = (state: string) => `/v1/book/${p.site}/wechat-oauth/callback?code=${a.code}&state=${state}`;
    for (const [what, state, cookie] of [
      ['MAC changed', flip(a.state, 63), a.cookie],
      ['expiry pushed later', flip(a.state, 0), a.cookie],
      ['no cookie', a.state, undefined],
      ['another browser\'s cookie', a.state, cookieOf(await start(page()))],
      ['garbage', 'x'.repeat(64), a.cookie],
      ['none', '', a.cookie],
    ] as const) {
      const h = await hop(cb(state), cookie ? { cookie } : {});
      expect(h.status, what).toBe(302);
      expect(h.location, what).toBe(`/book/${p.site}#wx_error=state_invalid`);
    }
    // The code was never spent on a refused state: the genuine callback still works.
    expect(fragment(await hop(a.callback, { cookie: a.cookie })).wx_openid).toBe(p.sim.oauth.openid('visitor'));
  });

  it('start refuses a return path that is not the site\'s booking page on this origin (no open redirect)', async () => {
    for (const bad of ['https://evil.example/book/x', '//evil.example/book/' + p.site, '/\\evil.example', `/book/${p.site}/../../admin`, '/book/another-park', `/book/${p.site}x`, 'book/' + p.site, `/book/${p.site}\n`, 'javascript:alert(1)']) {
      const r = await fetch(`${p.base}/v1/book/${p.site}/wechat-oauth/start?returnTo=${encodeURIComponent(bad)}`, { redirect: 'manual' });
      expect(r.status, bad).toBe(400);
      expect(((await r.json()) as { error: string }).error, bad).toBe('invalid_request');
    }
    expect((await start(page('?lang=en#orders'))).status).toBe(302);
    expect((await fetch(`${p.base}/v1/book/${p.site}/wechat-oauth/start`, { redirect: 'manual' })).status).toBe(400);
    expect((await fetch(`${p.base}/v1/book/no-such-park/wechat-oauth/start?returnTo=%2Fbook%2Fno-such-park`, { redirect: 'manual' })).status).toBe(404);
  });

  it('WeChat\'s errors: busy (errcode -1), a timeout and garbage are unavailable; the page is told, the log says why', async () => {
    for (const kind of ['5xx', 'timeout', 'malformed'] as const) {
      const a = await authorize();
      p.sim.faults.add({ kind, provider: 'wechat', match: '/sns/oauth2', remaining: 1, hangMs: 3000 });
      const h = await hop(a.callback, { cookie: a.cookie });
      expect(fragment(h), kind).toEqual({ wx_error: 'unavailable', to: 'pay/O1' });
    }
    const refused = logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'wechat_oauth_refused');
    expect(refused.some((l) => l.errcode === -1 && l.reason === 'unavailable')).toBe(true);
    expect(refused.some((l) => l.why === 'timed out')).toBe(true);
    // What the exchange's answers mean, WeChat's errcodes included.
    expect(classifyExchange(200, '{"errcode":40029,"errmsg":"invalid code, rid: 1"}')).toMatchObject({ ok: false, reason: 'code_invalid' });
    expect(classifyExchange(200, '{"errcode":40163,"errmsg":"code been used, rid: 1"}')).toMatchObject({ ok: false, reason: 'code_used' });
    expect(classifyExchange(200, '{"errcode":40125,"errmsg":"invalid appsecret"}')).toMatchObject({ ok: false, reason: 'unavailable', errcode: 40125 });
    expect(classifyExchange(200, '{"access_token":"x","openid":"../../etc"}')).toMatchObject({ ok: false, reason: 'unavailable' });
    expect(classifyExchange(502, 'nginx')).toMatchObject({ ok: false, reason: 'unavailable' });
  });

  it('the logs never hold the openid, the code, the state or the AppSecret', () => {
    const text = logs.join('\n');
    expect(text).toContain('wechat_oauth_ok');
    expect(text).not.toContain(p.sim.oauth.openid('visitor'));
    expect(text).not.toContain(p.sim.keys.wechatAppSecret);
    for (const c of p.sim.oauth.codes.keys()) expect(text).not.toContain(c);
  });

  it('a state older than 10 minutes is state_expired, and goes back to the page it came from', async () => {
    const a = await authorize(page('?lang=en#pay/O9'));
    p.advance(10 * 60_000 + 1000);
    const h = await hop(a.callback, { cookie: a.cookie });
    expect(h.location).toBe(`/book/${p.site}?lang=en#wx_error=state_expired&to=pay%2FO9`);
  });
});
