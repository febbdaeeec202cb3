import { z } from 'zod';
import { PublicKeySchema, readYamlConfig, type ConfigIssues } from '@stile/config';
import type { CloudBridgeOptions } from './bridge.js';
import { CapacityConfigSchema } from './core/capacity-levels.js';
import { catalogueIssues, parseCatalogue, type Catalogue } from './core/catalogue.js';
import { MIN_ID_HASH_KEY } from './credential-checks.js';
import { MIN_WEBHOOK_SECRET } from './core/notify/webhook.js';
import type { SiteConfig } from './core/sites.js';
import { InsightConfigSchema } from './core/site-config/insight.js';
import { MarketingConfigSchema } from './core/site-config/marketing.js';
import { PartnersConfigSchema } from './core/site-config/partners.js';
import { PosConfigSchema } from './core/site-config/pos.js';
import { VisitorsConfigSchema } from './core/site-config/visitors.js';
import { bookingChannelProblem } from './modules/booking/config.js';
import { keyFiles, ReconciliationConfigSchema, reconciliationFromConfig, SitePaymentsSchema, sitePaymentsFromConfig, type SitePayments } from './modules/payments/config.js';
import { loadSmsSettings, SmsConfigSchema, type SmsSettings } from './modules/sms/settings.js';

const SiteSchema = z
  .object({
    id: z.string().min(1).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only (it is part of MQTT topics)'),
    controlKey: z
      .object({ id: z.string().min(1), privateKeyPem: z.string().optional(), privateKeyFile: z.string().optional() })
      .strict()
      .refine((k) => (k.privateKeyPem === undefined) !== (k.privateKeyFile === undefined), { message: 'give exactly one of privateKeyPem, privateKeyFile' }),
    gates: z.array(z.string().min(1)).optional(),
    /** Public keys of the site's offline ST2 tickets (the gates' keys.offline): ST2 admissions are checked against them. */
    offlineKeys: z.array(PublicKeySchema).optional(),
    /** Admissions per second one lane can pass; faster claims are stored as anomalies (0: unchecked). */
    maxAdmissionsPerSecond: z.number().min(0).max(1000).optional(),
    /** Kiosks: the channel they sell on, their daily offline cap (persons) and their own ST2 public key (docs/kiosk-offline.md). */
    kiosks: z
      .array(
        z
          .object({
            id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (it is part of MQTT topics)'),
            channel: z.string().min(1),
            offlineCap: z.number().int().min(0).max(100_000),
            offlineKey: PublicKeySchema,
          })
          .strict(),
      )
      .optional(),
    /** Online and kiosk sales for this site (the channel API); absent: the site only syncs gates. */
    sales: z
      .object({
        /** YAML or JSON file with the catalogue (ticket types, slots, pricing, channels, refund reasons), or the catalogue inline. */
        catalogueFile: z.string().min(1).optional(),
        catalogue: z.unknown().optional(),
        /** daily (persons), yellow/orange/red fractions, kioskReserve, announcement texts per level. */
        capacity: CapacityConfigSchema,
        /** The gates' keys.idHash secret (same value), so a visitor's ID card finds their ticket. */
        idHashKey: z.string().min(MIN_ID_HASH_KEY, `idHashKey: at least ${MIN_ID_HASH_KEY} characters, as the gates require`).optional(),
        idHashKeyFile: z.string().min(1).optional(),
        /** SHA-256 (hex) of the staff token for pause/resume and the audit log. */
        staffTokenSha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits (the SHA-256 of the token)').optional(),
        tourRouteUrl: z.string().url().optional(),
        /** Local time the daily report is generated (default 22:00). */
        reportAt: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'reportAt: a time of day HH:MM').optional(),
        /** The channel the visitor booking page (/v1/book/{site}/…) sells on: kind online, payment provider. */
        bookingChannel: z.string().min(1).optional(),
      })
      .strict()
      .refine((x) => (x.catalogue === undefined) !== (x.catalogueFile === undefined), { message: 'give exactly one of catalogue, catalogueFile' })
      .refine((x) => (x.idHashKey === undefined) !== (x.idHashKeyFile === undefined), { message: 'give exactly one of idHashKey, idHashKeyFile' })
      .optional(),
    /** WeChat Pay / Alipay for the site's provider-mode channels: ids and key files (never the keys themselves). */
    payments: SitePaymentsSchema.optional(),
    // Data-driven operations (#19, docs/visitor-data.md): each section is its module's.
    visitors: VisitorsConfigSchema.optional(),
    pos: PosConfigSchema.optional(),
    marketing: MarketingConfigSchema.optional(),
    partners: PartnersConfigSchema.optional(),
    insight: InsightConfigSchema.optional(),
  })
  .strict();

