import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import { AlipayProvider } from './alipay-provider.js';
import type { SitePayments } from './config.js';
import type { PaymentProvider, ProviderId } from './provider.js';
import { WeChatPayProvider } from './wechat-provider.js';

/** Every site's providers: by site and provider id. */
export class ProviderSet {
  private readonly bySite = new Map<string, Partial<Record<ProviderId, PaymentProvider>>>();

  /**
   * Builds the providers (reading their key files: a missing or wrong one is `payment_config`
   * now, at start). `notifyUrl` is read at each request, so it may name a listener that is
   * bound after the modules are built.
   */
  constructor(sites: Record<string, SitePayments>, opts: { notifyUrl: (p: ProviderId) => string; clock: Clock; log: Logger }) {
    for (const [site, cfg] of Object.entries(sites)) {
      const set: Partial<Record<ProviderId, PaymentProvider>> = {};
      const log = opts.log.child({ site });
      if (cfg.wechat) {
        // The OAuth AppSecret is the booking page's: the payment provider never holds it.
        const { oauth: _oauth, ...wechat } = cfg.wechat;
        set.wechat = new WeChatPayProvider({
          ...wechat,
          get notifyUrl() {
            return opts.notifyUrl('wechat');
          },
          clock: opts.clock,
          log,
        });
      }
      if (cfg.alipay) {
        set.alipay = new AlipayProvider({
          ...cfg.alipay,
          get notifyUrl() {
            return opts.notifyUrl('alipay');
          },
          clock: opts.clock,
          log,
        });
      }
      this.bySite.set(site, set);
    }
  }

  /** The sites with at least one provider. */
  sites(): string[] {
    return [...this.bySite].filter(([, set]) => Object.keys(set).length > 0).map(([site]) => site);
  }

  get(site: string, provider: ProviderId): PaymentProvider | undefined {
    return this.bySite.get(site)?.[provider];
  }

  /** The providers of one kind, with their sites (a notification is verified against each in turn). */
  ofKind(provider: ProviderId): { site: string; provider: PaymentProvider }[] {
    const out: { site: string; provider: PaymentProvider }[] = [];
    for (const [site, set] of this.bySite) {
      const p = set[provider];
      if (p) out.push({ site, provider: p });
    }
    return out;
  }
}
