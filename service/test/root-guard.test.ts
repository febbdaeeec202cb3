import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { guardRoot, rootVerdict } from '../src/root-guard.js';

const bin = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const DAEMONS = [
  ['stile-gate', bin('gate-agent/bin/stile-gate.js')],
  ['stile-kiosk', bin('kiosk-agent/bin/stile-kiosk.js')],
  ['stile-announcer', bin('announcer/bin/stile-announcer.js')],
  ['stile-cloud', bin('cloud-bridge/bin/stile-cloud.js')],
] as const;
const REFUSAL = /^stile-[a-z]+: refusing to run as root under systemd: run it as the stile user: the unit's User=stile; see docs\/install\.md/;

describe('the root guard (pure)', () => {
  it('refuses root under systemd, unless STILE_ALLOW_ROOT=1, and only warns by hand', () => {
    expect(rootVerdict('stile-gate', { uid: 0, env: { INVOCATION_ID: 'abc' } })).toMatchObject({ action: 'refuse', line: expect.stringMatching(REFUSAL) });
    expect(rootVerdict('stile-gate', { uid: 0, env: { INVOCATION_ID: 'abc', STILE_ALLOW_ROOT: '1' } })).toMatchObject({ action: 'warn', line: /STILE_ALLOW_ROOT=1/ });
    expect(rootVerdict('stile-gate', { uid: 0, env: {} })).toMatchObject({ action: 'warn', line: /running as root; .*chown -R stile:stile \/var\/lib\/stile/ });
    expect(rootVerdict('stile-gate', { uid: 0, env: { STILE_ALLOW_ROOT: '1' } })).toEqual({ action: 'ok' });
    expect(rootVerdict('stile-gate', { uid: 998, env: { INVOCATION_ID: 'abc' } })).toEqual({ action: 'ok' });
    expect(rootVerdict('stile-gate', { uid: undefined, env: { INVOCATION_ID: 'abc' } })).toEqual({ action: 'ok' });
    // Only "1" overrides: a typo does not silently run as root.
    expect(rootVerdict('stile-gate', { uid: 0, env: { INVOCATION_ID: 'abc', STILE_ALLOW_ROOT: 'yes' } })).toMatchObject({ action: 'refuse' });
  });

  it('writes the refusal to stderr and hands a warning back for the log', () => {
    const err: string[] = [];
    expect(guardRoot('stile-kiosk', { uid: 0, env: { INVOCATION_ID: 'x' } }, (l) => err.push(l))).toEqual({ ok: false });
    expect(err).toEqual([expect.stringMatching(REFUSAL)]);
    expect(guardRoot('stile-kiosk', { uid: 0, env: {} }, (l) => err.push(l))).toMatchObject({ ok: true, warning: /running as root/ });
    expect(err).toHaveLength(1);
  });
});

// The tests run as root, as a unit without User=stile would.
describe.skipIf(process.getuid?.() !== 0)('each daemon, started as root', () => {
  const envWith = (extra: Record<string, string>): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
    delete env.NOTIFY_SOCKET;
    if (!('STILE_ALLOW_ROOT' in extra)) delete env.STILE_ALLOW_ROOT;
    return env;
  };

  it.each(DAEMONS)('%s refuses under systemd (INVOCATION_ID set) with one line naming the fix, before reading its config', (name, path) => {
    const r = spawnSync(process.execPath, [path, '--config', '/nonexistent/stile.yaml'], { env: envWith({ INVOCATION_ID: '0123456789abcdef' }), encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^${name}: refusing to run as root under systemd`))]);
    expect(r.stderr).toMatch(REFUSAL);
  });

  it.each(DAEMONS)('%s passes the guard with STILE_ALLOW_ROOT=1 (and goes on to read its config)', (_name, path) => {
    const r = spawnSync(process.execPath, [path, '--config', '/nonexistent/stile.yaml'], { env: envWith({ INVOCATION_ID: '0123456789abcdef', STILE_ALLOW_ROOT: '1' }), encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/refusing to run as root/);
    expect(r.stderr).toMatch(/nonexistent\/stile\.yaml/);
    expect(r.status).not.toBe(0);
  });
});
