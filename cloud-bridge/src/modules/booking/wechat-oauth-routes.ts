import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Clock } from '../../core/clock.js';
import { errorResponses } from '../../core/http/openapi.js';
import { refusalBody } from '../../core/http/refusals.js';
import type { Logger } from '../../core/log.js';
import type { CloudApp } from '../../core/module.js';
import { checkOAuthState, cookieValue, newOAuthState, OAUTH_COOKIE, OAUTH_STATE_TTL_MS, pageTarget, returnPath } from './oauth-state.js';
import { BOOKING_ROUTE_CODES } from './routes.js';
import { BookSiteParamSchema, WechatOAuthCallbackQuerySchema, WechatOAuthStartQuerySchema } from './schemas.js';
import type { BookingService, BookingSite } from './service.js';
import { isConfigErrcode, type WechatOAuth } from './wechat-oauth.js';

export interface WechatOAuthRouteDeps {
  service: BookingService;
  /** The site's WeChat web OAuth, when configured. */
  oauth(site: string): WechatOAuth | undefined;
  /** This bridge's public base URL (the callback WeChat sends the browser to must be on the registered domain). */
  publicUrl(): string;
  clock: Clock;
  log: Logger;
}

/** What the page is told in its fragment when no openid came back. */
export type OAuthFailure = 'state_invalid' | 'state_expired' | 'code_invalid' | 'code_used' | 'unavailable';

const redirectHeaders = { Location: { schema: { type: 'string' as const }, description: 'Where the browser goes next' }, 'Set-Cookie': { schema: { type: 'string' as const }, description: `${OAUTH_COOKIE}: set by start (HttpOnly, SameSite=Lax, 10 minutes), cleared by the callback` } };

/**
 * The WeChat OAuth round trip of the booking page (docs/booking.md "WeChat JSAPI"): `start`
 * sends the browser to WeChat's authorize page with a signed, expiring state bound to this
 * browser and to the return path (the site's booking page only); `callback` takes WeChat's
 * code and state, exchanges the code for the openid and sends the browser back to the page
 * with the openid — or why there is none — in the URL fragment, which no server and no log sees.
 */
