import { parseArgs } from 'node:util';
import pino, { type Logger } from 'pino';
import { CAPACITY_LEVELS, isStileError } from '@stile/config';
import { loadAnnouncerConfig, type LoadedConfig } from '../config.js';
import { startAnnouncer } from '../daemon.js';
import { startAnnouncerMetrics } from '../metrics.js';
import { createNotifier, effectiveLogLevel, guardRoot, NotifyError, type Notifier } from '@stile/service';
import { superviseAnnouncer } from '../supervision.js';
import { locateWasm, WASM_PACKAGE } from '../espeak-wasm.js';
import { chooseEngine, CommandSpeaker, DryRunSpeaker, planFor, playerArgv, type Utterance } from '../speech.js';
import { PROVISION_USAGE, provisionMain } from '../provision.js';

const USAGE =
  'usage: stile-announcer --config <announcer.yaml> [--dry-run]\n' +
  '       stile-announcer --config <announcer.yaml> --check     validate the config, find the speech engine and the player\n' +
  '       stile-announcer --config <announcer.yaml> --test      speak a test sentence in each language (and each clip) once\n' +
  `       ${PROVISION_USAGE.slice('usage: '.length)}   write announcer.yaml from a bundle (docs/provisioning.md)`;

const TEST_TEXT = { zh: '这是景区广播测试。', en: 'This is a test of the park announcements.' };

/** JSON lines, written synchronously (stdout; stderr in --dry-run, whose stdout is the "would say" lines). */
function createLogger(level: string, fd: 1 | 2): Logger {
  return pino({ name: 'stile-announcer', level, base: { pid: process.pid } }, pino.destination({ dest: fd, sync: true }));
}

/** Levels that are spoken with espeak-ng (no clip): only then is espeak-ng needed. */
function needsSpeech(loaded: LoadedConfig): boolean {
  return CAPACITY_LEVELS.some((l) => loaded.config.clips[l] === undefined);
}

async function check(loaded: LoadedConfig, speaker: CommandSpeaker): Promise<number> {
  const cfg = loaded.config;
  const lines = [`${loaded.file}: valid (site ${cfg.site.id}, device ${cfg.device.id})`];
  let ok = true;
  if (needsSpeech(loaded)) {
    const err = await speaker.check();
    if (err) ok = false;
    const engine = speaker.engine!;
    const voices = `voices ${cfg.speech.languages.map((l) => `${l}=${cfg.speech.voices[l]}`).join(', ')}`;
    const what = engine.engine === 'wasm' ? `wasm ok (${WASM_PACKAGE} ${wasmVersion()}; ${engine.reason}; ${voices})` : `${cfg.speech.espeak} ok (${engine.program ?? cfg.speech.espeak}; ${engine.reason}; ${voices})`;
    lines.push(err ? `speech: ${err.message}` : `speech: ${what}`);
    const warning = err ? null : await speaker.mandarinWarning();
    if (warning) lines.push(`speech: warning: ${warning}`);
    speaker.close();
  }
  const files = [...(needsSpeech(loaded) ? ['(speech).wav'] : []), ...new Set(CAPACITY_LEVELS.flatMap((l) => (cfg.clips[l] ? [cfg.clips[l]] : [])))];
  for (const f of files) {
    try {
      lines.push(`player for ${f}: ${playerArgv(cfg, f).join(' ')}`);
    } catch (err) {
      ok = false;
      lines.push(`player for ${f}: ${(err as Error).message}`);
    }
  }
  (ok ? console.log : console.error)(lines.join('\n'));
  return ok ? 0 : 1;
}

