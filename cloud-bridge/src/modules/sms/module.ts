import { BlockList } from 'node:net';
import { systemClock, type Clock } from '../../core/clock.js';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import { AliyunSmsProvider } from './aliyun.js';
import type { FetchLike } from './http.js';
import { PhoneHasher } from './phone.js';
import type { SmsProvider } from './provider.js';
import { RateLimiter } from './rate-limiter.js';
import { ReceiptHandler } from './receipts.js';
import { SmsRepository } from './repository.js';
import { receiptPath, smsRoutes } from './routes.js';
import { ProviderSmsSender } from './sender.js';
import { addCidr, type SmsSettings } from './settings.js';
import { TencentSmsProvider } from './tencent.js';

export interface SmsModuleDeps {
  settings: SmsSettings;
  /** Tests: another fetch. */
  fetch?: FetchLike;
  /** Dates the provider requests (they must be within minutes of the provider's clock): the wall clock, whatever ctx.clock is. */
  protocolClock?: Clock;
  /** First retry delay (ms, doubling); default 500. */
  retryBaseMs?: number;
}

export interface SmsModule extends CloudModule {
  /** The SmsSender port (bridge.ts gives it to sales). */
  sender: ProviderSmsSender;
  repository: SmsRepository;
  provider: SmsProvider;
}

function providerFor(settings: SmsSettings, deps: SmsModuleDeps): SmsProvider {
  const common = { timeoutMs: settings.timeoutMs, clock: deps.protocolClock ?? systemClock, ...(deps.fetch ? { fetch: deps.fetch } : {}) };
  if (settings.provider === 'aliyun') return new AliyunSmsProvider({ ...settings.aliyun!, ...common });
  return new TencentSmsProvider({ ...settings.tencent!, ...common });
}

/**
 * Texts to visitors through Alibaba Cloud SMS or Tencent Cloud SMS (docs/sms.md): the
 * SmsSender port sales sends check-in codes through (throttled per phone, rate-limited,
 * recorded in sms_messages), the providers' delivery receipts, and the staff list
 * `GET /v1/staff/sites/{site}/sms`.
 */
export function createSmsModule(ctx: ModuleContext, deps: SmsModuleDeps): SmsModule {
  const { settings } = deps;
  const repository = new SmsRepository(ctx.store);
  const provider = providerFor(settings, deps);
  const hasher = new PhoneHasher(settings.phoneHashKey);
  const sender = new ProviderSmsSender({
    repo: repository,
    provider,
    settings,
    sites: ctx.sites,
    hasher,
    limiter: new RateLimiter(settings.limits.qps, settings.limits.concurrency),
    clock: ctx.clock,
    log: ctx.log,
    ...(deps.retryBaseMs !== undefined ? { retryBaseMs: deps.retryBaseMs } : {}),
  });
  let allowFrom: BlockList | undefined;
  if (settings.allowFrom) {
    allowFrom = new BlockList();
    for (const c of settings.allowFrom) addCidr(allowFrom, c);
  }
  const receipts = settings.receiptToken
    ? new ReceiptHandler({ provider, repo: repository, hasher, token: settings.receiptToken, ...(allowFrom ? { allowFrom } : {}), clock: ctx.clock, log: ctx.log, metrics: ctx.metrics })
    : undefined;
  return {
    name: 'sms',
    sender,
    repository,
    provider,
    routes: (app) => smsRoutes(app, { sites: ctx.sites, repo: repository, provider: provider.id, ...(receipts ? { receipts } : {}), clock: ctx.clock, metrics: ctx.metrics, log: ctx.log }),
    start() {
      const sites = Object.keys(settings.sites);
      if (receipts) {
        // The token is the receipt URL's only secret: logged as a placeholder, the operator has it in its file.
        const base = settings.publicUrl?.replace(/\/$/, '') ?? '<public URL>';
        ctx.log.info({ provider: provider.id, sites, receiptUrl: `${base}${receiptPath(provider.id, '<sms.receipts token>')}` }, 'SMS through the provider; enter the receipt URL in its console');
      } else ctx.log.warn({ provider: provider.id, sites }, 'SMS through the provider without delivery receipts (no sms.receipts.token): texts stay "sent"');
      return Promise.resolve();
    },
    stop: () => sender.close(),
  };
}