export const CloudConfigSchema = z
  .object({
    mqtt: z
      .object({
        url: z.string().min(1),
        sharedGroup: z.string().min(1).default('stile-cloud'),
        clientId: z.string().min(1).optional(),
        sessionExpirySec: z.number().int().min(1).default(3600),
        /** Default 5; 4 (MQTT 3.1.1) when the embedded broker is used (Aedes has no v5). */
        protocolVersion: z.union([z.literal(4), z.literal(5)]).optional(),
        /** v5: connections in the shared group taking entries; their messages share commits. */
        ingestConnections: z.number().int().min(1).max(32).default(8),
        /** What devices dial (e.g. mqtts://mqtt.park.example:8883): written into provisioning bundles (docs/provisioning.md). */
        publicUrl: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'expected mqtt://, mqtts://, ws:// or wss:// URL').optional(),
        /** PEM of a private CA that signed the broker's certificate: carried in bundles for the devices to trust. */
        caFile: z.string().min(1).optional(),
      })
      .strict(),
    /** Embedded Aedes broker for a single-box install; mqtt.url then points at it. */
    broker: z.object({ port: z.number().int().min(1).max(65535), host: z.string().default('127.0.0.1') }).strict().optional(),
    database: z
      .object({ url: z.string().optional(), sqlitePath: z.string().default('cloud.db') })
      .strict()
      .default({ sqlitePath: 'cloud.db' }),
    http: z
      .object({
        port: z.number().int().min(0).max(65535).default(8080),
        host: z.string().default('127.0.0.1'),
        publicUrl: z.string().url().optional(),
        /** What gates use for the gate routes when those have a listener of their own (default publicUrl); written into gate bundles. */
        gatePublicUrl: z.string().url().optional(),
        /** A listener of its own for the gate routes (snapshot, changes, ticket-types), e.g. only on the park VPN. */
        gatePort: z.number().int().min(0).max(65535).optional(),
        gateHost: z.string().optional(),
        /** SHA-256 (hex) of the bearer token for GET /metrics; without it /metrics answers 401. */
        metricsTokenSha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits (the SHA-256 of the token)').optional(),
      })
      .strict()
      .default({ port: 8080, host: '127.0.0.1' }),
    unknownGates: z.enum(['reject', 'register']).default('reject'),
    retainDeltas: z.number().int().min(1).default(10_000),
    /** Tuning of sales (modules/sales SalesOptions); the defaults suit one instance or several on one store. */
    salesTuning: z
      .object({
        availabilityTtlMs: z.number().int().min(0).max(60_000).optional(),
        groupCommit: z.boolean().optional(),
        maxGroup: z.number().int().min(1).max(1000).optional(),
        groupLanes: z.number().int().min(1).max(64).optional(),
      })
      .strict()
      .optional(),
    /** Provider payments: where the providers post notifications (default http.publicUrl), the sweep's period. */
    payments: z
      .object({
        notifyBaseUrl: z.string().url().optional(),
        sweepEveryMs: z.number().int().min(100).max(600_000).optional(),
        reconciliation: ReconciliationConfigSchema.optional(),
        /** Pending payment codes (the visitor confirms on the phone): queried every queryEveryMs, reversed after reverseAfterMs unpaid. */
        codePayments: z.object({ queryEveryMs: z.number().int().min(100).max(60_000).optional(), reverseAfterMs: z.number().int().min(1000).max(600_000).optional() }).strict().optional(),
      })
      .strict()
      .optional(),
    /** Demo mode: accept the public demo API keys (never in production). */
    demo: z.boolean().default(false),
    sites: z.array(SiteSchema).min(1),
    /** Staff alerts (capacity levels, partition conflicts, channel pauses): always logged; also POSTed here. */
    alerts: z
      .object({
        webhookUrl: z.string().url(),
        /** Every alert is signed with it (x-stile-signature: t=…,v1=…); required, unsigned alerts could be forged. */
        secret: z
          .string({ error: (iss) => (iss.input === undefined ? `required whenever alerts.webhookUrl is set: at least ${MIN_WEBHOOK_SECRET} characters, e.g. openssl rand -hex 24` : undefined) })
          .min(MIN_WEBHOOK_SECRET, `at least ${MIN_WEBHOOK_SECRET} characters (e.g. openssl rand -hex 24)`),
      })
      .strict()
      .optional(),
    /** Texts to visitors: the log (default), Alibaba Cloud SMS or Tencent Cloud SMS, with per-site sign names and templates (docs/sms.md). */
    sms: SmsConfigSchema.optional(),
    /** Scheduled online backups of the SQLite store (docs/backup.md): every `everyHours` into `dir`, the newest `keep` kept. */
    backup: z
      .object({
        dir: z.string().min(1),
        everyHours: z.number().positive().max(24 * 7),
        keep: z.number().int().min(1).max(10_000),
      })
      .strict()
      .optional(),
  })
  .strict();
