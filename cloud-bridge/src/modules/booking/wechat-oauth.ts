import { readFileSync } from 'node:fs';
import { CloudError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

/*
 * WeChat web OAuth (网页授权, scope snsapi_base) for the visitor's openid, which a JSAPI payment
 * needs: the authorize URL the browser is sent to, and the code → openid exchange
 * (GET /sns/oauth2/access_token). The AppSecret is read from its file once and goes only into
 * that request: the request URL, which carries it, is never logged, nor is the code or the
 * openid (logs say errcode and why).
 */

export const WECHAT_AUTHORIZE_URL = 'https://open.weixin.qq.com/connect/oauth2/authorize';
export const WECHAT_API_URL = 'https://api.weixin.qq.com';

/** A site's WeChat web OAuth: the payment AppID (openids are per AppID, and JSAPI needs the payment's) and its AppSecret file. */
export interface WechatOAuthOptions {
  appid: string;
  appSecretPath: string;
  authorizeUrl?: string;
  apiBaseUrl?: string;
  timeoutMs?: number;
}

/** Why no openid: the code was wrong or too old, already used, or WeChat (or our configuration) failed. */
export type ExchangeFailure = 'code_invalid' | 'code_used' | 'unavailable';
export type Exchange = { ok: true; openid: string } | { ok: false; reason: ExchangeFailure; errcode?: number; why: string };

const OPENID = /^[A-Za-z0-9_-]{6,64}$/;
/** errcodes that say our side is configured wrong (AppID, AppSecret, grant type): an alert, not the visitor's fault. */
const CONFIG_ERRCODES = new Set([40001, 40002, 40013, 40125, 40164, 41002, 41004]);

/** The exchange's answer, classified (pure). */
export function classifyExchange(status: number, text: string): Exchange {
  if (status !== 200) return { ok: false, reason: 'unavailable', why: `HTTP ${status}` };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'unavailable', why: 'answer is not JSON' };
  }
  if (typeof body !== 'object' || body === null) return { ok: false, reason: 'unavailable', why: 'answer is not an object' };
  const b = body as { errcode?: unknown; openid?: unknown };
  if (typeof b.errcode === 'number' && b.errcode !== 0) {
    if (b.errcode === 40029) return { ok: false, reason: 'code_invalid', errcode: 40029, why: 'invalid code (wrong or older than 5 minutes)' };
    if (b.errcode === 40163) return { ok: false, reason: 'code_used', errcode: 40163, why: 'code been used' };
    return { ok: false, reason: 'unavailable', errcode: b.errcode, why: CONFIG_ERRCODES.has(b.errcode) ? 'WeChat refused our AppID/AppSecret: check payments.wechat.oauth' : 'WeChat error' };
  }
  if (typeof b.openid !== 'string' || !OPENID.test(b.openid)) return { ok: false, reason: 'unavailable', why: 'answer has no openid' };
  return { ok: true, openid: b.openid };
}

export function isConfigErrcode(errcode: number | undefined): boolean {
  return errcode !== undefined && CONFIG_ERRCODES.has(errcode);
}

export class WechatOAuth {
  private readonly secret: string;
  private readonly authorizeBase: string;
  private readonly apiBase: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly opts: WechatOAuthOptions,
    log: Logger,
  ) {
    let secret: string;
    try {
      secret = readFileSync(opts.appSecretPath, 'utf8').trim();
    } catch (err) {
      throw new CloudError('config_invalid', `WeChat OAuth: cannot read the AppSecret file ${opts.appSecretPath}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    if (!/^[0-9A-Za-z]{16,64}$/.test(secret)) throw new CloudError('config_invalid', `WeChat OAuth: ${opts.appSecretPath} does not hold an AppSecret (16–64 letters and digits)`);
    this.secret = secret;
    this.authorizeBase = opts.authorizeUrl ?? WECHAT_AUTHORIZE_URL;
    this.apiBase = (opts.apiBaseUrl ?? WECHAT_API_URL).replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 5000;
    log.info({ event: 'wechat_oauth', appid: opts.appid, authorizeUrl: this.authorizeBase, apiBaseUrl: this.apiBase }, 'WeChat web OAuth ready');
  }

  /** The authorize URL, parameters in the order WeChat documents, with its `#wechat_redirect`. */
  authorizeUrl(redirectUri: string, state: string): string {
    const q = [`appid=${encodeURIComponent(this.opts.appid)}`, `redirect_uri=${encodeURIComponent(redirectUri)}`, 'response_type=code', 'scope=snsapi_base', `state=${state}`].join('&');
    return `${this.authorizeBase}${this.authorizeBase.includes('?') ? '&' : '?'}${q}#wechat_redirect`;
  }

  /** The code → openid; never throws. */
  async exchange(code: string): Promise<Exchange> {
    const q = new URLSearchParams({ appid: this.opts.appid, secret: this.secret, code, grant_type: 'authorization_code' });
    try {
      const res = await fetch(`${this.apiBase}/sns/oauth2/access_token?${q.toString()}`, { signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
      return classifyExchange(res.status, await res.text());
    } catch (err) {
      // Only the error's name: a fetch error may quote the URL, which holds the AppSecret.
      const name = (err as Error).name === 'TimeoutError' ? 'timed out' : `${(err as Error).name}: connection failed`;
      return { ok: false, reason: 'unavailable', why: name };
    }
  }
}