export function wechatOAuthRoutes(app: CloudApp, deps: WechatOAuthRouteDeps): void {
  const { service, log } = deps;
  const tags = ['booking'];
  const cookiePath = (site: string) => `/v1/book/${encodeURIComponent(site)}/wechat-oauth`;
  const secure = () => (deps.publicUrl().startsWith('https:') ? '; Secure' : '');
  const redirect = (c: Context, location: string, cookie: string) =>
    c.body(null, 302, { location, 'set-cookie': cookie, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });

  /** The site's booking page with OAuth configured, or the refusal. */
  const withOAuth = (c: Context, work: (b: BookingSite, oauth: WechatOAuth) => Response | Promise<Response>) => {
    const id = c.req.param('site') ?? '';
    const b = service.site(id);
    if (!b) return c.json(refusalBody('unknown_site', `no booking page for site ${id}`), 404);
    const oauth = deps.oauth(id);
    if (!oauth) return c.json(refusalBody('provider_not_configured', `WeChat web OAuth is not configured for site ${id}: pay with the QR code`), 422);
    return work(b, oauth);
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/book/{site}/wechat-oauth/start',
      tags,
      summary: "Inside WeChat: off to WeChat's authorize page (snsapi_base) for the visitor's openid, then back to the booking page",
      description: 'A browser navigation, not an API call. The state is signed, expires in 10 minutes and is bound to this browser by an HttpOnly cookie; `returnTo` must be the site\'s booking page on this origin.',
      request: { params: BookSiteParamSchema, query: WechatOAuthStartQuerySchema },
      responses: { 302: { description: "To WeChat's authorize page", headers: redirectHeaders }, ...errorResponses(BOOKING_ROUTE_CODES.wechatOAuthStart) },
    }),
    ((c: Context) =>
      withOAuth(c, (b, oauth) => {
        const site = b.site.id;
        const returnTo = returnPath(site, c.req.query('returnTo'));
        if (returnTo === undefined) {
          log.warn({ event: 'wechat_oauth_refused', site, reason: 'return_to' }, 'WeChat OAuth start refused: returnTo is not this site\'s booking page');
          return c.json(refusalBody('invalid_request', `returnTo: a path of this origin under /book/${site}`), 400);
        }
        const { state, cookie } = newOAuthState((e, n, r) => b.login.secrets.oauthStateMac(e, n, r), returnTo, deps.clock().getTime());
        const callback = `${deps.publicUrl().replace(/\/+$/, '')}/v1/book/${encodeURIComponent(site)}/wechat-oauth/callback`;
        return redirect(c, oauth.authorizeUrl(callback, state), `${OAUTH_COOKIE}=${cookie}; Path=${cookiePath(site)}; Max-Age=${OAUTH_STATE_TTL_MS / 1000}; HttpOnly; SameSite=Lax${secure()}`);
      })) as never,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/book/{site}/wechat-oauth/callback',
      tags,
      summary: "Where WeChat sends the browser back: the code is exchanged for the openid, and the browser goes back to the booking page",
      description:
        'Always a redirect to the site\'s booking page, which reads the outcome from its URL fragment: `#wx_openid=…&to=…` or `#wx_error=state_invalid|state_expired|code_invalid|code_used|unavailable&to=…` (`to`: the page\'s own fragment). A state that is forged, altered or from another browser goes to the page\'s start.',
      request: { params: BookSiteParamSchema, query: WechatOAuthCallbackQuerySchema },
      responses: { 302: { description: 'Back to the booking page', headers: redirectHeaders }, ...errorResponses(BOOKING_ROUTE_CODES.wechatOAuthCallback) },
    }),
    ((c: Context) =>
      withOAuth(c, async (b, oauth) => {
        const site = b.site.id;
        const clear = `${OAUTH_COOKIE}=; Path=${cookiePath(site)}; Max-Age=0; HttpOnly; SameSite=Lax${secure()}`;
        const back = (to: string, result: { openid: string } | { error: OAuthFailure }) => redirect(c, pageTarget(to, result), clear);
        const check = checkOAuthState((e, n, r) => b.login.secrets.oauthStateMac(e, n, r), site, c.req.query('state'), cookieValue(c.req.header('cookie'), OAUTH_COOKIE), deps.clock().getTime());
        if (!check.ok) {
          log.warn({ event: 'wechat_oauth_refused', site, reason: check.reason }, check.reason === 'state_expired' ? 'WeChat OAuth: the state is older than 10 minutes' : 'WeChat OAuth: a state that is forged, altered, or without its cookie (another browser)');
          return back(check.returnTo ?? `/book/${encodeURIComponent(site)}`, { error: check.reason });
        }
        const code = c.req.query('code') ?? '';
        if (!/^[A-Za-z0-9_-]{1,128}$/.test(code)) {
          log.warn({ event: 'wechat_oauth_refused', site, reason: 'code_invalid' }, 'WeChat OAuth: no code in the callback');
          return back(check.returnTo, { error: 'code_invalid' });
        }
        const r = await oauth.exchange(code);
        if (!r.ok) {
          const entry = { event: 'wechat_oauth_refused', site, reason: r.reason, ...(r.errcode !== undefined ? { errcode: r.errcode } : {}), why: r.why };
          if (isConfigErrcode(r.errcode)) log.error({ ...entry, alert: 'wechat_oauth_config' }, 'WeChat OAuth: WeChat refused our AppID or AppSecret');
          else log.warn(entry, `WeChat OAuth: no openid (${r.why})`);
          return back(check.returnTo, { error: r.reason });
        }
        log.info({ event: 'wechat_oauth_ok', site }, 'WeChat OAuth: openid handed to the page');
        return back(check.returnTo, { openid: r.openid });
      })) as never,
  );
}