export type CloudConfig = z.infer<typeof CloudConfigSchema>;

type SalesConfig = NonNullable<z.infer<typeof SiteSchema>['sales']>;

/**
 * The sales part of a site: the catalogue validated with every issue named under its path.
 * Undefined when something is wrong; `issues` then says what.
 */
function loadSales(issues: ConfigIssues, field: string, s: SalesConfig): NonNullable<SiteConfig['sales']> | undefined {
  let raw: unknown = s.catalogue;
  let readable = true;
  if (s.catalogueFile !== undefined) {
    const read = issues.readYaml(`${field}.catalogueFile`, s.catalogueFile);
    readable = read.ok;
    raw = read.ok ? read.value : undefined;
  }
  const problems = readable ? catalogueIssues(raw) : [];
  for (const line of problems) issues.add(`${field}.catalogue${s.catalogueFile ? ` (${s.catalogueFile})` : ''}`, line);
  let idHashKey = s.idHashKey;
  if (idHashKey === undefined) {
    idHashKey = issues.readText(`${field}.idHashKeyFile`, s.idHashKeyFile!)?.trim();
    if (idHashKey !== undefined && idHashKey.length < MIN_ID_HASH_KEY) {
      issues.add(`${field}.idHashKeyFile`, `the key in ${s.idHashKeyFile} has ${idHashKey.length} characters; at least ${MIN_ID_HASH_KEY} are required, as on the gates`);
      idHashKey = undefined;
    }
  }
  if (!readable || problems.length > 0 || idHashKey === undefined) return undefined;
  const catalogue = parseCatalogue(raw);
  const booking = s.bookingChannel === undefined ? undefined : bookingChannelProblem(catalogue, s.bookingChannel);
  if (booking) {
    issues.add(`${field}.bookingChannel`, booking);
    return undefined;
  }
  return {
    catalogue,
    capacity: s.capacity,
    idHashKey,
    ...(s.staffTokenSha256 ? { staffTokenSha256: s.staffTokenSha256.toLowerCase() } : {}),
    ...(s.tourRouteUrl ? { tourRouteUrl: s.tourRouteUrl } : {}),
    ...(s.reportAt ? { reportAt: s.reportAt } : {}),
    ...(s.bookingChannel ? { bookingChannel: s.bookingChannel } : {}),
  };
}

/** Every combo part of the catalogue names one of the site's partners (sites[].partners), who gets its share. */
function comboPartnerIssues(issues: ConfigIssues, field: string, catalogue: Catalogue, partners: readonly { id: string }[]): void {
  const known = partners.map((p) => p.id);
  catalogue.ticketTypes.forEach((t, ti) => {
    t.combo?.parts.forEach((part, k) => {
      if (!known.includes(part.partner)) issues.add(`${field}.sales.catalogue`, `ticketTypes[${ti}].combo.parts[${k}].partner: unknown partner "${part.partner}" (${known.length ? `known: ${known.join(', ')}` : `no partners configured: add it under ${field}.partners`})`);
    });
  });
}

