/**
 * cloud.yaml `sms:`: which provider, its keys (from files or the environment, never inline),
 * the per-phone limits, the receipt callback's secret token, and per site the sign name and
 * the templates in zh-CN and English. loadSmsSettings reads every file it names and reports
 * every problem under its field, like the rest of cloud.yaml.
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import type { ConfigIssues } from '@stile/config';
import type { SmsLang } from '../../core/notify/sms.js';
import type { SmsProviderId } from './provider.js';

/** The variables a check-in template may use (templates.ts fills them from the order). */
export const CHECKIN_VARS = ['code', 'codes', 'count', 'date', 'slot', 'site', 'order', 'url'] as const;

export const MIN_SMS_SECRET = 32;

const secretRefs = {
  File: z.string().min(1).optional(),
  Env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'the name of an environment variable').optional(),
};

const TemplateSchema = z
  .object({
    /** Alibaba: the TemplateCode (SMS_…); Tencent: the TemplateId (digits). */
    id: z.string().min(1).max(64),
    /**
     * Alibaba: { templateVariable: ourVariable } (TemplateParam is JSON by name); Tencent:
     * [ourVariable for {1}, for {2}, …] (TemplateParamSet is positional).
     */
    params: z.union([z.record(z.string().regex(/^[A-Za-z0-9_]{1,32}$/, 'template variable names are letters, digits and _'), z.string().min(1)), z.array(z.string().min(1)).max(20)]).default([]),
  })
  .strict();

const SiteSmsSchema = z
  .object({
    /** The approved sign name (签名), shown as 【…】 before the text. */
    signName: z.string().min(2).max(30),
    /** Language when the caller names none. */
    defaultLang: z.enum(['zh-CN', 'en']).default('zh-CN'),
    /** By name: `checkin` (the check-in code after payment or rebooking) and any other a caller sends (e.g. `verify`). zh-CN required, en optional. */
    templates: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'template names: lower-case letters, digits, _ and -'), z.object({ 'zh-CN': TemplateSchema, en: TemplateSchema.optional() }).strict()),
  })
  .strict();

export const SmsConfigSchema = z
  .object({
    /** log (default: the demo's, written to the log), aliyun or tencent. */
    provider: z.enum(['log', 'aliyun', 'tencent']).default('log'),
    aliyun: z
      .object({
        accessKeyId: z.string().min(1),
        accessKeySecretFile: secretRefs.File,
        accessKeySecretEnv: secretRefs.Env,
        /** Default https://dysmsapi.aliyuncs.com. */
        endpoint: z.string().url().optional(),
      })
      .strict()
      .optional(),
    tencent: z
      .object({
        secretId: z.string().min(1),
        secretKeyFile: secretRefs.File,
        secretKeyEnv: secretRefs.Env,
        smsSdkAppId: z.string().regex(/^\d{4,20}$/, 'the SdkAppId: digits (1400…)'),
        region: z.string().min(1).default('ap-guangzhou'),
        /** Default https://sms.tencentcloudapi.com. */
        endpoint: z.string().url().optional(),
      })
      .strict()
      .optional(),
    /** Keys the phone-number hash in sms_messages (≥ 32 characters; file or environment). */
    phoneHashKeyFile: secretRefs.File,
    phoneHashKeyEnv: secretRefs.Env,
    /** Delivery receipts: POST {publicUrl}/callbacks/sms/{provider}/{token}; without a token the route is not served. */
    receipts: z
      .object({
        tokenFile: secretRefs.File,
        tokenEnv: secretRefs.Env,
        /** This server's public base URL (logged at start: the receipt URL to enter in the provider's console). */
        publicUrl: z.string().url().optional(),
        /** Only these source networks may push receipts (CIDR; checked on the socket's address: behind a proxy, filter at the proxy). */
        allowFrom: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        perMinute: z.number().int().min(0).max(1000).default(1),
        perHour: z.number().int().min(0).max(10_000).default(5),
        perDay: z.number().int().min(0).max(100_000).default(10),
        /** Requests per second to the provider (this instance); beyond, texts wait in the queue. */
        qps: z.number().positive().max(5000).default(10),
        /** Requests at the provider at once (this instance); a text's timeout starts when it leaves. */
        concurrency: z.number().int().min(1).max(256).default(16),
        /** Texts waiting at most; beyond, refused (`queue_full`). */
        queue: z.number().int().min(1).max(100_000).default(1000),
        /** Extra attempts when the provider surely did not send (connection refused, 503, its rate limit). */
        retries: z.number().int().min(0).max(5).default(2),
      })
      .strict()
      .default({ perMinute: 1, perHour: 5, perDay: 10, qps: 10, concurrency: 16, queue: 1000, retries: 2 }),
    timeoutMs: z.number().int().min(200).max(60_000).default(5000),
    sites: z.record(z.string().min(1), SiteSmsSchema).default({}),
  })
  .strict();
