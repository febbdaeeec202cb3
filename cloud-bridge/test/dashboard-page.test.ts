import { describe, expect, it } from 'vitest';
import { DASHBOARD_TEXT, dashboardHtml } from '../src/dashboard/page.js';

/** The inline scripts of a page, in order. */
function scripts(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1] ?? '');
}

describe('dashboard page', () => {
  it('declares the page language', () => {
    expect(dashboardHtml({ site: 'demo', lang: 'zh-CN' })).toMatch(/<html lang="zh-CN">/);
    expect(dashboardHtml({ site: 'demo', lang: 'en' })).toMatch(/<html lang="en">/);
    expect(dashboardHtml({ site: 'demo' })).toMatch(/<html lang="(zh-CN|en)">/);
  });

  it('loads nothing from elsewhere', () => {
    for (const lang of ['zh-CN', 'en'] as const) {
      const html = dashboardHtml({ site: 'demo', lang });
      // No src/href (script, link, img, iframe…) and no CSS url()/@import pointing at another origin.
      expect(html).not.toMatch(/\b(src|href|action|poster|data)\s*=\s*["']?\s*(https?:)?\/\//i);
      expect(html).not.toMatch(/url\(\s*["']?\s*(https?:)?\/\//i);
      expect(html).not.toMatch(/@import/i);
      expect(html).not.toMatch(/<script\b[^>]*\bsrc\s*=/i);
      expect(html).not.toMatch(/<link\b(?![^>]*href="data:)[^>]*>/i);
      expect(html).toContain('<noscript>');
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

  it('has one inline script that parses', () => {
    for (const lang of ['zh-CN', 'en'] as const) {
      const found = scripts(dashboardHtml({ site: 'demo', lang }));
      expect(found).toHaveLength(1);
      expect(() => new Function(found[0]!)).not.toThrow();
    }
  });

  it('carries the elements and data attributes the browser test relies on', () => {
    const html = dashboardHtml({ site: 'demo', lang: 'en' });
    for (const id of ['capacity', 'admitted', 'gates', 'channels', 'entries-chart', 'alerts', 'conflicts', 'conn-badge', 'auth-error', 'report-date', 'report-html', 'report-csv', 'report-link'])
      expect(html, id).toContain(`id="${id}"`);
    expect(html).toContain('data-lang="zh-CN"');
    expect(html).toContain('data-lang="en"');
    const script = scripts(html)[0]!;
    for (const s of ["'data-gate'", "'data-channel'", "'data-action'", '__stileDashboard', "'data-level'", "'/dashboard/stream'", 'getReader()', 'createObjectURL'])
      expect(script, s).toContain(s);
  });

  it('never puts the staff token in a URL: no EventSource, no ?token=', () => {
    const script = scripts(dashboardHtml({ site: 'demo', lang: 'en' }))[0]!;
    expect(script).not.toContain('EventSource(');
    expect(script).not.toMatch(/[?&]token=/);
    // The token is read from the fragment and sent only as a header.
    expect(script).toContain("Authorization: 'Bearer ' + token");
  });

  it('keeps a hostile site name inert', () => {
    const site = '</script><img src=x onerror=alert(1)>"\'&<!--';
    const html = dashboardHtml({ site, lang: 'en' });
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('</script><img');
    const found = scripts(html);
    expect(found).toHaveLength(1);
    expect(() => new Function(found[0]!)).not.toThrow();
    // The script still knows the real site name (JSON-escaped, not mangled).
    const config = /var CONFIG = (\{[\s\S]*?\});\n/.exec(found[0]!)?.[1];
    expect(config).toBeDefined();
    expect((JSON.parse(config!) as { site: string }).site).toBe(site);
  });

  it('uses a fresh script nonce each time', () => {
    const nonce = (html: string) => /<script nonce="([^"]+)">/.exec(html)?.[1];
    const a = dashboardHtml({ site: 'demo' });
    expect(nonce(a)).toBeTruthy();
    expect(a).toContain(`'nonce-${nonce(a)}'`);
    expect(nonce(dashboardHtml({ site: 'demo' }))).not.toBe(nonce(a));
  });
});
