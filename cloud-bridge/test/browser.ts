import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** A Chromium the system has (Debian's package, or Chrome), first found wins. */
const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'];

/** As the env probe starts it: no background traffic into a closed network, no sandbox as root. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Launch the Chromium for browser tests, with no manual step on a fresh machine:
 * `STILE_CHROMIUM` (a path, or `npm` to force the packaged one), else a system Chromium,
 * else the headless Chromium shipped inside the `@sparticuz/chromium` npm package (a
 * devDependency: `npm install` brings it, unpacked to the temp folder on first use).
 */
export async function launchChromium(): Promise<{ browser: Browser; source: string }> {
  const wanted = process.env.STILE_CHROMIUM;
  if (wanted && wanted !== 'npm') {
    if (!existsSync(wanted)) throw new Error(`STILE_CHROMIUM=${wanted} does not exist`);
    return { browser: await chromium.launch({ executablePath: wanted, args: ARGS }), source: wanted };
  }
  const system = wanted === 'npm' ? undefined : SYSTEM_CHROMIUMS.find((p) => existsSync(p));
  if (system) return { browser: await chromium.launch({ executablePath: system, args: ARGS }), source: system };
  const packaged = (await import('@sparticuz/chromium')).default;
  const executablePath = await packaged.executablePath();
  // Its build is the headless shell; no zygote, as it runs without the sandbox helpers.
  const browser = await chromium.launch({ executablePath, args: [...ARGS.filter((a) => a !== '--headless'), '--headless=shell', '--no-zygote'] });
  return { browser, source: `@sparticuz/chromium (${executablePath})` };
}
