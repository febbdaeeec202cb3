/**
 * The staff dashboard page for one site. Its browser code lives in web/dashboard (TypeScript
 * and CSS, type-checked against {@link DashboardModel}, bundled by esbuild into dist/web); this
 * fills in the page template with the site, the labels in the page's language, the asset URLs
 * with their SRI hashes, and a fresh script nonce for the Content-Security-Policy.
 *
 * The page loads nothing but its own script and style sheet from the same server; no inline
 * script or style. The staff token stays in the URL fragment (see web/dashboard/main.ts).
 */
import { randomBytes } from 'node:crypto';
import { escapeHtml } from '../../core/html.js';
import { CloudError } from '../../core/errors.js';
import { dashboardAssets, type DashboardAssetName } from './assets.js';
import { DASHBOARD_TEXT, isTextKey, type DashboardLang } from './text.js';

export { DASHBOARD_TEXT, type DashboardLang, type TextKey } from './text.js';

/** Where the server serves the built script and style sheet. */
export const DASHBOARD_ASSET_PATH = '/dashboard/assets/';

/** The URL of a built asset, versioned by its content (so a phone never keeps an old one after an upgrade). */
export function dashboardAssetUrl(name: DashboardAssetName): string {
  return `${DASHBOARD_ASSET_PATH}${name}?v=${dashboardAssets().files[name].version}`;
}

/**
 * The page's Content-Security-Policy: its one script by nonce (and SRI), style sheets from
 * this server, requests only to this server. `'unsafe-inline'` styles are there for the daily
 * report the page opens from a `blob:` URL: such a document inherits this policy, and the
 * report is one self-contained HTML page with its own `<style>`. The dashboard has none.
 */
export function dashboardCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'`;
}

export interface DashboardPage {
  html: string;
  /** The policy for the Content-Security-Policy header (the page also carries it in a meta tag). */
  csp: string;
}

export function dashboardPage(opts: { site: string; lang?: DashboardLang }): DashboardPage {
  const lang: DashboardLang = opts.lang === 'en' ? 'en' : 'zh-CN';
  const { template, files } = dashboardAssets();
  const nonce = randomBytes(16).toString('base64');
  const csp = dashboardCsp(nonce);
  const values: Record<string, string> = {
    lang,
    langParam: opts.lang ?? '',
    site: opts.site,
    csp,
    nonce,
    'pressed:zh-CN': String(lang === 'zh-CN'),
    'pressed:en': String(lang === 'en'),
    scriptUrl: dashboardAssetUrl('dashboard.js'),
    scriptIntegrity: files['dashboard.js'].integrity,
    styleUrl: dashboardAssetUrl('dashboard.css'),
    styleIntegrity: files['dashboard.css'].integrity,
  };
  const html = template.replace(/\{\{([^{}]+)\}\}/g, (_m, name: string) => {
    const key = name.startsWith('t:') ? name.slice(2) : null;
    const value = key !== null ? (isTextKey(key) ? DASHBOARD_TEXT[lang][key] : undefined) : values[name];
    if (value === undefined) throw new CloudError('internal', `dashboard page template: unknown placeholder {{${name}}}`);
    return escapeHtml(value);
  });
  // frame-ancestors only works from the header: nobody frames the page (clickjacking the pause button).
  return { html, csp: `${csp}; frame-ancestors 'none'` };
}

/** The dashboard page's HTML (the server serves it at `GET /dashboard/{site}`, see {@link dashboardPage}). */
export function dashboardHtml(opts: { site: string; lang?: DashboardLang }): string {
  return dashboardPage(opts).html;
}
