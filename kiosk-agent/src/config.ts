/**
 * kiosk.yaml: validated once at start, every mistake reported at once with its field path
 * (the house style of gate.yaml: @stile/config loadYamlConfig / ConfigIssues). Relative paths
 * resolve against the file's folder; the API key files are read here, so a missing key is a
 * config error, not a failed sale.
 */
import { dirname, join } from 'node:path';
import { InputSchema, loadYamlConfig, METRICS_PORTS, metricsSchema, plainHttpProblem, StileError, StileErrorCode, type ConfigIssues } from '@stile/config';
import { z } from 'zod';
import { CashDevicesSchema } from './devices/cctalk-config.js';
import { DEFAULT_SALE_CONFIG, type SaleConfig } from './sale/model.js';
import { KioskSyncConfigSchema, resolveSyncConfig, type KioskSyncConfig } from './sync/sync-config.js';

const slug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected lower-case letters, digits, - and _ (at most 63)');
const ms = (min: number, max: number) => z.number().int().min(min).max(max);
const localText = z.object({ 'zh-CN': z.string().min(1).max(60), en: z.string().min(1).max(60) }).strict();
const method = z.enum(['cash', 'code', 'qr', 'staff_cash']);

const PrinterSchema = z
  .object({
    transport: z.enum(['serial', 'usblp']).default('serial'),
    path: z.string().min(1, 'expected the printer device, e.g. /dev/ttyUSB1 or /dev/usb/lp0'),
    baudRate: z.number().int().positive().default(115200),
    flowControl: z.enum(['none', 'rtscts', 'xonxoff']).default('none'),
    /** 48 on 80 mm paper, 32 on 58 mm. */
    widthChars: z.number().int().min(24).max(64).default(48),
    statusTimeoutMs: ms(50, 5000).default(500),
    jobTimeoutMs: ms(500, 60_000).default(8000),
    /** How often the printer's status is read while the kiosk waits (it is also the reconnect). */
    pollMs: ms(200, 60_000).default(2000),
    /** Print a receipt after the tickets. */
    receipt: z.boolean().default(true),
  })
  .strict();

/** The payment-code scanner: a gate-agent input that reads QR/bar codes (serial, USB HID, or lines from a FIFO for tests). */
const ScannerSchema = InputSchema.refine((i) => i.type !== 'idcard-ga467', { message: 'the payment-code scanner must be a qr-serial, qr-hid or lines input' });
const IdReaderSchema = InputSchema.refine((i) => i.type === 'idcard-ga467', { message: 'the ID-card reader must be an idcard-ga467 input' });

const SaleSchema = z
  .object({
    methods: z.array(method).min(1).optional(),
    notesFen: z.array(z.number().int().positive()).min(1).optional(),
    maxPersons: z.number().int().min(1).max(50).optional(),
    idleMs: ms(5000, 3_600_000).optional(),
    doneMs: ms(1000, 600_000).optional(),
    codeTimeoutMs: ms(5000, 300_000).optional(),
    qrTimeoutMs: ms(10_000, 900_000).optional(),
    pollMs: ms(200, 60_000).optional(),
    deviceTimeoutMs: ms(1000, 120_000).optional(),
    closeRetries: z.number().int().min(1).max(50).optional(),
    recordRetries: z.number().int().min(1).max(50).optional(),
    owedScreenMs: ms(5000, 3_600_000).optional(),
  })
  .strict();

/** A staff member of the staffed window: the PIN only as its scrypt hash (`kioskctl hash-pin`). */
const StaffSchema = z
  .object({
    id: slug,
    name: z.string().min(1).max(40).optional(),
    pinHash: z.string().regex(/^scrypt\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'expected scrypt$<salt>$<hash> from "kioskctl hash-pin"'),
  })
  .strict();

const WindowSchema = z
  .object({
    staff: z.array(StaffSchema).min(1, 'the staffed window needs at least one staff member'),
    /** The site's ID hash key (the cloud's `idHashKey`): the window looks visitors up by the keyed hash of their ID number. */
    idHashKeyFile: z.string().min(1).optional(),
    /** Wrong PINs in a row before that staff id is locked out for `lockoutMs`. */
    maxPinTries: z.number().int().min(1).max(20).default(5),
    lockoutMs: ms(10_000, 3_600_000).default(300_000),
  })
  .strict();

