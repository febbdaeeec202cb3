import { createHash } from 'node:crypto';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { CouponRedeemer, VisitorDirectory } from '../../core/ports.js';
import { CloudError } from '../../core/errors.js';
import { PosRepository } from './repository.js';
import { posRoutes, type PosCaller } from './routes.js';
import { PosService } from './service.js';

export interface PosDeps {
  visitors: VisitorDirectory;
  coupons: CouponRedeemer;
}

export type PosModule = CloudModule & {
  /** The lines' code path, for `stile-cloud pos import` and tests. */
  readonly service: PosService;
  /** Site, source and time zone of a configured POS source; undefined when the site has none by that id. */
  caller(site: string, source: string): PosCaller | undefined;
};

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
/** Park time where the site sells nothing (its POS lines then find no visit anyway). */
const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

/**
 * The POS sources of every site by their key's SHA-256. One key names one source of one
 * site, and never a sales channel: a restaurant's till must not sell tickets, nor a channel
 * post lunches.
 */
export function posCallers(ctx: Pick<ModuleContext, 'sites'>): Map<string, PosCaller> {
  const byHash = new Map<string, PosCaller>();
  const channelHashes = new Set(ctx.sites.salesIds.flatMap((id) => ctx.sites.site(id)!.catalogue.channels.map((c) => c.apiKeySha256)));
  for (const site of ctx.sites.ids) {
    const timeZone = ctx.sites.site(site)?.catalogue.timeZone ?? DEFAULT_TIME_ZONE;
    for (const s of ctx.sites.config(site)?.pos?.sources ?? []) {
      const taken = byHash.get(s.apiKeySha256);
      if (taken) throw new CloudError('config_invalid', `POS sources ${taken.site}/${taken.source} and ${site}/${s.id} have the same API key`);
      if (channelHashes.has(s.apiKeySha256)) throw new CloudError('config_invalid', `POS source ${site}/${s.id} has the API key of a sales channel; give it its own key`);
      byHash.set(s.apiKeySha256, { site, source: s.id, timeZone });
    }
  }
  return byHash;
}

/** Secondary spending from the park's POS systems (#19 point 2, docs/visitor-data/pos.md). */
export function createPosModule(ctx: ModuleContext, deps: PosDeps): PosModule {
  const callers = posCallers(ctx);
  for (const c of callers.values())
    if (!ctx.sites.site(c.site)) ctx.log.warn({ site: c.site, source: c.source, event: 'pos_without_sales' }, 'POS source at a site without sales: its lines find no visit');
  const service = new PosService({ repository: new PosRepository(ctx.store), visitors: deps.visitors, coupons: deps.coupons, clock: ctx.clock, log: ctx.log });
  return {
    name: 'pos',
    service,
    caller: (site, source) => [...callers.values()].find((c) => c.site === site && c.source === source),
    routes(app) {
      posRoutes(app, service, (key) => callers.get(sha256(key)));
    },
  };
}
