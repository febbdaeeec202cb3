/**
 * The visitor booking page, `GET /book/{site}`: a small server-rendered shell (web/booking/
 * index.html filled in with the page's language, the site, the labels it shows before the
 * script runs, the asset URLs with their SRI hashes and a fresh script nonce) and its built
 * script and style sheet under /book/assets/ — immutable for their `?v=` content hash, and
 * sent brotli- or gzip-compressed when the browser takes it (compressed once, at first use):
 * the page must load over a slow 3G link (docs/booking.md, bench/booking-page.js). Public: the
 * shell holds nothing but the site id; everything else comes from /v1/book/{site}/… .
 */
import { pickLang, type Lang } from '../../core/i18n.js';
import { refusalBody } from '../../core/http/refusals.js';
import { assetResponse, fillTemplate, newNonce, pageCsp, pageHeaders, webBundle } from '../../core/http/web-assets.js';
import type { CloudApp } from '../../core/module.js';
import { BOOK_TEXT, isBookTextKey } from './page-text.js';

const ASSETS = ['booking.js', 'booking.css'] as const;
export type BookingAssetName = (typeof ASSETS)[number];

/** The page's built files (dist/web/booking.{js,css} and the template booking.html). */
export const bookingAssets = webBundle('booking page', 'booking.html', ASSETS);

export function isBookingAsset(name: string): name is BookingAssetName {
  return (ASSETS as readonly string[]).includes(name);
}

/** Where the server serves the built script and style sheet. */
export const BOOKING_ASSET_PATH = '/book/assets/';

export function bookingAssetUrl(name: BookingAssetName): string {
  return `${BOOKING_ASSET_PATH}${name}?v=${bookingAssets().files[name].version}`;
}

export interface BookingPage {
  html: string;
  /** The Content-Security-Policy header's policy (the page also carries it in a meta tag). */
  csp: string;
}

/** `today`: the park's date now (YYYY-MM-DD), so the shell can preload that day's availability. */
export function bookingPage(opts: { site: string; today: string; lang?: Lang }): BookingPage {
  const lang = opts.lang ?? 'zh-CN';
  const { template, files } = bookingAssets();
  const nonce = newNonce();
  const csp = pageCsp(nonce);
  const values: Record<string, string> = {
    lang,
    otherLang: lang === 'en' ? 'zh-CN' : 'en',
    site: opts.site,
    today: opts.today,
    infoUrl: `/v1/book/${encodeURIComponent(opts.site)}/info`,
    availabilityUrl: `/v1/book/${encodeURIComponent(opts.site)}/availability?date=${encodeURIComponent(opts.today)}`,
    csp,
    nonce,
    scriptUrl: bookingAssetUrl('booking.js'),
    scriptIntegrity: files['booking.js'].integrity,
    styleUrl: bookingAssetUrl('booking.css'),
    styleIntegrity: files['booking.css'].integrity,
  };
  const html = fillTemplate(
    template,
    (name) => {
      if (!name.startsWith('t:')) return values[name];
      const key = name.slice(2);
      return isBookTextKey(key) ? BOOK_TEXT[lang][key] : undefined;
    },
    'booking',
  );
  return { html, csp };
}

export interface BookingPageRoutesOptions {
  /** Whether the site has a booking page (a booking channel); other sites' pages are 404. */
  hasBookingPage(site: string): boolean;
  /** The site's date now, in its time zone (YYYY-MM-DD). */
  today(site: string): string;
}

/**
 * `GET /book/{site}` (the shell; `?lang=en` for English, zh-CN by default) and
 * `GET /book/assets/{booking.js|booking.css}`. For the booking module's routes().
 */
export function bookingPageRoutes(app: CloudApp, opts: BookingPageRoutesOptions): void {
  // Before /book/{site}: a file name has a dot, a site id never does.
  app.get('/book/assets/:file{[a-z]+\\.(?:js|css)}', (c) => {
    const name = c.req.param('file');
    if (!isBookingAsset(name)) return c.json({ error: 'not_found' }, 404);
    return assetResponse(c, bookingAssets().files[name]);
  });
  app.get('/book/:site', (c) => {
    const site = c.req.param('site');
    if (!opts.hasBookingPage(site)) return c.json(refusalBody('unknown_site', `no booking page for site ${site}`), 404);
    const page = bookingPage({ site, today: opts.today(site), lang: pickLang(c.req.query('lang')) });
    return c.html(page.html, 200, pageHeaders(page.csp));
  });
}
