/**
 * The entrance screen page for one site. Its browser code lives in web/screen (TypeScript and
 * CSS, type-checked against {@link ScreenModel}, bundled by esbuild into dist/web); this fills
 * in the page template (web/screen/index.html) with the site, the labels, the asset URLs with
 * their SRI hashes and a fresh script nonce for the Content-Security-Policy. No inline script
 * or style; nothing loaded from elsewhere.
 */
import { fillTemplate, newNonce, pageCsp, webBundle } from '../../core/http/web-assets.js';
import { SCREEN_TEXT, isScreenTextKey, type ScreenLang } from './text.js';

export type { ScreenModel } from './model.js';

/** Both languages at once (the default: a screen has nobody to switch it), or one (`?lang=`, small LED boards). */
export type ScreenMode = 'both' | ScreenLang;

const ASSETS = ['screen.js', 'screen.css'] as const;
export type ScreenAssetName = (typeof ASSETS)[number];

/** The screen's built files (dist/web/screen.{js,css} and the template screen.html). */
export const screenAssets = webBundle('entrance screen', 'screen.html', ASSETS);

export function isScreenAsset(name: string): name is ScreenAssetName {
  return (ASSETS as readonly string[]).includes(name);
}

/** Where the server serves the built script and style sheet. */
export const SCREEN_ASSET_PATH = '/screen/assets/';

/** The URL of a built asset, versioned by its content. */
export function screenAssetUrl(name: ScreenAssetName): string {
  return `${SCREEN_ASSET_PATH}${name}?v=${screenAssets().files[name].version}`;
}

export function screenMode(lang: string | undefined): ScreenMode {
  return lang === 'zh-CN' || lang === 'en' ? lang : 'both';
}

export interface ScreenPage {
  html: string;
  /** The policy for the Content-Security-Policy header (the page also carries it in a meta tag). */
  csp: string;
}

export function screenPage(opts: { site: string; mode?: ScreenMode }): ScreenPage {
  const mode = opts.mode ?? 'both';
  const { template, files } = screenAssets();
  const nonce = newNonce();
  const csp = pageCsp(nonce);
  const values: Record<string, string> = {
    lang: mode === 'en' ? 'en' : 'zh-CN',
    mode,
    site: opts.site,
    csp,
    nonce,
    scriptUrl: screenAssetUrl('screen.js'),
    scriptIntegrity: files['screen.js'].integrity,
    styleUrl: screenAssetUrl('screen.css'),
    styleIntegrity: files['screen.css'].integrity,
  };
  const html = fillTemplate(
    template,
    (name) => {
      const m = /^(zh|en):(.+)$/.exec(name);
      if (!m) return values[name];
      const key = m[2]!;
      return isScreenTextKey(key) ? SCREEN_TEXT[m[1] === 'zh' ? 'zh-CN' : 'en'][key] : undefined;
    },
    'entrance screen',
  );
  return { html, csp };
}
