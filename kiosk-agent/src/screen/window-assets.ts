/** The staff window page's built files (dist/web/window.*, scripts/build-screen.mjs), as assets.ts reads the kiosk's. */
import { readFileSync } from 'node:fs';
import { read, type ScreenAssets } from './assets.js';

export function loadWindowAssets(): ScreenAssets {
  try {
    return {
      template: readFileSync(new URL('../../dist/web/window.html', import.meta.url), 'utf8'),
      script: read('window.js', 'text/javascript; charset=utf-8'),
      style: read('window.css', 'text/css; charset=utf-8'),
    };
  } catch (err) {
    throw new Error(`the staff window page is not built (${(err as Error).message}): run npm run build`, { cause: err });
  }
}
