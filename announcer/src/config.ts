import { accessSync, constants } from 'node:fs';
import { extname } from 'node:path';
import { z } from 'zod';
import {
  CAPACITY_LEVELS,
  ConfigIssues,
  PublicKeySchema,
  loadTrustedKeys,
  METRICS_PORTS,
  metricsSchema,
  readYamlConfig,
  timeZone,
  type TrustedKeys,
} from '@stile/config';

export type Level = (typeof CAPACITY_LEVELS)[number];
export const LANGUAGES = ['zh', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const SPEECH_ENGINES = ['auto', 'espeak-ng', 'wasm'] as const;

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected lowercase letters, digits and dashes');
/** A device id in the cloud's registry (config/src/credentials.ts). */
const deviceId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1–64 chars of [A-Za-z0-9_-]');

const MqttSchema = z
  .object({
    url: z.string().regex(/^(mqtts?|wss?):\/\//, 'expected mqtt://, mqtts://, ws:// or wss:// URL'),
    /** Default `screen.<site>.<device>`: the registry's name for this device (a PA reads what a screen reads). */
    username: z.string().min(1).optional(),
    /** First line is the device's token (`stile-cloud screen add SITE DEVICE`); chmod 600. */
    passwordFile: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Default `stile-screen-<site>-<device>`: the broker lets a screen use only its own prefix. */
    clientId: z.string().min(1).max(128).optional(),
    /** 5 (default) or 4 (MQTT 3.1.1, e.g. the cloud's embedded Aedes broker). */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
    keepaliveSec: z.number().int().min(5).max(600).default(30),
    /** Reconnect backoff: doubles from min to max, plus up to 25 % jitter. */
    reconnectMinMs: z.number().int().min(10).default(1000),
    reconnectMaxMs: z.number().int().min(10).default(30_000),
    /** The broker keeps QoS 1 announcements for this long while the PA is away (MQTT 5). */
    sessionExpirySec: z.number().int().min(0).default(600),
  })
  .strict();

/** A section left empty in YAML (`clips:` with only comments under it) is null: read as absent. */
const orAbsent = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === null ? undefined : v), schema);

const clipPath = z
  .string()
  .min(1)
  .refine((p) => ['.wav', '.mp3'].includes(extname(p).toLowerCase()), 'expected a .wav or .mp3 file');

export const AnnouncerConfigSchema = z
  .object({
    version: z.literal(1),
    site: z.object({ id: slug, timezone: timeZone.default('Asia/Shanghai') }).strict(),
    /** This PA's device id: its MQTT login is the registry's `screen.<site>.<id>` credential. */
    device: z.object({ id: deviceId }).strict(),
    mqtt: MqttSchema,
    keys: z
      .object({
        /** The site's control public key(s): an announcement or capacity that does not verify under one is never spoken. */
        control: z.array(PublicKeySchema).min(1, 'give the site\'s control public key: the announcer speaks nothing it cannot verify'),
      })
      .strict(),
    speech: z
      .object({
        /** Which texts to speak and in what order. */
        languages: z.array(z.enum(LANGUAGES)).min(1).max(2).default(['zh', 'en']),
        /** espeak-ng voices: `cmn` is Mandarin; `en`, `en-gb`, `en-us` … for English (`espeak-ng --voices`). */
        voices: z
          .object({ zh: z.string().min(1).default('cmn'), en: z.string().min(1).default('en') })
          .strict()
          .default({ zh: 'cmn', en: 'en' }),
        /** Words per minute (espeak-ng -s); a little slower than the default 175 carries better over a PA. */
        speed: z.number().int().min(80).max(450).default(150),
        /** Volume (espeak-ng -a, 0–200). */
        amplitude: z.number().int().min(0).max(200).default(100),
        /** Pause between the languages. */
        gapMs: z.number().int().min(0).max(10_000).default(800),
        /** The espeak-ng program (a path, or a name on PATH). */
        espeak: z.string().min(1).default('espeak-ng'),
        /**
         * What renders the texts: `espeak-ng` (the system program), `wasm` (its Emscripten build,
         * an npm dependency: nothing to apt-get) or `auto` (espeak-ng when it is installed, else wasm).
         */
        engine: z.enum(SPEECH_ENGINES).default('auto'),
      })
      .strict()
      .default({ languages: ['zh', 'en'], voices: { zh: 'cmn', en: 'en' }, speed: 150, amplitude: 100, gapMs: 800, espeak: 'espeak-ng', engine: 'auto' }),
    /** A recorded clip per level (WAV or MP3), played instead of the synthesised text for that level. */
    clips: orAbsent(
      z
        .object({ green: clipPath.optional(), yellow: clipPath.optional(), orange: clipPath.optional(), red: clipPath.optional() })
        .strict()
        .default({}),
    ),
    player: orAbsent(
      z
        .object({
          /**
           * The command that plays one file, `{file}` standing for it, e.g. `[aplay, -q, -D, "plughw:1,0", "{file}"]`.
           * Default: `aplay -q` (or `paplay` where aplay is missing) for WAV, `mpg123 -q` for MP3.
           */
          command: z
            .array(z.string().min(1))
            .min(1)
            .refine((a) => a.includes('{file}'), 'one argument must be "{file}" (the file to play)')
            .optional(),
        })
        .strict()
        .default({}),
    ),
    repeat: z
      .object({
        /** Say a held announcement again this long after the previous one ended; 0 = say each once. */
        intervalSec: z.number().int().min(0).max(86_400).default(300),
        /** The levels that repeat while they hold (green never does). */
        levels: z
          .array(z.enum(CAPACITY_LEVELS))
          .default(['yellow', 'orange', 'red'])
          .refine((l) => !l.includes('green'), 'green is never repeated: it ends the repeat'),
      })
      .strict()
      .default({ intervalSec: 300, levels: ['yellow', 'orange', 'red'] }),
    /** An announcement older than this (by its `at`), or as far in the future, is not spoken. */
    maxAgeMin: z.number().min(0.1).max(1440).default(10),
    /** Prometheus text on loopback (docs/metrics.md); absent: no metrics server. */
    metrics: metricsSchema(METRICS_PORTS.announcer).optional(),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const ids = new Set<string>();
    cfg.keys.control.forEach((k, i) => {
      if (ids.has(k.id)) ctx.addIssue({ code: 'custom', message: `duplicate key id "${k.id}"`, path: ['keys', 'control', i, 'id'] });
      ids.add(k.id);
    });
    if (new Set(cfg.speech.languages).size !== cfg.speech.languages.length) {
      ctx.addIssue({ code: 'custom', message: 'each language at most once', path: ['speech', 'languages'] });
    }
    if (cfg.mqtt.reconnectMaxMs < cfg.mqtt.reconnectMinMs) {
      ctx.addIssue({ code: 'custom', message: 'reconnectMaxMs must be at least reconnectMinMs', path: ['mqtt', 'reconnectMaxMs'] });
    }
  });