/** One site with the files it names (control key, catalogue, ID hash key); undefined when one of them is wrong. */
function loadSite(issues: ConfigIssues, i: number, s: z.infer<typeof SiteSchema>): SiteConfig | undefined {
  const pem = s.controlKey.privateKeyFile !== undefined ? issues.readText(`sites[${i}].controlKey.privateKeyFile`, s.controlKey.privateKeyFile) : s.controlKey.privateKeyPem;
  const sales = s.sales ? loadSales(issues, `sites[${i}].sales`, s.sales) : undefined;
  if (sales) comboPartnerIssues(issues, `sites[${i}]`, sales.catalogue, s.partners ?? []);
  if (pem === undefined || (s.sales && !sales)) return undefined;
  return {
    id: s.id,
    controlKey: { id: s.controlKey.id, privateKeyPem: pem },
    ...(s.gates ? { gates: s.gates } : {}),
    ...(s.offlineKeys ? { offlineKeys: s.offlineKeys } : {}),
    ...(s.maxAdmissionsPerSecond !== undefined ? { maxAdmissionsPerSecond: s.maxAdmissionsPerSecond } : {}),
    ...(s.kiosks ? { kiosks: s.kiosks } : {}),
    ...(sales ? { sales } : {}),
    ...(s.visitors ? { visitors: s.visitors } : {}),
    ...(s.pos ? { pos: s.pos } : {}),
    ...(s.marketing ? { marketing: s.marketing } : {}),
    ...(s.partners ? { partners: s.partners } : {}),
    ...(s.insight ? { insight: s.insight } : {}),
  };
}

export interface LoadedCloudConfig {
  options: Omit<CloudBridgeOptions, 'logger'>;
  broker?: { port: number; host: string };
  /** What provisioning bundles tell devices (mqtt.publicUrl, mqtt.caFile, http.publicUrl, http.gatePublicUrl); see bin/provision-command.ts. */
  devices: { mqttUrl?: string; caPem?: string; httpUrl?: string; gateHttpUrl?: string };
}

/**
 * Read cloud.yaml. Relative paths resolve against the file's folder; DATABASE_URL in the
 * environment overrides database.url. Errors name the file and every bad field.
 */