export type SmsConfig = z.infer<typeof SmsConfigSchema>;

export interface SmsTemplate {
  id: string;
  params: Record<string, string> | string[];
}

export interface SiteSms {
  signName: string;
  defaultLang: SmsLang;
  templates: Record<string, { 'zh-CN': SmsTemplate; en?: SmsTemplate }>;
}

export interface SmsLimits {
  perMinute: number;
  perHour: number;
  perDay: number;
  qps: number;
  concurrency: number;
  queue: number;
  retries: number;
}

/** `sms:` with its secrets read: what createSmsModule takes. */
export interface SmsSettings {
  provider: SmsProviderId;
  aliyun?: { accessKeyId: string; accessKeySecret: string; endpoint?: string };
  tencent?: { secretId: string; secretKey: string; smsSdkAppId: string; region: string; endpoint?: string };
  phoneHashKey: string;
  /** The secret path segment of the receipt callback; absent: no receipt route. */
  receiptToken?: string;
  publicUrl?: string;
  /** Source networks allowed to push receipts (absent: any). */
  allowFrom?: string[];
  limits: SmsLimits;
  timeoutMs: number;
  sites: Record<string, SiteSms>;
}

/** One secret from `<name>File` or `<name>Env` (exactly one), trimmed; undefined (and an issue) when missing or short. */
function readSecret(issues: ConfigIssues, env: NodeJS.ProcessEnv, field: string, file: string | undefined, envName: string | undefined, min: number, what: string): string | undefined {
  if ((file === undefined) === (envName === undefined)) {
    issues.add(field, `give exactly one of ${field.split('.').pop()}File, ${field.split('.').pop()}Env (${what})`);
    return undefined;
  }
  const value = file !== undefined ? issues.readText(`${field}File`, file)?.trim() : env[envName!]?.trim();
  if (value === undefined) {
    if (envName !== undefined) issues.add(`${field}Env`, `environment variable ${envName} is not set`);
    return undefined;
  }
  if (value.length < min) {
    issues.add(file !== undefined ? `${field}File` : `${field}Env`, `${what}: at least ${min} characters, it has ${value.length}`);
    return undefined;
  }
  return value;
}

