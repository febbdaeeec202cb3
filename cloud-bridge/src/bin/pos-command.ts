import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { isStileError } from '@stile/config';
import { loadCloudConfig } from '../config.js';
import { systemClock, type Clock } from '../core/clock.js';
import { CloudStore } from '../core/db/store.js';
import { isCloudError } from '../core/errors.js';
import { SiteEvents } from '../core/events.js';
import { Metrics } from '../core/metrics.js';
import type { ModuleContext } from '../core/module.js';
import { LogSmsSender } from '../core/notify/sms.js';
import { SiteRegistry } from '../core/sites.js';
import { createMarketingModule } from '../modules/marketing/module.js';
import { csvToLines } from '../modules/pos/csv.js';
import { MAX_LINES } from '../modules/pos/lines.js';
import { createPosModule } from '../modules/pos/module.js';
import type { LineResult } from '../modules/pos/service.js';
import { createVisitorsModule } from '../modules/visitors/module.js';

export const POS_USAGE = 'usage: stile-cloud pos import --config cloud.yaml --site SITE --source POS [--json] FILE.csv\n  a POS day\'s export (docs/visitor-data/pos.md); exit 0 all taken, 1 lines refused, 2 bad usage or file';

/**
 * `stile-cloud pos import`: a back-office import of a POS export, on the cloud's own
 * database, through the same code path as POST /v1/pos/lines.csv (visit lookup, spend on the
 * profile, coupons, duplicates counted once), in batches of the API's size. Importing the same
 * file again changes nothing: every line answers `duplicate`.
 */
export async function posCommand(argv: string[], env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void, clock: Clock = systemClock): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, site: { type: 'string' }, source: { type: 'string' }, json: { type: 'boolean' } } });
  } catch (e) {
    err(`${(e as Error).message}\n${POS_USAGE}\n`);
    return 2;
  }
  const [action, file, ...rest] = parsed.positionals;
  const { config, site, source } = parsed.values;
  const missing = [!config && '--config', !site && '--site', !source && '--source', !file && 'FILE.csv'].filter(Boolean);
  if (action !== 'import' || missing.length > 0 || rest.length > 0) {
    err(`stile-cloud pos: ${action !== 'import' ? 'say import' : rest.length > 0 ? 'one file at a time' : `missing ${missing.join(', ')}`}\n${POS_USAGE}\n`);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file!, 'utf8');
  } catch (e) {
    err(`stile-cloud pos: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  const lines = csvToLines(text);
  if (!lines.ok) {
    err(`stile-cloud pos: ${file}: ${lines.error}\n`);
    return 2;
  }
  let loaded;
  try {
    loaded = loadCloudConfig(config!, env);
  } catch (e) {
    err(`${isStileError(e) || isCloudError(e) ? e.message : String(e)}\n`);
    return 2;
  }
  const o = loaded.options;
  // Logs go to stderr, so stdout is the summary (or the JSON) alone.
  const log = pino({ name: 'stile-cloud', level: env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  let store: CloudStore;
  try {
    store = await CloudStore.open({ ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}), ...(o.sqlitePath ? { sqlitePath: o.sqlitePath } : {}), ...(o.migrateWithoutBackup ? { migrateWithoutBackup: true } : {}) });
  } catch (e) {
    err(`stile-cloud pos: cannot open the database: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    const sites = new SiteRegistry(o.sites);
    // The modules the lines go through, without MQTT, timers or routes: nothing is published from here.
    const ctxFor = (name: string): ModuleContext => ({ store, sites, events: new SiteEvents(log), clock, log: log.child({ module: name }), metrics: new Metrics(), publisher: { publish: () => Promise.reject(new Error('stile-cloud pos import publishes nothing')) } });
    const visitors = createVisitorsModule(ctxFor('visitors'));
    const marketing = createMarketingModule(ctxFor('marketing'), { visitors: visitors.directory, sms: new LogSmsSender(log) });
    const pos = createPosModule(ctxFor('pos'), { visitors: visitors.directory, coupons: marketing.redeemer });
    const caller = pos.caller(site!, source!);
    if (!caller) {
      err(`stile-cloud pos: no POS source "${source}" at site "${site}" in ${config} (sites[].pos.sources)\n`);
      return 2;
    }
    const results: LineResult[] = [];
    for (let i = 0; i < lines.lines.length; i += MAX_LINES) results.push(...(await pos.service.submit(caller.site, caller.source, caller.timeZone, lines.lines.slice(i, i + MAX_LINES))).lines);
    const count = (s: LineResult['status']) => results.filter((r) => r.status === s).length;
    const summary = { file, site, source, lines: results.length, accepted: count('accepted'), duplicate: count('duplicate'), refused: count('refused') };
    if (parsed.values.json) out(`${JSON.stringify({ ...summary, results })}\n`);
    else {
      out(`${file}: ${summary.lines} lines for ${site}/${source}: ${summary.accepted} accepted, ${summary.duplicate} duplicate, ${summary.refused} refused\n`);
      for (const r of results) if (r.status === 'refused') out(`  line ${r.csvLine ?? '?'}${r.lineId ? ` (${r.lineId})` : ''}: ${r.reason}: ${r.message ?? ''}\n`);
    }
    return summary.refused > 0 ? 1 : 0;
  } catch (e) {
    err(`stile-cloud pos: ${isCloudError(e) ? e.message : (e as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