async function testSpeech(loaded: LoadedConfig, speaker: CommandSpeaker): Promise<number> {
  const cfg = loaded.config;
  const plans: Utterance[][] = [planFor({ ...cfg, clips: {} }, 'green', TEST_TEXT)];
  for (const l of CAPACITY_LEVELS) if (cfg.clips[l]) plans.push(planFor(cfg, l, null));
  const engine = chooseEngine(cfg);
  console.log(`speech engine: ${engine.engine} (${engine.reason})`);
  for (const plan of plans) {
    for (const u of plan) console.log(u.kind === 'tts' ? `saying (${u.lang}, voice ${u.voice}): ${u.text}` : `playing ${u.file}`);
    try {
      await speaker.say(plan, new AbortController().signal);
    } catch (err) {
      console.error(`stile-announcer: ${(err as Error).message}`);
      return 1;
    }
  }
  speaker.close();
  return 0;
}

function wasmVersion(): string {
  try {
    return locateWasm().version;
  } catch {
    return '(not installed)';
  }
}

async function main(): Promise<number> {
  if (process.argv[2] === 'provision') return provisionMain(process.argv.slice(3));
  let values;
  try {
    values = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        'dry-run': { type: 'boolean' },
        check: { type: 'boolean' },
        test: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    console.error(`stile-announcer: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.config) {
    console.error(`stile-announcer: --config is required\n${USAGE}`);
    return 2;
  }
  const root = guardRoot('stile-announcer');
  if (!root.ok) return 1;
  let loaded: LoadedConfig;
  try {
    loaded = loadAnnouncerConfig(values.config);
  } catch (err) {
    console.error(isStileError(err) ? `stile-announcer: ${err.code}: ${err.message}` : `stile-announcer: ${(err as Error).stack}`);
    return 1;
  }
  const dry = values['dry-run'] === true;
  const log = createLogger(effectiveLogLevel(loaded.config.log.level), dry ? 2 : 1);
  const real = new CommandSpeaker(loaded.config, {
    onPlay: (u, file) => log.debug({ event: 'play', part: u.kind === 'tts' ? u.lang : 'clip', file }, 'playing'),
    // Said once (and again if it changes): which engine renders the texts, and why.
    onEngine: (c) => {
      if (values.check || values.test || dry) return;
      log.info({ event: 'speech_engine', engine: c.engine, reason: c.reason, ...(c.program ? { program: c.program } : {}) }, `speech engine: ${c.engine} (${c.reason})`);
    },
  });
  if (values.check) return check(loaded, real);
  if (values.test) return testSpeech(loaded, real);
  if (root.warning) log.warn({ event: 'running_as_root' }, root.warning);
  let notifier: Notifier;
  try {
    // Under systemd (Type=notify): READY=1 once subscribed (or after a bounded wait for the broker).
    notifier = createNotifier({ log });
  } catch (err) {
    if (!(err instanceof NotifyError)) throw err;
    console.error(`stile-announcer: ${err.message}`);
    return 1;
  }

  if (!dry && needsSpeech(loaded)) {
    // Not fatal: the PA keeps listening (and logs what it could not say); once espeak-ng is installed it speaks, no restart needed.
    const err = await real.check();
    if (err) log.error({ event: 'speech_unavailable', err: err.message, fix: err.fix }, `cannot speak: ${err.message}`);
    const warning = err ? null : await real.mandarinWarning();
    if (warning) log.warn({ event: 'speech_warning', warning }, warning);
  }
  const speaker = dry ? new DryRunSpeaker((line) => process.stdout.write(`${line}\n`)) : real;
  const daemon = startAnnouncer(loaded, log, speaker);
  // announcer.yaml `metrics` (not fatal when it cannot start).
  const metrics = await startAnnouncerMetrics(loaded.config, daemon, log);
  const supervision = superviseAnnouncer(daemon, notifier);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ event: 'shutdown', signal }, 'shutting down');
      supervision.stop();
      notifier.stopping(`stopping (${signal})`);
      daemon.stop().finally(() => real.close()).finally(() => metrics?.close()).then(resolve, (err: Error) => {
        log.error({ err: err.message }, 'error during shutdown');
        resolve();
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}

process.on('uncaughtException', (err) => {
  // Keep the PA listening: one bad event must not silence it. Logged loudly.
  console.error(JSON.stringify({ level: 50, msg: 'uncaught exception', err: err.stack }));
});

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`stile-announcer: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