export type AnnouncerConfig = z.infer<typeof AnnouncerConfigSchema>;

export interface LoadedConfig {
  config: AnnouncerConfig;
  /** The control keys, parsed. */
  trusted: TrustedKeys;
  /** The file it came from. */
  file: string;
}

/** Files the config names: checked readable (on the raw value, so they are reported even when other fields are wrong). */
const FILE_FIELDS: readonly (readonly [string, string])[] = [
  ['mqtt', 'passwordFile'],
  ['mqtt', 'caFile'],
  ['mqtt', 'certFile'],
  ['mqtt', 'keyFile'],
  ...CAPACITY_LEVELS.map((l) => ['clips', l] as const),
];

function field(raw: unknown, section: string, key: string): unknown {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const s = (raw as Record<string, unknown>)[section];
  return typeof s === 'object' && s !== null ? (s as Record<string, unknown>)[key] : undefined;
}

/**
 * Read and validate announcer.yaml. Every mistake is reported at once (StileError
 * CONFIG_INVALID, one line per problem: `file: field.path: message`), unreadable files and
 * bad keys included. Relative paths resolve against the file's folder.
 */
export function loadAnnouncerConfig(file: string): LoadedConfig {
  const { raw, issues } = readYamlConfig(file);
  const parsed = issues.check(AnnouncerConfigSchema, raw);
  for (const [section, key] of FILE_FIELDS) {
    const p = field(raw, section, key);
    if (typeof p !== 'string' || p === '') continue;
    try {
      accessSync(issues.resolve(p), constants.R_OK);
    } catch (err) {
      issues.add(`${section}.${key}`, `cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  let trusted: TrustedKeys | undefined;
  if (parsed) {
    parsed.keys.control.forEach((k, i) => {
      try {
        loadTrustedKeys([k]);
      } catch (err) {
        issues.add(`keys.control[${i}].publicKey`, (err as Error).message.replace(/^offline key/, 'control key'));
      }
    });
    try {
      trusted = loadTrustedKeys(parsed.keys.control);
    } catch {
      // reported per key above
    }
  }
  issues.throwIfAny();
  return { config: resolvePaths(parsed!, issues), trusted: trusted!, file };
}

function resolvePaths(cfg: AnnouncerConfig, issues: ConfigIssues): AnnouncerConfig {
  const abs = (p: string | undefined) => (p === undefined ? undefined : issues.resolve(p));
  const mqtt = { ...cfg.mqtt };
  for (const k of ['passwordFile', 'caFile', 'certFile', 'keyFile'] as const) if (mqtt[k] !== undefined) mqtt[k] = abs(mqtt[k]);
  const clips: AnnouncerConfig['clips'] = {};
  for (const l of CAPACITY_LEVELS) if (cfg.clips[l] !== undefined) clips[l] = abs(cfg.clips[l]);
  return { ...cfg, mqtt, clips, ...(cfg.metrics?.tokenFile ? { metrics: { ...cfg.metrics, tokenFile: abs(cfg.metrics.tokenFile) } } : {}) };
}
