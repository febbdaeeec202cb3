/**
 * WeChat web OAuth (网页授权), the two endpoints a booking page needs for the visitor's openid:
 *
 *   GET https://open.weixin.qq.com/connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope=snsapi_base&state#wechat_redirect
 *       → 302 redirect_uri?code=CODE&state=STATE, for the simulated WeChat user of this browser
 *   GET https://api.weixin.qq.com/sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code
 *       → {access_token, expires_in, refresh_token, openid, scope} or {errcode, errmsg}
 *
 * As WeChat: the authorize page works only inside WeChat (a MicroMessenger user agent), its
 * errors are an HTML page, `state` is at most 128 characters of [a-zA-Z0-9]; a code is single
 * use (40163 code been used) and lives 5 minutes (then 40029 invalid code, as an unknown one);
 * the exchange checks appid (40013) and the AppSecret (40125) before it looks at the code, and
 * answers errors with HTTP 200. An openid is stable per user and AppID.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from '../http.js';
import type { Fault } from '../faults.js';

export const AUTHORIZE_PATH = '/connect/oauth2/authorize';
export const ACCESS_TOKEN_PATH = '/sns/oauth2/access_token';
/** How long a code can be exchanged (WeChat: 5 minutes). */
export const OAUTH_CODE_TTL_MS = 5 * 60_000;
/** The cookie (on the simulator's origin) naming the simulated WeChat user of a browser; else `OAuthSim.user`. */
export const USER_COOKIE = 'paysim_wechat_user';
const STATE = /^[A-Za-z0-9]{0,128}$/;
const USER = /^[A-Za-z0-9_.-]{1,64}$/;

export interface OAuthCode {
  code: string;
  appid: string;
  user: string;
  openid: string;
  scope: string;
  issuedAt: Date;
  used: boolean;
}

export interface OAuthHost {
  now(): Date;
  readonly keys: { identity: { wechat: { appid: string } }; wechatAppSecret: string };
  readonly faults: { take(provider: 'wechat', endpoint: string): Fault | undefined };
  hang(res: ServerResponse, fault: Fault): void;
}

export function isUserName(text: unknown): text is string {
  return typeof text === 'string' && USER.test(text);
}

/** An openid as WeChat writes them (28 characters, `o…`), the same for a user and AppID every time. */
export function openidOf(appid: string, user: string): string {
  return `o${createHash('sha256').update(`${appid}\0${user}`).digest('base64url').slice(0, 27)}`;
}

const rid = (): string => `${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;

function errorPage(res: ServerResponse, errcode: number, text: string): void {
  // WeChat shows its own error page in the in-app browser (HTTP 200), never the merchant's.
  const html = `<!doctype html><meta charset="utf-8"><title>微信网页授权</title><h1>Oops! Something went wrong:(</h1><p id="errcode">${errcode}</p><p id="errmsg">${text}</p>`;
  send(res, 200, { 'Content-Type': 'text/html; charset=utf-8' }, html);
}

function cookieUser(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === USER_COOKIE && isUserName(v)) return v;
  }
  return undefined;
}

export class OAuthSim {
  readonly codes = new Map<string, OAuthCode>();
  /** The simulated WeChat user of a browser without the user cookie (a person or a test changes it). */
  user = 'visitor';

  constructor(private readonly host: OAuthHost) {}

  owns(url: URL): boolean {
    return url.pathname === AUTHORIZE_PATH || url.pathname === ACCESS_TOKEN_PATH;
  }

  openid(user: string): string {
    return openidOf(this.host.keys.identity.wechat.appid, user);
  }

  handle(req: IncomingMessage, url: URL, res: ServerResponse): void {
    if (req.method !== 'GET') return send(res, 405, { 'Content-Type': 'text/plain', Allow: 'GET' }, 'GET');
    if (url.pathname === AUTHORIZE_PATH) return this.authorize(req, url, res);
    return this.accessToken(url, res);
  }

  private authorize(req: IncomingMessage, url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    if (!/MicroMessenger\//.test(req.headers['user-agent'] ?? '')) return errorPage(res, 10001, '请在微信客户端打开链接');
    const appid = q.get('appid') ?? '';
    if (appid === '') return errorPage(res, 10012, 'appid不能为空');
    if (appid !== this.host.keys.identity.wechat.appid) return errorPage(res, 10002, 'appid参数错误');
    const redirect = q.get('redirect_uri') ?? '';
    if (redirect === '') return errorPage(res, 10011, 'redirect_uri不能为空');
    let back: URL;
    try {
      back = new URL(redirect);
      if (back.protocol !== 'http:' && back.protocol !== 'https:') throw new Error('scheme');
    } catch {
      return errorPage(res, 10003, 'redirect_uri参数错误');
    }
    if (q.get('response_type') !== 'code') return errorPage(res, 10004, 'response_type参数错误');
    const scope = q.get('scope') ?? '';
    if (scope === '') return errorPage(res, 10010, 'scope不能为空');
    if (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo') return errorPage(res, 10005, '此公众号并没有这些scope的权限');
    const state = q.get('state') ?? '';
    if (!STATE.test(state)) return errorPage(res, 10013, 'state参数错误：最多128字节的a-zA-Z0-9');
    // snsapi_base is silent: no page for the visitor, straight back with a code.
    const user = cookieUser(req) ?? this.user;
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, { code, appid, user, openid: this.openid(user), scope, issuedAt: this.host.now(), used: false });
    back.searchParams.set('code', code);
    back.searchParams.set('state', state);
    res.writeHead(302, { Location: back.href, 'Content-Length': '0' });
    res.end();
  }

  private accessToken(url: URL, res: ServerResponse): void {
    const fault = this.host.faults.take('wechat', url.pathname);
    if (fault?.kind === 'timeout') return this.host.hang(res, fault);
    if (fault?.kind === 'malformed') return send(res, 200, { 'Content-Type': 'text/html' }, '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>');
    const reply = (value: Record<string, unknown>) => send(res, 200, { 'Content-Type': 'application/json; encoding=utf-8' }, JSON.stringify(value));
    const error = (errcode: number, errmsg: string) => reply({ errcode, errmsg: `${errmsg}, rid: ${rid()}` });
    // A busy WeChat answers 200 with errcode -1.
    if (fault?.kind === '5xx') return error(-1, 'system error');
    const q = url.searchParams;
    if (q.get('grant_type') !== 'authorization_code') return error(40002, 'invalid grant_type');
    if (q.get('appid') !== this.host.keys.identity.wechat.appid) return error(40013, 'invalid appid');
    if (q.get('secret') !== this.host.keys.wechatAppSecret) return error(40125, 'invalid appsecret');
    const code = q.get('code') ?? '';
    if (code === '') return error(41008, 'missing code');
    const c = this.codes.get(code);
    if (c === undefined || c.appid !== q.get('appid') || this.host.now().getTime() - c.issuedAt.getTime() > OAUTH_CODE_TTL_MS) return error(40029, 'invalid code');
    if (c.used) return error(40163, 'code been used');
    c.used = true;
    reply({ access_token: randomBytes(32).toString('base64url'), expires_in: 7200, refresh_token: randomBytes(32).toString('base64url'), openid: c.openid, scope: c.scope });
  }

  /** What the control API shows (codes truncated: they are secrets of a kind). */
  view(): Record<string, unknown> {
    return {
      user: this.user,
      openid: this.openid(this.user),
      codes: [...this.codes.values()].map((c) => ({ code: `${c.code.slice(0, 6)}…`, user: c.user, openid: c.openid, scope: c.scope, issuedAt: c.issuedAt.toISOString(), used: c.used })),
    };
  }
}
