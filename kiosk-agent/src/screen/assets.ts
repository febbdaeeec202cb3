/**
 * The page's built files (kiosk-agent/dist/web, written by scripts/build-screen.mjs during
 * `npm run build`): read once, each with its SRI hash and a content version for `?v=`, and
 * the shell filled in with escaped values. The same scheme as cloud-bridge's
 * core/http/web-assets.ts, without hono.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Two levels up from this file both as src/screen/*.ts and dist/screen/*.js. */
const DIR = new URL('../../dist/web/', import.meta.url);

export interface Asset {
  body: Buffer;
  contentType: string;
  integrity: string;
  version: string;
}

export interface ScreenAssets {
  template: string;
  script: Asset;
  style: Asset;
}

export function read(name: string, contentType: string): Asset {
  const body = readFileSync(new URL(name, DIR));
  return {
    body,
    contentType,
    integrity: `sha384-${createHash('sha384').update(body).digest('base64')}`,
    version: createHash('sha256').update(body).digest('hex').slice(0, 16),
  };
}

/** The built page; throws, saying what to run, when it is not built. */
export function loadScreenAssets(): ScreenAssets {
  try {
    return {
      template: readFileSync(new URL('kiosk.html', DIR), 'utf8'),
      script: read('kiosk.js', 'text/javascript; charset=utf-8'),
      style: read('kiosk.css', 'text/css; charset=utf-8'),
    };
  } catch (err) {
    throw new Error(`the kiosk screen page is not built (${decodeURIComponent(DIR.pathname)}: ${(err as Error).message}): run npm run build`, { cause: err });
  }
}

export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/** Its one script by nonce (and SRI), styles and requests from this server only, no framing, no forms. */
export function screenCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The shell with every `{{name}}` replaced, HTML-escaped; an unknown name throws (template and server out of step). */
export function fillShell(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([a-zA-Z]+)\}\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`kiosk screen template: unknown placeholder {{${name}}}`);
    return v.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
  });
}