export function loadCloudConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedCloudConfig {
  const { raw, issues } = readYamlConfig(file);
  const checked = issues.check(CloudConfigSchema, raw);
  // Every site's files are read even when another part is wrong, so one run names all mistakes.
  const rawSites = raw !== null && typeof raw === 'object' && 'sites' in raw && Array.isArray(raw.sites) ? (raw.sites as unknown[]) : [];
  const sites = rawSites.map((r, i) => {
    const site = SiteSchema.safeParse(r);
    return site.success ? loadSite(issues, i, site.data) : undefined;
  });
  // The SMS keys and token are read from their files (or the environment) here, so a missing one is named with the rest.
  const rawSms = raw !== null && typeof raw === 'object' && 'sms' in raw ? SmsConfigSchema.safeParse(raw.sms) : undefined;
  let smsSettings: SmsSettings | undefined;
  if (rawSms?.success) {
    const siteIds = rawSites.map((r) => (r !== null && typeof r === 'object' && 'id' in r ? String(r.id) : ''));
    smsSettings = loadSmsSettings(issues, rawSms.data, siteIds, env);
  }
  // Payment key files: paths relative to this file, each one readable (its contents are the provider's to check).
  const payments: Record<string, SitePayments> = {};
  rawSites.forEach((r, i) => {
    const site = SiteSchema.safeParse(r);
    if (!site.success || !site.data.payments) return;
    const p = sitePaymentsFromConfig(site.data.payments, (f) => issues.resolve(f));
    for (const k of keyFiles(p)) issues.readText(`sites[${i}].payments.${k.field}`, k.path);
    payments[site.data.id] = p;
  });
  // The booking page takes money through the site's providers and logs visitors in with the SMS `code` template.
  sites.forEach((site, i) => {
    if (!site?.sales?.bookingChannel) return;
    const field = `sites[${i}].sales.bookingChannel`;
    if (!payments[site.id]) issues.add(field, `the booking page takes the money through WeChat Pay / Alipay: configure sites[${i}].payments`);
    if (smsSettings && !smsSettings.sites[site.id]?.templates.code) issues.add(field, `visitors log in with an SMS code: add a "code" template (variable: code) under sms.sites.${site.id}.templates`);
  });
  const rawMqtt = raw !== null && typeof raw === 'object' && 'mqtt' in raw && raw.mqtt !== null && typeof raw.mqtt === 'object' ? (raw.mqtt as Record<string, unknown>) : {};
  const caPem = typeof rawMqtt.caFile === 'string' && rawMqtt.caFile !== '' ? issues.readText('mqtt.caFile', rawMqtt.caFile) : undefined;
  issues.throwIfAny();
  const cfg = checked!;
  const abs = (p: string): string => issues.resolve(p, [':memory:']);
  const databaseUrl = env.DATABASE_URL || cfg.database.url;
  return {
    options: {
      ...(databaseUrl ? { databaseUrl } : { sqlitePath: abs(cfg.database.sqlitePath) }),
      // The operator's word that PostgreSQL is backed up before pending migrations run (docs/backup.md).
      ...(env.STILE_MIGRATE_WITHOUT_BACKUP === '1' ? { migrateWithoutBackup: true } : {}),
      ...(cfg.backup ? { backup: { dir: abs(cfg.backup.dir), everyHours: cfg.backup.everyHours, keep: cfg.backup.keep } } : {}),
      mqttUrl: cfg.mqtt.url,
      mqttProtocol: cfg.mqtt.protocolVersion ?? (cfg.broker ? 4 : 5),
      sharedGroup: cfg.mqtt.sharedGroup,
      ...(cfg.mqtt.clientId ? { clientId: cfg.mqtt.clientId } : {}),
      sessionExpirySec: cfg.mqtt.sessionExpirySec,
      ingestConnections: cfg.mqtt.ingestConnections,
      httpPort: cfg.http.port,
      httpHost: cfg.http.host,
      ...(cfg.http.publicUrl ? { publicUrl: cfg.http.publicUrl } : {}),
      ...(cfg.http.gatePort !== undefined ? { gateHttpPort: cfg.http.gatePort, ...(cfg.http.gateHost ? { gateHttpHost: cfg.http.gateHost } : {}) } : {}),
      ...(cfg.http.metricsTokenSha256 ? { metricsTokenSha256: cfg.http.metricsTokenSha256 } : {}),
      unknownGates: cfg.unknownGates,
      retainDeltas: cfg.retainDeltas,
      ...(cfg.salesTuning ? { salesOptions: cfg.salesTuning } : {}),
      sites: sites as SiteConfig[],
      ...(cfg.alerts ? { alertWebhook: { url: cfg.alerts.webhookUrl, secret: cfg.alerts.secret } } : {}),
      ...(cfg.demo ? { demoMode: true } : {}),
      ...(Object.keys(payments).length > 0 || cfg.payments
        ? { payments: { sites: payments, ...(cfg.payments?.notifyBaseUrl ? { notifyBaseUrl: cfg.payments.notifyBaseUrl } : {}), ...(cfg.payments?.sweepEveryMs !== undefined ? { sweepEveryMs: cfg.payments.sweepEveryMs } : {}), ...(cfg.payments?.codePayments ? { codePayments: cfg.payments.codePayments } : {}), ...(cfg.payments?.reconciliation ? { reconciliation: reconciliationFromConfig(cfg.payments.reconciliation) } : {}) } }
        : {}),
      ...(smsSettings ? { smsSettings } : {}),
    },
    ...(cfg.broker ? { broker: cfg.broker } : {}),
    devices: {
      ...(cfg.mqtt.publicUrl ? { mqttUrl: cfg.mqtt.publicUrl } : {}),
      ...(caPem ? { caPem } : {}),
      ...(cfg.http.publicUrl ? { httpUrl: cfg.http.publicUrl } : {}),
      ...(cfg.http.gatePublicUrl ? { gateHttpUrl: cfg.http.gatePublicUrl } : {}),
    },
  };
}
