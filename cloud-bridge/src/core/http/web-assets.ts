/**
 * Built browser code (cloud-bridge/dist/web, written by scripts/build-dashboard.mjs during
 * `npm run build`) and how the server serves it, for any page that has some: each bundle's
 * files read once with their SRI hashes and content versions, a page template filled in with
 * escaped values, a strict Content-Security-Policy with a fresh nonce, and the asset answer
 * (immutable for its `?v=<content hash>`, `no-cache` otherwise, with an ETag), brotli- or
 * gzip-compressed when the browser takes it (compressed once per file, at first use): a
 * phone on 3G loads the booking page's script in a third of the bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import type { Context } from 'hono';
import { CloudError } from '../errors.js';
import { escapeHtml } from '../html.js';

/** Where the build puts them: three levels up from this file both as src/core/http/*.ts and dist/core/http/*.js. */
const DIR = new URL('../../../dist/web/', import.meta.url);

export interface WebAsset {
  body: Buffer;
  contentType: string;
  /** `sha384-…`, for the page's integrity attribute. */
  integrity: string;
  /** A short content hash: the `?v=` of the asset's URL, and its ETag. */
  version: string;
}

export interface WebBundle<N extends string> {
  /** The page template with its `{{…}}` placeholders. */
  template: string;
  files: Record<N, WebAsset>;
}

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

function readAsset(name: string): WebAsset {
  const body = readFileSync(new URL(name, DIR));
  return {
    body,
    contentType: TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
    integrity: `sha384-${createHash('sha384').update(body).digest('base64')}`,
    version: createHash('sha256').update(body).digest('hex').slice(0, 16),
  };
}

/**
 * A bundle's built files, read on first use and kept; the getter throws, saying what to run,
 * when they are not there.
 */
export function webBundle<N extends string>(what: string, template: string, names: readonly N[]): () => WebBundle<N> {
  let loaded: WebBundle<N> | null = null;
  return () => {
    if (loaded) return loaded;
    try {
      const files = Object.fromEntries(names.map((n) => [n, readAsset(n)])) as Record<N, WebAsset>;
      loaded = { template: readFileSync(new URL(template, DIR), 'utf8'), files };
    } catch (err) {
      throw new CloudError('internal', `the ${what}'s browser code is not built (${decodeURIComponent(DIR.pathname)}: ${(err as Error).message}): run npm run build`, {}, { cause: err });
    }
    return loaded;
  };
}

function plainAssetResponse(c: Context, a: WebAsset, encoding: Encoding | null): Response {
  // Each encoding is its own representation, so its own strong ETag.
  const etag = encoding ? `"${a.version}-${encoding}"` : `"${a.version}"`;
  const headers: Record<string, string> = {
    'content-type': a.contentType,
    etag,
    'cache-control': c.req.query('v') === a.version ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  };
  if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
  return c.body(new Uint8Array(a.body), 200, headers);
}

type Encoding = 'br' | 'gzip';
const compressed = new Map<WebAsset, Record<Encoding, Buffer>>();

/** The asset's compressed forms, made once per built file. */
function encodings(a: WebAsset): Record<Encoding, Buffer> {
  let e = compressed.get(a);
  if (!e) {
    e = {
      br: brotliCompressSync(a.body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: a.body.length } }),
      gzip: gzipSync(a.body, { level: 9 }),
    };
    compressed.set(a, e);
  }
  return e;
}

/** The encoding to send: brotli, then gzip, when the browser lists it (q=0 means no). */
export function pickEncoding(acceptEncoding: string | undefined): Encoding | null {
  const offered = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find(Boolean);
    if (name) offered.set(name, q ? Number(q[1]) : 1);
  }
  for (const enc of ['br', 'gzip'] as const) if ((offered.get(enc) ?? 0) > 0) return enc;
  return null;
}

/** A built asset's answer: immutable when asked for with its own `?v=`, revalidated (ETag) otherwise; compressed when the browser takes it. */
export function assetResponse(c: Context, a: WebAsset): Response {
  const enc = pickEncoding(c.req.header('accept-encoding'));
  const res = plainAssetResponse(c, enc ? { ...a, body: encodings(a)[enc] } : a, enc);
  res.headers.set('vary', 'accept-encoding');
  if (enc && res.status === 200) res.headers.set('content-encoding', enc);
  return res;
}

/**
 * A page's Content-Security-Policy: its one script by nonce (and SRI), style sheets from this
 * server only, requests only to this server, no framing. `inlineStyles` adds
 * `'unsafe-inline'` styles for a page that opens documents with their own `<style>`.
 */
export function pageCsp(nonce: string, opts: { inlineStyles?: boolean } = {}): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'${opts.inlineStyles ? " 'unsafe-inline'" : ''}; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'`;
}

/** A fresh script nonce. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/** Headers of a page answer: its CSP (with frame-ancestors, which only works from the header), never cached, no referrer. */
export function pageHeaders(csp: string): Record<string, string> {
  return { 'content-security-policy': `${csp}; frame-ancestors 'none'`, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' };
}

/** The template with every `{{name}}` replaced by `value(name)`, HTML-escaped; an unknown name throws (a template and its server out of step). */
export function fillTemplate(template: string, value: (name: string) => string | undefined, what: string): string {
  return template.replace(/\{\{([^{}]+)\}\}/g, (_m, name: string) => {
    const v = value(name);
    if (v === undefined) throw new CloudError('internal', `${what} page template: unknown placeholder {{${name}}}`);
    return escapeHtml(v);
  });
}
