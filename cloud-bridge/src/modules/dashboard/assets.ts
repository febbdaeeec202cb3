/**
 * The dashboard's built browser files (cloud-bridge/dist/web, written by
 * scripts/build-dashboard.mjs during `npm run build`): read once, with their SRI hashes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CloudError } from '../../core/errors.js';

/** Where the build puts them: three levels up from this file both as src/modules/dashboard/*.ts and dist/modules/dashboard/*.js. */
const DIR = new URL('../../../dist/web/', import.meta.url);

export interface DashboardAsset {
  body: Buffer;
  contentType: string;
  /** `sha384-…`, for the page's integrity attribute. */
  integrity: string;
  /** A short content hash: the `?v=` of the asset's URL, and its ETag. */
  version: string;
}

export interface DashboardAssets {
  /** The page template (web/dashboard/index.html) with its `{{…}}` placeholders. */
  template: string;
  files: { 'dashboard.js': DashboardAsset; 'dashboard.css': DashboardAsset };
}
export type DashboardAssetName = keyof DashboardAssets['files'];

function asset(name: string, contentType: string): DashboardAsset {
  const body = readFileSync(new URL(name, DIR));
  return {
    body,
    contentType,
    integrity: `sha384-${createHash('sha384').update(body).digest('base64')}`,
    version: createHash('sha256').update(body).digest('hex').slice(0, 16),
  };
}

let loaded: DashboardAssets | null = null;

/** The built files; throws, saying what to run, when they are not there. */
export function dashboardAssets(): DashboardAssets {
  if (loaded) return loaded;
  try {
    loaded = {
      template: readFileSync(new URL('index.html', DIR), 'utf8'),
      files: { 'dashboard.js': asset('dashboard.js', 'text/javascript; charset=utf-8'), 'dashboard.css': asset('dashboard.css', 'text/css; charset=utf-8') },
    };
  } catch (err) {
    throw new CloudError('internal', `the dashboard's browser code is not built (${decodeURIComponent(DIR.pathname)}: ${(err as Error).message}): run npm run build`, {}, { cause: err });
  }
  return loaded;
}

export function isDashboardAsset(name: string): name is DashboardAssetName {
  return name === 'dashboard.js' || name === 'dashboard.css';
}
