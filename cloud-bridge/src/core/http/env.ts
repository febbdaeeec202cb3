import type { Channel } from '../catalogue.js';
import type { SalesSite } from '../sites.js';

/** Request variables of the one hono app: the channel routes' API-key middleware sets site and channel. */
export type CloudEnv = { Variables: { site: SalesSite; channel: Channel } };
