// Builds the staff dashboard's browser code (web/dashboard) into dist/web with esbuild:
// dashboard.js (one IIFE bundle, ES2017 for older phone browsers), dashboard.css and the page
// template index.html the server fills in. Run by `npm run build` after `tsc -b` and the
// type-check of web/ (tsc -p web); the server reads these files (src/modules/dashboard/assets.ts).
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = `${root}web/dashboard/`;
const out = `${root}dist/web/`;

await mkdir(out, { recursive: true });
await build({
  // main.ts imports dashboard.css: esbuild writes it beside the script as dashboard.css.
  entryPoints: { dashboard: `${src}main.ts` },
  outdir: out,
  entryNames: '[name]',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2017',
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  absWorkingDir: root,
});
await copyFile(`${src}index.html`, `${out}index.html`);
