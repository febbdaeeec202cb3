// Builds the kiosk's touchscreen page (web/) and the staff window page (web/window*) into dist/web with esbuild: kiosk.js (one IIFE
// bundle; the kiosk runs a current Chromium, so ES2020), kiosk.css and the page template
// kiosk.html. Run by `npm run build` after `tsc -b` and the type-check of web/ (tsc -p web);
// the daemon's screen server reads these files (src/screen/assets.ts).
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/web/`;

await mkdir(out, { recursive: true });
// main.ts imports the style sheet: esbuild writes it beside the script under the same name.
await build({
  entryPoints: { kiosk: `${root}web/main.ts`, window: `${root}web/window-main.ts` },
  outdir: out,
  entryNames: '[name]',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  absWorkingDir: root,
});
await copyFile(`${root}web/index.html`, `${out}kiosk.html`);
// The staff window page (kiosk.mode: window), same scheme: window.js, window.css, window.html.
await copyFile(`${root}web/window.html`, `${out}window.html`);
