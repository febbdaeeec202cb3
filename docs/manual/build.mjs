#!/usr/bin/env node
/**
 * The operations manual as PDF: docs/manual/<lang>/NN-*.md → one HTML page per language
 * (marked, GitHub-flavoured Markdown) with an A4 print style → Chromium (playwright-core)
 * prints it to docs/manual/stile-manual-<lang>.pdf.
 *
 *   npm run manual                      # both languages
 *   node docs/manual/build.mjs --lang en --html /tmp/manual   # one language, and keep the HTML
 *
 * Needs a CJK font (Debian: fonts-noto-cjk) and a Chromium: $STILE_CHROMIUM, else the system's
 * (/usr/bin/chromium, Debian's package), else the one in the @sparticuz/chromium npm package
 * (a devDependency of cloud-bridge), the same order as the browser tests use.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Marked } from 'marked';

const MANUAL = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(MANUAL, '../..');

/** What differs per language: the cover, the table of contents' title, the footer. */
export const LANGS = {
  'zh-CN': {
    htmlLang: 'zh-CN',
    title: 'Stile 运维手册',
    subtitle: '景区票务与闸机系统：安装、配置、日常操作、告警、故障排查、培训与分期上线',
    contents: '目录',
    source: '本手册由 docs/manual/zh-CN/*.md 生成（npm run manual）。',
    footer: 'Stile 运维手册',
  },
  en: {
    htmlLang: 'en',
    title: 'Stile operations manual',
    subtitle: 'Ticketing and gate control for a park: installation, configuration, daily routines, alerts, troubleshooting, training and phased rollout',
    contents: 'Contents',
    source: 'Generated from docs/manual/en/*.md (npm run manual).',
    footer: 'Stile operations manual',
  },
};

class BuildError extends Error {}