export const KioskConfigSchema = z
  .object({
    version: z.literal(1),
    site: z.object({ id: slug, name: localText.optional(), timezone: z.string().min(1).default('Asia/Shanghai') }).strict(),
    kiosk: z.object({ id: slug, mode: z.enum(['kiosk', 'window']).default('kiosk') }).strict(),
    cloud: z
      .object({
        /** The cloud-bridge's base URL; https unless loopback or `insecure`. */
        url: z.string().url(),
        insecure: z.boolean().default(false),
        /** The kiosk channel's API key (one line). Its catalogue `payment` is said in `payment`. */
        apiKeyFile: z.string().min(1),
        payment: z.enum(['provider', 'partner']).default('provider'),
        /** A second kiosk channel of `payment: partner` for cash, when the first is `provider`. */
        cashApiKeyFile: z.string().min(1).optional(),
        /** The order's contact phone (the channel API needs one; the kiosk prints the ticket, so this is the park's own number). */
        contactPhone: z.string().regex(/^1\d{10}$/, 'an 11-digit mainland mobile number (the park office\'s)'),
        /** WeChat Pay or Alipay for the QR code on screen; payment codes go to the provider their digits name. */
        qrProvider: z.enum(['wechat', 'alipay']).default('wechat'),
        /** The catalogue's refund reason for money given back automatically (a cancelled or failed sale). */
        refundReason: z.string().min(1).default('kiosk_fault'),
        timeoutMs: ms(500, 60_000).default(5000),
      })
      .strict(),
    devices: z
      .object({
        cash: CashDevicesSchema.nullable().default(null),
        /** Coins in the hopper when the journal is new (later counts come from the journal). */
        hopperCoins: z.number().int().min(0).max(100_000).default(0),
        printer: PrinterSchema,
        paymentScanner: ScannerSchema.optional(),
        idReader: IdReaderSchema.optional(),
      })
      .strict(),
    journal: z.object({ path: z.string().min(1) }).strict(),
    sale: SaleSchema.default({}),
    /** The touchscreen page (docs/kiosk-screen.md): served on loopback only unless `host` says otherwise; absent, no page. */
    screen: z.object({ host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(8780) }).strict().optional(),
    /** The outbox to the cloud's broker and offline cash sales (docs/kiosk-offline.md); absent, online only. */
    sync: KioskSyncConfigSchema.optional(),
    /** How often the sale machine gets a `tick` (its timeouts and polls are counted in them). */
    tickMs: ms(20, 5000).default(250),
    /** The staffed window (kiosk.mode: window): its staff and the ID hash key for lookups. */
    window: WindowSchema.optional(),
    /** kioskctl's control socket (a Unix socket, owner only); default: kioskctl.sock beside the journal. */
    control: z.object({ socket: z.string().min(1).max(100) }).strict().optional(),
    /** Prometheus text on loopback (docs/metrics.md); absent: no metrics server. */
    metrics: metricsSchema(METRICS_PORTS.kiosk).optional(),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).strict().default({ level: 'info' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const methods = c.sale.methods ?? defaultMethods(c.kiosk.mode);
    const cashy = methods.filter((m) => m === 'cash' || m === 'staff_cash');
    if (cashy.length > 0 && c.cloud.payment !== 'partner' && !c.cloud.cashApiKeyFile) {
      ctx.addIssue({ code: 'custom', path: ['cloud', 'cashApiKeyFile'], message: `${cashy.join(', ')} needs a partner-mode kiosk channel: set cloud.payment: partner or give cashApiKeyFile` });
    }
    const provider = methods.filter((m) => m === 'code' || m === 'qr');
    if (provider.length > 0 && c.cloud.payment !== 'provider') {
      ctx.addIssue({ code: 'custom', path: ['sale', 'methods'], message: `${provider.join(', ')} needs cloud.payment: provider (the channel pays through WeChat Pay / Alipay)` });
    }
    if (methods.includes('cash') && !c.devices.cash) ctx.addIssue({ code: 'custom', path: ['devices', 'cash'], message: 'cash needs the bill validator and hopper (devices.cash)' });
    if (methods.includes('code') && !c.devices.paymentScanner) ctx.addIssue({ code: 'custom', path: ['devices', 'paymentScanner'], message: 'code needs a payment-code scanner' });
    if (c.kiosk.mode === 'window' && !c.window) ctx.addIssue({ code: 'custom', path: ['window'], message: 'kiosk.mode: window needs window.staff (ids and PIN hashes)' });
    if (c.window?.staff) {
      const ids = new Set<string>();
      c.window.staff.forEach((st, i) => {
        if (ids.has(st.id)) ctx.addIssue({ code: 'custom', path: ['window', 'staff', i, 'id'], message: `staff id ${st.id} is listed twice` });
        ids.add(st.id);
      });
    }
    if (methods.includes('staff_cash') && c.kiosk.mode !== 'window') ctx.addIssue({ code: 'custom', path: ['sale', 'methods'], message: 'staff_cash is for the staffed window (kiosk.mode: window)' });
    const problem = plainHttpProblem(c.cloud.url, c.cloud.insecure);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cloud', 'url'], message: problem });
    const ports = new Map<string, string>();
    const claim = (path: string | undefined, field: string) => {
      if (!path || path === '-') return;
      const owner = ports.get(path);
      if (owner) ctx.addIssue({ code: 'custom', path: field.split('.'), message: `${path} is also used by ${owner}; each device needs its own port` });
      ports.set(path, field);
    };
    claim(c.devices.cash?.path, 'devices.cash.path');
    claim(c.devices.printer.path, 'devices.printer.path');
    claim(c.devices.paymentScanner && 'path' in c.devices.paymentScanner ? c.devices.paymentScanner.path : undefined, 'devices.paymentScanner.path');
    claim(c.devices.idReader && 'path' in c.devices.idReader ? c.devices.idReader.path : undefined, 'devices.idReader.path');
  });

export type KioskConfigFile = z.infer<typeof KioskConfigSchema>;

/** The config as the daemon uses it: paths absolute, keys read, the sale machine's settings filled in. */
export interface KioskConfig extends Omit<KioskConfigFile, 'sale' | 'cloud' | 'window' | 'control' | 'sync'> {
  sync?: KioskSyncConfig;
  cloud: Omit<KioskConfigFile['cloud'], 'apiKeyFile' | 'cashApiKeyFile'> & { apiKey: string; cashApiKey?: string };
  sale: SaleConfig;
  window?: Omit<NonNullable<KioskConfigFile['window']>, 'idHashKeyFile'> & { idHashKey?: string };
  control: { socket: string };
}

function defaultMethods(mode: 'kiosk' | 'window'): SaleConfig['methods'] {
  return mode === 'window' ? ['staff_cash', 'code'] : DEFAULT_SALE_CONFIG.methods;
}

/** The sale machine's settings: the defaults, the mode, and what kiosk.yaml sets. */
export function saleConfigOf(c: Pick<KioskConfigFile, 'kiosk' | 'sale'>): SaleConfig {
  const set = Object.fromEntries(Object.entries(c.sale).filter(([, v]) => v !== undefined)) as Partial<SaleConfig>;
  return { ...DEFAULT_SALE_CONFIG, methods: defaultMethods(c.kiosk.mode), ...set, mode: c.kiosk.mode };
}

function readKey(issues: ConfigIssues, field: string, file: string): string {
  const text = issues.readText(field, file)?.trim() ?? '';
  if (text === '' && issues.list.every((i) => i.path !== field)) issues.add(field, 'the key file is empty');
  return text;
}

/** A validated config from a parsed value (tests, the demo); `issues` resolves paths and reads key files. */
export function resolveKioskConfig(file: KioskConfigFile, issues: ConfigIssues): KioskConfig {
  const abs = (p: string) => issues.resolve(p, ['-']);
  const { apiKeyFile, cashApiKeyFile, ...cloud } = file.cloud;
  const apiKey = readKey(issues, 'cloud.apiKeyFile', apiKeyFile);
  const cashApiKey = cashApiKeyFile ? readKey(issues, 'cloud.cashApiKeyFile', cashApiKeyFile) : undefined;
  const { idHashKeyFile, ...win } = file.window ?? { staff: [], maxPinTries: 5, lockoutMs: 300_000 };
  const idHashKey = idHashKeyFile ? readKey(issues, 'window.idHashKeyFile', idHashKeyFile) : undefined;
  const sync = file.sync ? resolveSyncConfig(file.sync, issues) : undefined;
  issues.throwIfAny();
  const d = file.devices;
  return {
    ...file,
    cloud: { ...cloud, apiKey, ...(cashApiKey ? { cashApiKey } : {}) },
    devices: {
      ...d,
      cash: d.cash ? { ...d.cash, path: abs(d.cash.path) } : null,
      printer: { ...d.printer, path: abs(d.printer.path) },
      ...(d.paymentScanner ? { paymentScanner: 'path' in d.paymentScanner ? { ...d.paymentScanner, path: abs(d.paymentScanner.path) } : d.paymentScanner } : {}),
      ...(d.idReader ? { idReader: 'path' in d.idReader ? { ...d.idReader, path: abs(d.idReader.path) } : d.idReader } : {}),
    },
    journal: { path: abs(file.journal.path) },
    sale: saleConfigOf(file),
    sync,
    ...(file.window ? { window: { ...win, ...(idHashKey ? { idHashKey } : {}) } } : {}),
    control: { socket: file.control ? abs(file.control.socket) : join(dirname(abs(file.journal.path)), 'kioskctl.sock') },
    ...(file.metrics?.tokenFile ? { metrics: { ...file.metrics, tokenFile: abs(file.metrics.tokenFile) } } : {}),
  };
}

/**
 * Read, parse and validate kiosk.yaml. Throws StileError(CONFIG_UNREADABLE | CONFIG_INVALID)
 * whose message names the file and every bad field ("kiosk.yaml: cloud.url: …").
 */
export function loadKioskConfig(file: string): KioskConfig {
  const { config, issues } = loadYamlConfig(file, KioskConfigSchema);
  return resolveKioskConfig(config, issues);
}

export function isConfigError(err: unknown): err is StileError {
  return err instanceof StileError && (err.code === StileErrorCode.ConfigInvalid || err.code === StileErrorCode.ConfigUnreadable);
}