/** `a.b.c.d/n` or `h::/n` (a bare address is /32 or /128) into a BlockList; false if unreadable. */
export function addCidr(list: BlockList, cidr: string): boolean {
  const [addr, bits] = cidr.split('/');
  const family = isIP(addr ?? '');
  if (family === 0) return false;
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return false;
  list.addSubnet(addr!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return true;
}

/**
 * `sms:` resolved: undefined for the log provider (and when something is wrong: the issues
 * then say what). `siteIds` are the configured sites, so a typo in `sms.sites` is caught.
 */
export function loadSmsSettings(issues: ConfigIssues, cfg: SmsConfig, siteIds: readonly string[], env: NodeJS.ProcessEnv = process.env): SmsSettings | undefined {
  if (cfg.provider === 'log') return undefined;
  const before = issues.list.length;
  const f = 'sms';
  let aliyun: SmsSettings['aliyun'];
  let tencent: SmsSettings['tencent'];
  if (cfg.provider === 'aliyun') {
    if (!cfg.aliyun) issues.add(`${f}.aliyun`, 'required when provider is aliyun: { accessKeyId, accessKeySecretFile | accessKeySecretEnv }');
    else {
      const secret = readSecret(issues, env, `${f}.aliyun.accessKeySecret`, cfg.aliyun.accessKeySecretFile, cfg.aliyun.accessKeySecretEnv, 8, 'the AccessKey secret');
      if (secret) aliyun = { accessKeyId: cfg.aliyun.accessKeyId, accessKeySecret: secret, ...(cfg.aliyun.endpoint ? { endpoint: cfg.aliyun.endpoint } : {}) };
    }
  } else if (!cfg.tencent) issues.add(`${f}.tencent`, 'required when provider is tencent: { secretId, secretKeyFile | secretKeyEnv, smsSdkAppId }');
  else {
    const secret = readSecret(issues, env, `${f}.tencent.secretKey`, cfg.tencent.secretKeyFile, cfg.tencent.secretKeyEnv, 8, 'the SecretKey');
    if (secret) tencent = { secretId: cfg.tencent.secretId, secretKey: secret, smsSdkAppId: cfg.tencent.smsSdkAppId, region: cfg.tencent.region, ...(cfg.tencent.endpoint ? { endpoint: cfg.tencent.endpoint } : {}) };
  }
  const phoneHashKey = readSecret(issues, env, `${f}.phoneHashKey`, cfg.phoneHashKeyFile, cfg.phoneHashKeyEnv, MIN_SMS_SECRET, 'the phone-hash key');
  let receiptToken: string | undefined;
  if (cfg.receipts) {
    receiptToken = readSecret(issues, env, `${f}.receipts.token`, cfg.receipts.tokenFile, cfg.receipts.tokenEnv, MIN_SMS_SECRET, 'the receipt token');
    if (receiptToken !== undefined && !/^[A-Za-z0-9_-]+$/.test(receiptToken)) {
      issues.add(`${f}.receipts.token`, 'the receipt token goes into a URL path: letters, digits, _ and - only (e.g. openssl rand -hex 24)');
      receiptToken = undefined;
    }
    for (const [i, c] of (cfg.receipts.allowFrom ?? []).entries()) if (!addCidr(new BlockList(), c)) issues.add(`${f}.receipts.allowFrom[${i}]`, `not an address or CIDR: ${c}`);
  }
  for (const [site, s] of Object.entries(cfg.sites)) {
    const field = `${f}.sites.${site}`;
    if (!siteIds.includes(site)) issues.add(field, `no site ${site} in sites`);
    for (const [name, byLang] of Object.entries(s.templates))
      for (const [lang, t] of [['zh-CN', byLang['zh-CN']], ['en', byLang.en]] as const) {
        if (t === undefined) continue;
        const tf = `${field}.templates.${name}.${lang}.params`;
        const params: Record<string, string> | string[] = t.params;
        const used = Array.isArray(params) ? params : Object.values(params);
        if (cfg.provider === 'aliyun' && Array.isArray(params) && params.length > 0) issues.add(tf, 'Alibaba Cloud templates take named variables: { templateVariable: ourVariable }');
        if (cfg.provider === 'tencent' && !Array.isArray(params)) issues.add(tf, 'Tencent Cloud templates take positional variables: [ourVariable for {1}, …]');
        if (name === 'checkin') for (const v of used) if (!(CHECKIN_VARS as readonly string[]).includes(v)) issues.add(tf, `${v}: a check-in template may use ${CHECKIN_VARS.join(', ')}`);
      }
  }
  if (issues.list.length > before || phoneHashKey === undefined || (!aliyun && !tencent)) return undefined;
  return {
    provider: cfg.provider,
    ...(aliyun ? { aliyun } : {}),
    ...(tencent ? { tencent } : {}),
    phoneHashKey,
    ...(receiptToken ? { receiptToken } : {}),
    ...(cfg.receipts?.publicUrl ? { publicUrl: cfg.receipts.publicUrl } : {}),
    ...(cfg.receipts?.allowFrom ? { allowFrom: cfg.receipts.allowFrom } : {}),
    limits: cfg.limits,
    timeoutMs: cfg.timeoutMs,
    sites: cfg.sites as Record<string, SiteSms>,
  };
}
