import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DashboardModel } from '../src/modules/dashboard/model.js';
import { DASHBOARD_TEXT, dashboardAssetUrl, dashboardHtml, dashboardPage } from '../src/modules/dashboard/page.js';
import { channelState } from '../web/dashboard/channel-state.js';

// The page needs the built browser code (cloud-bridge/dist/web): `npm test` builds first; alone, run `npm run build`.

/** The page's browser code as written (web/dashboard/**\/*.ts), every file. */
function clientSources(): string {
  const dir = new URL('../web/dashboard/', import.meta.url);
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  expect(files.length).toBeGreaterThan(5);
  return files.map((f) => readFileSync(new URL(f, dir), 'utf8')).join('\n');
}

const scriptTags = (html: string) => [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => ({ attrs: m[1] ?? '', body: m[2] ?? '' }));
const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

describe('dashboard page', () => {
  it('declares the page language', () => {
    expect(dashboardHtml({ site: 'demo', lang: 'zh-CN' })).toMatch(/<html lang="zh-CN">/);
    expect(dashboardHtml({ site: 'demo', lang: 'en' })).toMatch(/<html lang="en">/);
    expect(dashboardHtml({ site: 'demo' })).toMatch(/<html lang="(zh-CN|en)">/);
  });

  it('loads nothing from elsewhere, and nothing inline', () => {
    for (const lang of ['zh-CN', 'en'] as const) {
      const html = dashboardHtml({ site: 'demo', lang });
      // No src/href (script, link, img, iframe…) and no CSS url()/@import pointing at another origin.
      expect(html).not.toMatch(/\b(src|href|action|poster|data)\s*=\s*["']?\s*(https?:)?\/\//i);
      expect(html).not.toMatch(/url\(\s*["']?\s*(https?:)?\/\//i);
      expect(html).not.toMatch(/@import/i);
      expect(html).not.toMatch(/<style\b/i);
      expect(html).not.toMatch(/\sstyle\s*=/i);
      expect(html).not.toMatch(/\son[a-z]+\s*=/i);
      // Its own script and style sheet from this server, pinned by SRI; no other link but the data: icon.
      const scripts = scriptTags(html);
      expect(scripts).toHaveLength(1);
      expect(scripts[0]!.body.trim()).toBe('');
      expect(scripts[0]!.attrs).toContain(`src="${dashboardAssetUrl('dashboard.js')}"`);
      expect(scripts[0]!.attrs).toMatch(/integrity="sha384-[A-Za-z0-9+/=]+"/);
      const links = html.match(/<link\b[^>]*>/gi) ?? [];
      expect(links.filter((l) => !l.includes('href="data:'))).toEqual([expect.stringMatching(new RegExp(`rel="stylesheet" href="${dashboardAssetUrl('dashboard.css').replace(/[?]/g, '\\?')}" integrity="sha384-`))]);
      expect(html).toContain('<noscript>');
      expect(html).not.toContain('{{');
    }
  });

  it('has the same keys, all non-empty, in both languages', () => {
    const zh = DASHBOARD_TEXT['zh-CN'];
    const en = DASHBOARD_TEXT.en;
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const table of [zh, en]) {
      for (const [key, value] of Object.entries(table)) {
        expect(typeof value, key).toBe('string');
        expect(value.trim(), key).not.toBe('');
      }
    }
    // The {placeholders} the page fills in match too.
    const holes = (s: string) => (s.match(/\{[a-z]+\}/g) ?? []).sort();
    for (const key of Object.keys(zh) as (keyof typeof zh)[]) expect(holes(en[key]), key).toEqual(holes(zh[key]));
  });

  it('translates the status words in Chinese', () => {
    const zh = DASHBOARD_TEXT['zh-CN'];
    for (const [key, value] of Object.entries(zh).filter(([k]) => /^(gateState_|deviceState_|capacityStop_|selling|pausedBy|online|offline|kind_|level)/.test(k)))
      expect(value, key).toMatch(/[\u4e00-\u9fff]/);
  });

  it('carries the elements and data attributes the browser test relies on', () => {
    const html = dashboardHtml({ site: 'demo', lang: 'en' });
    for (const id of ['capacity', 'admitted', 'gates', 'channels', 'entries-chart', 'alerts', 'conflicts', 'conn-badge', 'auth-error', 'cloud-health', 'report-date', 'report-html', 'report-csv', 'report-link'])
      expect(html, id).toContain(`id="${id}"`);
    expect(html).toContain('data-lang="zh-CN"');
    expect(html).toContain('data-lang="en"');
    const code = clientSources();
    for (const s of ["'data-gate'", "'data-channel'", "'data-action'", '__stileDashboard', "'data-level'", '/dashboard/stream`', 'getReader()', 'createObjectURL'])
      expect(code, s).toContain(s);
    // The bundle the page loads has them too (built from these sources).
    const bundle = readFileSync(new URL('../dist/web/dashboard.js', import.meta.url), 'utf8');
    for (const s of ['data-gate', 'data-channel', '__stileDashboard', '/dashboard/stream', 'getReader']) expect(bundle, s).toContain(s);
  });

  it('never puts the staff token in a URL: no EventSource, no ?token=', () => {
    const code = clientSources();
    expect(code).not.toContain('EventSource(');
    expect(code).not.toMatch(/[?&]token=/);
    // The token is read from the fragment and sent only as a header.
    expect(code).toContain("Authorization: 'Bearer ' + token");
  });

  it('keeps a hostile site name inert', () => {
    const site = '</script><img src=x onerror=alert(1)>"\'&<!--';
    const html = dashboardHtml({ site, lang: 'en' });
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('</script><img');
    expect(scriptTags(html)).toHaveLength(1);
    // The script still knows the real site name (from the escaped attribute, not mangled).
    const attr = /<body data-site="([^"]*)"/.exec(html)?.[1];
    expect(attr).toBeDefined();
    expect(unescape(attr!)).toBe(site);
  });

  it('uses a fresh script nonce each time, and a policy as strict as before', () => {
    const nonce = (html: string) => /<script [^>]*nonce="([^"]+)"/.exec(html)?.[1];
    const a = dashboardPage({ site: 'demo' });
    expect(nonce(a.html)).toBeTruthy();
    // The meta tag carries the same policy as the header (less frame-ancestors, which only a header can set).
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(a.html)?.[1];
    expect(`${unescape(meta!)}; frame-ancestors 'none'`).toBe(a.csp);
    expect(a.csp).toContain(`script-src 'nonce-${nonce(a.html)}';`);
    expect(a.csp).toContain("default-src 'none'");
    expect(a.csp).toContain("connect-src 'self'");
    expect(a.csp).toContain("frame-ancestors 'none'");
    expect(a.csp).not.toMatch(/script-src[^;]*('unsafe-|'self'|https?:|\*)/);
    expect(nonce(dashboardHtml({ site: 'demo' }))).not.toBe(nonce(a.html));
  });
});

describe('channel state on the dashboard', () => {
  const online = { paused: false, kind: 'online' as const };
  const kiosk = { paused: false, kind: 'kiosk' as const };
  it('is one of selling, paused by staff, stopped by capacity', () => {
    const cases: [Pick<DashboardModel['channels'][number], 'paused' | 'kind'>, DashboardModel['capacity']['level'], ReturnType<typeof channelState>][] = [
      [online, 'green', { state: 'selling' }],
      [online, 'yellow', { state: 'selling' }],
      [online, 'orange', { state: 'stopped', level: 'orange' }],
      [kiosk, 'orange', { state: 'selling' }],
      [online, 'red', { state: 'stopped', level: 'red' }],
      [kiosk, 'red', { state: 'stopped', level: 'red' }],
      [{ ...online, paused: true }, 'green', { state: 'paused' }],
      [{ ...kiosk, paused: true }, 'red', { state: 'paused' }],
    ];
    for (const [c, level, want] of cases) expect(channelState(c, level), `${c.kind} paused=${c.paused} at ${level}`).toEqual(want);
  });
});
