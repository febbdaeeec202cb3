// Builds the browser code under web/ into dist/web with esbuild, one bundle per page:
//  - the staff dashboard (web/dashboard): dashboard.js (one IIFE bundle, ES2017 for older phone
//    browsers), dashboard.css and the page template index.html;
//  - the public entrance screen (web/screen): screen.js (ES2015: TVs and LED boards run old
//    browsers), screen.css and the page template screen.html;
//  - the visitor booking page (web/booking): booking.js (ES2017: WeChat's and Alipay's in-app
//    browsers), booking.css and the page template booking.html.
// Run by `npm run build` after `tsc -b` and the type-check of web/ (tsc -p web); the server reads
// these files (src/modules/dashboard/assets.ts, src/core/http/web-assets.ts).
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/web/`;

const PAGES = [
  // main.ts imports the page's style sheet: esbuild writes it beside the script under the same name.
  { name: 'dashboard', dir: 'web/dashboard/', target: 'es2017', template: 'index.html' },
  { name: 'screen', dir: 'web/screen/', target: 'es2015', template: 'screen.html' },
  { name: 'booking', dir: 'web/booking/', target: 'es2017', template: 'booking.html' },
];

await mkdir(out, { recursive: true });
for (const page of PAGES) {
  await build({
    entryPoints: { [page.name]: `${root}${page.dir}main.ts` },
    outdir: out,
    entryNames: '[name]',
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: page.target,
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'warning',
    absWorkingDir: root,
  });
  await copyFile(`${root}${page.dir}index.html`, `${out}${page.template}`);
}
