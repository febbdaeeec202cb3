/**
 * A site's payment providers as configured in cloud.yaml (`sites[].payments`), and the
 * providers built from them. Only file paths and ids are configured here; keys are read from
 * the files by the providers (keys.ts) and never logged.
 */
import { z } from 'zod';
import type { AlipayOptions } from './alipay-provider.js';
import type { CodePaymentOptions } from './payments.js';
import type { ReconciliationOptions } from './reconciliation.js';
import type { WechatPayOptions } from './wechat-provider.js';

const timeoutMs = z.number().int().min(100, 'timeoutMs: at least 100').max(60_000, 'timeoutMs: at most 60000').optional();

/**
 * `sites[].payments.wechat.oauth`: WeChat web OAuth (网页授权) under the same AppID, for the
 * visitor's openid that JSAPI needs. Used by the booking page (modules/booking/wechat-oauth.ts),
 * not by payments; it lives here because it is the same WeChat app.
 */
export const WechatOAuthConfigSchema = z
  .object({
    /** A file holding only the AppSecret of `appid` (公众号 AppSecret). */
    appSecretFile: z.string().min(1),
    /** Default https://open.weixin.qq.com/connect/oauth2/authorize (the simulator's in tests and the demo). */
    authorizeUrl: z.string().url().optional(),
    /** Default https://api.weixin.qq.com (…/sns/oauth2/access_token). */
    apiBaseUrl: z.string().url().optional(),
    timeoutMs,
  })
  .strict();

/** `sites[].payments.wechat` in cloud.yaml: WeChat Pay API v3, direct merchant (直连商户). */
export const WechatConfigSchema = z
  .object({
    /** 商户号. */
    mchid: z.string().min(1),
    /** The AppID bound to the merchant (公众号 for JSAPI). */
    appid: z.string().min(1),
    /** 商户API证书序列号. */
    merchantSerial: z.string().min(1),
    /** apiclient_key.pem (PKCS#8). */
    merchantPrivateKeyFile: z.string().min(1),
    /** A file holding only the 32-character APIv3 key. */
    apiV3KeyFile: z.string().min(1),
    /** Platform certificates (serial read from the certificate) and/or WeChat Pay public keys (serial PUB_KEY_ID_…). */
    platformKeys: z.array(z.object({ file: z.string().min(1), serial: z.string().min(1).optional() }).strict()).min(1, 'list at least one platform certificate or WeChat Pay public key'),
    /** Default https://api.mch.weixin.qq.com (the simulator's URL in tests and the demo). */
    baseUrl: z.string().url().optional(),
    timeoutMs,
    /** 门店编号 sent with payment-code orders. */
    storeId: z.string().min(1).optional(),
    oauth: WechatOAuthConfigSchema.optional(),
  })
  .strict();

/** `sites[].payments.alipay` in cloud.yaml: Alipay OpenAPI, public-key mode (公钥模式). */
export const AlipayConfigSchema = z
  .object({
    appId: z.string().min(1),
    /** The application private key (PEM, or the bare base64 Alipay's key tool writes). */
    appPrivateKeyFile: z.string().min(1),
    /** Alipay's public key for this app (支付宝公钥). */
    alipayPublicKeyFile: z.string().min(1),
    /** Default https://openapi.alipay.com/gateway.do. */
    gatewayUrl: z.string().url().optional(),
    /** Hosts a bill link may point at besides the gateway's (default dwbillcenter.alipay.com). */
    billHosts: z.array(z.string().min(1)).optional(),
    timeoutMs,
  })
  .strict();

export const SitePaymentsSchema = z
  .object({ wechat: WechatConfigSchema.optional(), alipay: AlipayConfigSchema.optional() })
  .strict()
  .refine((p) => p.wechat !== undefined || p.alipay !== undefined, { message: 'configure wechat, alipay or both' });

export type SitePaymentsInput = z.infer<typeof SitePaymentsSchema>;

/** `payments.reconciliation` in cloud.yaml: the daily reconciliation against the providers' bills. */
export const ReconciliationConfigSchema = z
  .object({
    /** Beijing time on the next day from which a day is reconciled (WeChat Pay publishes its bill from 10:00, Alipay from 09:00). */
    at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'at: HH:MM, Beijing time').optional(),
    retryEveryMinutes: z.number().int().min(1).max(1440).optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    boundaryMinutes: z.number().int().min(0).max(120).optional(),
    catchUpDays: z.number().int().min(0).max(31).optional(),
  })
  .strict();

export function reconciliationFromConfig(r: z.infer<typeof ReconciliationConfigSchema>): ReconciliationOptions {
  return {
    ...(r.at !== undefined ? { at: r.at } : {}),
    ...(r.retryEveryMinutes !== undefined ? { retryEveryMs: r.retryEveryMinutes * 60_000 } : {}),
    ...(r.maxAttempts !== undefined ? { maxAttempts: r.maxAttempts } : {}),
    ...(r.boundaryMinutes !== undefined ? { boundaryMinutes: r.boundaryMinutes } : {}),
    ...(r.catchUpDays !== undefined ? { catchUpDays: r.catchUpDays } : {}),
  };
}