/** The chapter files of one language, in order: NN-name.md. */
export function chapterFiles(lang) {
  const dir = join(MANUAL, lang);
  return readdirSync(dir)
    .filter((f) => /^\d\d-[a-z0-9-]+\.md$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

const escapeHtml = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** "2.2 Provisioning a device" → "s2-2-provisioning-a-device"; Chinese kept (a valid id in HTML). */
function slug(text) {
  const s = text
    .toLowerCase()
    .replace(/<[^>]*>/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  return `s${s}`;
}

/**
 * One language's chapters as HTML. Links to other files of the repository become their path in
 * print (a PDF cannot follow them); links inside the manual stay links; images are absolute
 * file URLs so the page can be opened from anywhere.
 */
export function renderLanguage(lang) {
  const files = chapterFiles(lang);
  if (files.length === 0) throw new BuildError(`no chapters in ${join(MANUAL, lang)}`);
  const toc = [];
  const chapters = files.map((file) => {
    const md = readFileSync(file, 'utf8');
    if (/INSTALL_COMMANDS/.test(md)) throw new BuildError(`${relative(REPO, file)}: the install commands are still a placeholder`);
    const here = dirname(file);
    const marked = new Marked({ gfm: true });
    marked.use({
      renderer: {
        heading({ tokens, depth }) {
          const inner = this.parser.parseInline(tokens);
          const id = slug(inner);
          if (depth <= 2) toc.push({ depth, id, text: inner });
          return `<h${depth} id="${id}">${inner}</h${depth}>\n`;
        },
        link({ href, tokens }) {
          const text = this.parser.parseInline(tokens);
          if (/^[a-z]+:/i.test(href)) return `<a href="${escapeHtml(href)}">${text}</a>`;
          if (href.startsWith('#')) return `<a href="${escapeHtml(href)}">${text}</a>`;
          const [path] = href.split('#');
          const target = relative(REPO, resolve(here, path));
          const plain = text.replace(/<[^>]*>/g, '');
          return plain === target ? `<span class="ref">${text}</span>` : `${text} <span class="ref">(${escapeHtml(target)})</span>`;
        },
        codespan({ text }) {
          // Break long paths and names only after / . _ = (a table column stays narrow without cutting words).
          return `<code>${escapeHtml(text).replace(/([/._=])(?=[^/._=])/g, '$1<wbr>')}</code>`;
        },
        image({ href, text }) {
          const src = pathToFileURL(resolve(here, href)).href;
          return `<figure><img src="${src}" alt="${escapeHtml(text)}"><figcaption>${escapeHtml(text)}</figcaption></figure>`;
        },
      },
    });
    return `<section class="chapter">\n${marked.parse(md)}</section>`;
  });
  return { chapters, toc };
}

function page(lang, { chapters, toc }) {
  const t = LANGS[lang];
  const tocHtml = toc.map((e) => `<li class="toc-${e.depth}"><a href="#${e.id}">${e.text}</a></li>`).join('\n');
  return `<!doctype html>
<html lang="${t.htmlLang}">
<head>
<meta charset="utf-8">
<title>${escapeHtml(t.title)}</title>
<style>${readFileSync(join(MANUAL, 'print.css'), 'utf8')}</style>
</head>
<body>
<section class="cover">
  <h1 class="title">${escapeHtml(t.title)}</h1>
  <p class="subtitle">${escapeHtml(t.subtitle)}</p>
  <p class="source">${escapeHtml(t.source)}</p>
</section>
<nav class="toc"><h2>${escapeHtml(t.contents)}</h2><ul>${tocHtml}</ul></nav>
${chapters.join('\n')}
</body>
</html>
`;
}

/** Fail early, in words, when the PDF would show boxes for every Chinese character. */
function requireCjkFont() {
  let families;
  try {
    families = execFileSync('fc-list', [':lang=zh', 'family'], { encoding: 'utf8' });
  } catch {
    throw new BuildError('fc-list (fontconfig) is not installed, so no CJK font can be found: apt-get install fontconfig fonts-noto-cjk');
  }
  if (!families.trim()) throw new BuildError('no font with Chinese glyphs is installed (fc-list :lang=zh is empty): apt-get install fonts-noto-cjk');
}

const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'];
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function launch() {
  const { chromium } = await import('playwright-core');
  const wanted = process.env.STILE_CHROMIUM;
  if (wanted && wanted !== 'npm') {
    if (!existsSync(wanted)) throw new BuildError(`STILE_CHROMIUM=${wanted} does not exist`);
    return chromium.launch({ executablePath: wanted, args: ['--headless', ...ARGS] });
  }
  const system = wanted === 'npm' ? undefined : SYSTEM_CHROMIUMS.find((p) => existsSync(p));
  if (system) return chromium.launch({ executablePath: system, args: ['--headless', ...ARGS] });
  let packaged;
  try {
    packaged = (await import('@sparticuz/chromium')).default;
  } catch {
    throw new BuildError('no Chromium: apt-get install chromium, or set STILE_CHROMIUM=/path/to/chrome (npm install brings @sparticuz/chromium as a fallback)');
  }
  // The packaged headless shell reads only its own fonts unless pointed at the system's.
  if (!process.env.FONTCONFIG_PATH && existsSync('/etc/fonts/fonts.conf')) process.env.FONTCONFIG_PATH = '/etc/fonts';
  return chromium.launch({ executablePath: await packaged.executablePath(), args: ['--headless=shell', '--no-zygote', ...ARGS] });
}

async function main() {
  const { values } = parseArgs({ options: { lang: { type: 'string', multiple: true }, html: { type: 'string' }, out: { type: 'string' } } });
  const langs = values.lang ?? Object.keys(LANGS);
  for (const l of langs) if (!LANGS[l]) throw new BuildError(`unknown language ${l} (known: ${Object.keys(LANGS).join(', ')})`);
  requireCjkFont();
  const outDir = values.out ? resolve(values.out) : MANUAL;
  const htmlDir = values.html ? resolve(values.html) : mkdtempSync(join(tmpdir(), 'stile-manual-'));
  mkdirSync(htmlDir, { recursive: true });
  const browser = await launch();
  try {
    for (const lang of langs) {
      const htmlFile = join(htmlDir, `stile-manual-${lang}.html`);
      writeFileSync(htmlFile, page(lang, renderLanguage(lang)));
      const tab = await browser.newPage();
      await tab.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
      await tab.evaluate('document.fonts.ready');
      const pdf = join(outDir, `stile-manual-${lang}.pdf`);
      await tab.pdf({
        path: pdf,
        format: 'A4',
        printBackground: true,
        displayHeaderFooter: true,
        headerTemplate: '<span></span>',
        footerTemplate: `<div style="width:100%;font-size:7.5pt;color:#666;text-align:center;font-family:'Noto Sans CJK SC',sans-serif">${escapeHtml(LANGS[lang].footer)} · <span class="pageNumber"></span> / <span class="totalPages"></span></div>`,
        margin: { top: '16mm', bottom: '18mm', left: '15mm', right: '15mm' },
      });
      await tab.close();
      process.stdout.write(`${relative(process.cwd(), pdf)}\n`);
    }
  } finally {
    await browser.close();
    if (!values.html) rmSync(htmlDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`manual: ${err instanceof BuildError ? err.message : (err?.stack ?? String(err))}\n`);
    process.exit(1);
  });
}
