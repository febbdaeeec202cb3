/**
 * The simulator's WeChat web OAuth from the merchant's side of the wire (fetch only): the
 * authorize page (inside WeChat only; its checks), the code exchange (appid, AppSecret,
 * single-use codes, 5-minute expiry on the simulator's clock, WeChat's errcodes) and the
 * control routes a person or test uses to be a given WeChat user.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAUTH_CODE_TTL_MS, PaymentSimulator, SimulatedWeChatApp } from '@stile/payment-sim';

const UA = new SimulatedWeChatApp('http://x').userAgent;
let sim: PaymentSimulator;
let dir: string;
let offset = 0;
let cfg: { wechat: { appid: string; oauth: { appSecretPath: string; authorizeUrl: string; apiBaseUrl: string } } };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'paysim-oauth-'));
  sim = new PaymentSimulator({ stateDir: dir, now: () => new Date(Date.now() + offset) });
  await sim.listen();
  cfg = sim.merchantConfig() as typeof cfg;
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const secret = () => readFileSync(cfg.wechat.oauth.appSecretPath, 'utf8').trim();

async function authorize(q: Record<string, string>, headers: Record<string, string> = { 'user-agent': UA }): Promise<{ status: number; location: string; body: string }> {
  const r = await fetch(`${cfg.wechat.oauth.authorizeUrl}?${new URLSearchParams(q).toString()}`, { redirect: 'manual', headers });
  return { status: r.status, location: r.headers.get('location') ?? '', body: await r.text() };
}
const good = () => ({ appid: cfg.wechat.appid, redirect_uri: 'https://park.example.com/cb?x=1', response_type: 'code', scope: 'snsapi_base', state: 'abc123' });
async function code(headers?: Record<string, string>): Promise<string> {
  const a = await authorize(good(), headers);
  expect(a.status).toBe(302);
  return new URL(a.location).searchParams.get('code')!;
}
async function exchange(q: Record<string, string>): Promise<Record<string, unknown>> {
  const r = await fetch(`${cfg.wechat.oauth.apiBaseUrl}/sns/oauth2/access_token?${new URLSearchParams(q).toString()}`);
  expect(r.status).toBe(200); // WeChat answers its errors with 200 too
  return (await r.json()) as Record<string, unknown>;
}
const q = (c: string, over: Record<string, string> = {}) => ({ appid: cfg.wechat.appid, secret: secret(), code: c, grant_type: 'authorization_code', ...over });

describe('WeChat web OAuth (simulator)', () => {
  it('the merchant gets an AppSecret file (32 hex) and both URLs', () => {
    expect(secret()).toMatch(/^[0-9a-f]{32}$/);
    expect(cfg.wechat.oauth.authorizeUrl).toBe(`${sim.baseUrl}/connect/oauth2/authorize`);
  });

  it('authorize redirects back with a code and the state, keeping redirect_uri\'s own query', async () => {
    const a = await authorize(good());
    const back = new URL(a.location);
    expect(`${back.origin}${back.pathname}`).toBe('https://park.example.com/cb');
    expect(back.searchParams.get('x')).toBe('1');
    expect(back.searchParams.get('state')).toBe('abc123');
    expect(back.searchParams.get('code')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('authorize refuses outside WeChat and bad parameters with WeChat\'s error page', async () => {
    expect((await authorize(good(), {})).body).toContain('请在微信客户端打开链接');
    const errcode = async (over: Record<string, string>) => /<p id="errcode">(-?\d+)<\/p>/.exec((await authorize({ ...good(), ...over })).body)?.[1];
    expect(await errcode({ appid: 'wx0000' })).toBe('10002');
    expect(await errcode({ redirect_uri: '' })).toBe('10011');
    expect(await errcode({ redirect_uri: 'javascript:alert(1)' })).toBe('10003');
    expect(await errcode({ scope: 'snsapi_login' })).toBe('10005');
    expect(await errcode({ state: 'a-b' })).toBe('10013');
    expect(await errcode({ state: 'a'.repeat(129) })).toBe('10013');
    expect((await authorize({ ...good(), state: 'a'.repeat(128) })).status).toBe(302);
  });

  it('the exchange: openid per user, stable; the code once; WeChat\'s errcodes', async () => {
    const first = await exchange(q(await code()));
    expect(first).toMatchObject({ openid: sim.oauth.openid('visitor'), scope: 'snsapi_base', expires_in: 7200 });
    expect(String(first.openid)).toMatch(/^o[A-Za-z0-9_-]{27}$/);
    expect((await exchange(q(await code()))).openid).toBe(first.openid);
    // The browser's user cookie, then the control API, choose the simulated WeChat user.
    expect((await exchange(q(await code({ 'user-agent': UA, cookie: 'paysim_wechat_user=li' })))).openid).toBe(sim.oauth.openid('li'));
    const put = await fetch(`${sim.baseUrl}/sim/wechat/oauth/user`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'wang' }) });
    expect(((await put.json()) as { openid: string }).openid).toBe(sim.oauth.openid('wang'));
    expect((await exchange(q(await code()))).openid).toBe(sim.oauth.openid('wang'));
    expect(sim.oauth.openid('wang')).not.toBe(sim.oauth.openid('li'));

    const c = await code();
    expect((await exchange(q(c, { secret: 'f'.repeat(32) }))).errcode).toBe(40125);
    expect((await exchange(q(c, { appid: 'wx0000' }))).errcode).toBe(40013);
    expect((await exchange(q(c, { grant_type: 'client_credential' }))).errcode).toBe(40002);
    expect((await exchange(q(''))).errcode).toBe(41008);
    expect((await exchange(q('0'.repeat(32)))).errcode).toBe(40029);
    // The refusals above did not spend it; the first exchange does, the second is 40163.
    expect((await exchange(q(c))).openid).toBeDefined();
    const used = await exchange(q(c));
    expect(used.errcode).toBe(40163);
    expect(String(used.errmsg)).toMatch(/^code been used, rid: /);
  });

  it('a code lives 5 minutes on the simulator\'s clock', async () => {
    const c = await code();
    const d = await code();
    offset += OAUTH_CODE_TTL_MS - 1000;
    expect((await exchange(q(c))).openid).toBeDefined();
    offset += 2000;
    expect((await exchange(q(d))).errcode).toBe(40029);
  });
});