/** What a provider is built from: everything but the notify URL (ours), the clock and the logger. */
type Built<T> = Omit<T, 'notifyUrl' | 'clock' | 'log' | 'fetch'>;

/** The web OAuth of a site's WeChat app, file path resolved (the booking module's WechatOAuthOptions without the appid). */
export interface WechatOAuthFiles {
  appSecretPath: string;
  authorizeUrl?: string;
  apiBaseUrl?: string;
  timeoutMs?: number;
}

/** One site's providers, file paths resolved. */
export interface SitePayments {
  wechat?: Built<WechatPayOptions> & { oauth?: WechatOAuthFiles };
  alipay?: Built<AlipayOptions>;
}

/** The payments part of CloudBridgeOptions. */
export interface PaymentsOptions {
  /** Providers by site id. A site without an entry cannot take provider payments (provider_not_configured). */
  sites: Record<string, SitePayments>;
  /**
   * Base URL the providers post notifications to: `<base>/v1/payments/wechat/notify` and
   * `…/alipay/notify`. Default the bridge's publicUrl, else its own HTTP listener.
   */
  notifyBaseUrl?: string;
  /** How often the sweep runs (closing overdue orders, retrying refunds); default 5000 ms. */
  sweepEveryMs?: number;
  /** Pending payment codes: queried every `queryEveryMs` (5000), reversed after `reverseAfterMs` (30000) unpaid. */
  codePayments?: CodePaymentOptions;
  /** The daily reconciliation against the providers' bills (reconciliation.ts): when, retries, the midnight margin. */
  reconciliation?: ReconciliationOptions;
}

/** Paths in the YAML are relative to cloud.yaml: `resolve` makes them absolute. */
export function sitePaymentsFromConfig(p: SitePaymentsInput, resolve: (path: string) => string): SitePayments {
  const out: SitePayments = {};
  if (p.wechat) {
    const w = p.wechat;
    out.wechat = {
      mchid: w.mchid,
      appid: w.appid,
      merchantSerial: w.merchantSerial,
      merchantPrivateKeyPath: resolve(w.merchantPrivateKeyFile),
      apiV3KeyPath: resolve(w.apiV3KeyFile),
      platformKeys: w.platformKeys.map((k) => ({ path: resolve(k.file), ...(k.serial ? { serial: k.serial } : {}) })),
      ...(w.baseUrl ? { baseUrl: w.baseUrl } : {}),
      ...(w.timeoutMs !== undefined ? { timeoutMs: w.timeoutMs } : {}),
      ...(w.storeId ? { storeId: w.storeId } : {}),
      ...(w.oauth
        ? { oauth: { appSecretPath: resolve(w.oauth.appSecretFile), ...(w.oauth.authorizeUrl ? { authorizeUrl: w.oauth.authorizeUrl } : {}), ...(w.oauth.apiBaseUrl ? { apiBaseUrl: w.oauth.apiBaseUrl } : {}), ...(w.oauth.timeoutMs !== undefined ? { timeoutMs: w.oauth.timeoutMs } : {}) } }
        : {}),
    };
  }
  if (p.alipay) {
    const a = p.alipay;
    out.alipay = {
      appId: a.appId,
      appPrivateKeyPath: resolve(a.appPrivateKeyFile),
      alipayPublicKeyPath: resolve(a.alipayPublicKeyFile),
      ...(a.gatewayUrl ? { gatewayUrl: a.gatewayUrl } : {}),
      ...(a.billHosts ? { billHosts: a.billHosts } : {}),
      ...(a.timeoutMs !== undefined ? { timeoutMs: a.timeoutMs } : {}),
    };
  }
  return out;
}

/** The key files a site's payment config names (cloud.yaml checks they can be read). */
export function keyFiles(p: SitePayments): { field: string; path: string }[] {
  const files: { field: string; path: string }[] = [];
  if (p.wechat) {
    files.push({ field: 'wechat.merchantPrivateKeyFile', path: p.wechat.merchantPrivateKeyPath }, { field: 'wechat.apiV3KeyFile', path: p.wechat.apiV3KeyPath });
    p.wechat.platformKeys.forEach((k, i) => files.push({ field: `wechat.platformKeys[${i}].file`, path: k.path }));
    if (p.wechat.oauth) files.push({ field: 'wechat.oauth.appSecretFile', path: p.wechat.oauth.appSecretPath });
  }
  if (p.alipay) files.push({ field: 'alipay.appPrivateKeyFile', path: p.alipay.appPrivateKeyPath }, { field: 'alipay.alipayPublicKeyFile', path: p.alipay.alipayPublicKeyPath });
  return files;
}

