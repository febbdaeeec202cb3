import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, extname, isAbsolute, join } from 'node:path';
import type { AnnouncerConfig, Language, Level } from './config.js';
import { AbortedError, SpeechError } from './errors.js';
import { WASM_PACKAGE, WasmEspeak, WasmUnavailable } from './espeak-wasm.js';
import { encodeWav } from './wav.js';

/** One thing to say: a text in one language through espeak-ng, or a recorded clip. */
export type Utterance = { kind: 'tts'; lang: Language; voice: string; text: string } | { kind: 'clip'; file: string };

/** What to play for an announcement: the level's clip when one is configured, else each language's text in order. */
export function planFor(cfg: Pick<AnnouncerConfig, 'speech' | 'clips'>, level: Level, text: { zh: string; en: string } | null): Utterance[] {
  const clip = cfg.clips[level];
  if (clip !== undefined) return [{ kind: 'clip', file: clip }];
  if (text === null) return [];
  return cfg.speech.languages.map((lang) => ({ kind: 'tts' as const, lang, voice: cfg.speech.voices[lang], text: text[lang] }));
}

/** Plays a plan to the end, or stops at once (killing its child process) when `signal` aborts. */
export interface Speaker {
  say(plan: readonly Utterance[], signal: AbortSignal): Promise<void>;
}

export { SpeechError, AbortedError };

/** The program on PATH (or the path itself when it has a slash), or null when it is not there. */
export function which(program: string, path = process.env.PATH ?? ''): string | null {
  const candidates = program.includes('/') ? [program] : path.split(delimiter).filter((d) => d && isAbsolute(d)).map((d) => join(d, program));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

const FIX: Record<string, string> = {
  'espeak-ng': 'apt-get install espeak-ng',
  aplay: 'apt-get install alsa-utils',
  paplay: 'apt-get install pulseaudio-utils',
  mpg123: 'apt-get install mpg123',
};

/** The missing-program error, with the Debian package that brings it. */
export function missingProgram(program: string, what: string): SpeechError {
  const base = program.split('/').pop() ?? program;
  const fix = FIX[base] ?? `install ${base} or set its path in announcer.yaml`;
  return new SpeechError(`${program} not found (${what}): ${fix}`, fix);
}

/** The argv that plays `file`: the configured command, or aplay/paplay for WAV and mpg123 for MP3. */
export function playerArgv(cfg: Pick<AnnouncerConfig, 'player'>, file: string, find: (p: string) => string | null = (p) => which(p)): string[] {
  if (cfg.player.command) return cfg.player.command.map((a) => (a === '{file}' ? file : a));
  if (extname(file).toLowerCase() === '.mp3') {
    if (!find('mpg123')) throw missingProgram('mpg123', `to play ${file}; or set player.command`);
    return ['mpg123', '-q', file];
  }
  if (find('aplay')) return ['aplay', '-q', file];
  if (find('paplay')) return ['paplay', file];
  throw missingProgram('aplay', `to play ${file}; or install paplay, or set player.command`);
}

/** Run one program to its end; SIGTERM when `signal` aborts. Rejects with its stderr on a non-zero exit. */
function run(argv: readonly string[], signal: AbortSignal, opts: { stdin?: string; what: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new AbortedError('interrupted'));
    const [cmd, ...args] = argv as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 2000) stderr += d;
    });
    const onAbort = () => child.kill('SIGTERM');
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      reject(err.code === 'ENOENT' ? missingProgram(cmd, opts.what) : new SpeechError(`${cmd}: ${err.message}`));
    });
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return reject(new AbortedError('interrupted'));
      if (code === 0) return resolve();
      reject(new SpeechError(`${opts.what}: ${cmd} exited with ${code ?? sig}${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
    });
    if (opts.stdin !== undefined) {
      child.stdin!.on('error', () => undefined); // a program that dies early: reported by 'close'
      child.stdin!.end(opts.stdin, 'utf8');
    }
  });
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new AbortedError('interrupted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError('interrupted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The espeak-ng argv that renders `voice` speech to a WAV file, the text read from stdin (never parsed as options or markup). */
export function espeakArgv(cfg: Pick<AnnouncerConfig, 'speech'>, voice: string, out: string): string[] {
  return [cfg.speech.espeak, '-v', voice, '-s', String(cfg.speech.speed), '-a', String(cfg.speech.amplitude), '-b', '1', '-w', out, '--stdin'];
}

export type EngineName = 'espeak-ng' | 'wasm';

/** The speech engine in use, and why (`speech.engine`; with `auto`, whether espeak-ng was found). */
export interface EngineChoice {
  engine: EngineName;
  reason: string;
  /** The espeak-ng program found (engine espeak-ng, when it is on PATH). */
  program?: string;
}

/** Which engine renders the texts: `speech.engine`, and with `auto` the system espeak-ng when it is there, else the Emscripten build. */
export function chooseEngine(cfg: Pick<AnnouncerConfig, 'speech'>, find: (p: string) => string | null = (p) => which(p)): EngineChoice {
  const { engine, espeak } = cfg.speech;
  if (engine === 'espeak-ng') return { engine, reason: 'speech.engine: espeak-ng', ...(find(espeak) ? { program: find(espeak)! } : {}) };
  if (engine === 'wasm') return { engine, reason: 'speech.engine: wasm' };
  const program = find(espeak);
  if (program) return { engine: 'espeak-ng', reason: `auto: ${program} is installed`, program };
  return { engine: 'wasm', reason: `auto: ${espeak} is not ${espeak.includes('/') ? 'there' : 'on PATH'}, so the Emscripten build (${WASM_PACKAGE})` };
}

const WASM_FIX = `npm ci in the checkout (it installs ${WASM_PACKAGE})`;

export interface CommandSpeakerOptions {
  /** Called with each file handed to the player. */
  onPlay?: (u: Utterance, file: string) => void;
  /** Called when the engine is first chosen, and again if it changes (espeak-ng installed or removed while running, with `auto`). */
  onEngine?: (c: EngineChoice) => void;
  /** The Emscripten build's package (tests name a missing one). */
  wasmPackage?: string;
}

/**
 * The real speaker: each text is rendered to a WAV file — by espeak-ng (`-w`) or its WASM
 * build (`speech.engine`) — then that file (or the level's clip) is played with the player
 * command. One thing at a time; an abort kills the running espeak-ng or player, or
 * terminates the WASM worker.
 */
export class CommandSpeaker implements Speaker {
  private wasm: WasmEspeak | null = null;
  private current: EngineChoice | null = null;

  constructor(
    private readonly cfg: Pick<AnnouncerConfig, 'speech' | 'player'>,
    private readonly hooks: CommandSpeakerOptions = {},
  ) {}

  /** The engine chosen the last time one was needed (null before the first render or check). */
  get engine(): EngineChoice | null {
    return this.current;
  }

  /** Choose the engine now (with `auto`, each time: espeak-ng installed later is used from then on); reported when it changes. */
  private choose(): EngineChoice {
    const c = chooseEngine(this.cfg);
    if (this.current?.engine !== c.engine || this.current.program !== c.program) {
      this.current = c;
      this.hooks.onEngine?.(c);
    }
    return c;
  }

  private wasmEngine(): WasmEspeak {
    return (this.wasm ??= new WasmEspeak(this.hooks.wasmPackage));
  }

  /** The error for a Emscripten build that did not load: with `auto`, neither engine works. */
  private wasmError(err: unknown): SpeechError {
    if (!(err instanceof WasmUnavailable)) return err instanceof SpeechError ? err : new SpeechError((err as Error).message);
    if (this.cfg.speech.engine === 'wasm') {
      return new SpeechError(`the WASM speech engine did not load: ${err.message}: ${WASM_FIX}, or apt-get install espeak-ng and set speech.engine: auto`, WASM_FIX);
    }
    const fix = `apt-get install espeak-ng, or ${WASM_FIX}`;
    return new SpeechError(`no speech engine: espeak-ng not found (${this.cfg.speech.espeak}), and the Emscripten build did not load (${err.message}): ${fix}`, fix);
  }

  private readonly mandarinChecked = new Map<string, boolean>();

  /** Whether this espeak-ng reads Mandarin wrongly (checked once per program; see mandarinWarning). */
  private mandarinBroken(program: string): boolean {
    let broken = this.mandarinChecked.get(program);
    if (broken === undefined) {
      const r = spawnSync(program, ['-q', '-x', '-v', this.cfg.speech.voices.zh, '--stdin'], { input: '你好', encoding: 'utf8', timeout: 10_000 });
      broken = r.status === 0 && r.stdout.includes('(en)');
      this.mandarinChecked.set(program, broken);
    }
    return broken;
  }

  private async render(u: Extract<Utterance, { kind: 'tts' }>, file: string, signal: AbortSignal): Promise<void> {
    const c = this.choose();
    // auto: a system espeak-ng that spells Mandarin out in English is not used for zh; the Emscripten build reads it right.
    const wrongForZh = c.engine === 'espeak-ng' && this.cfg.speech.engine === 'auto' && u.lang === 'zh' && c.program !== undefined && this.mandarinBroken(c.program);
    if (c.engine === 'espeak-ng' && !wrongForZh) return run(espeakArgv(this.cfg, u.voice, file), signal, { stdin: u.text, what: `speaking ${u.lang}` });
    const wasm = this.wasmEngine();
    let samples: Int16Array;
    try {
      samples = await wasm.render(u.voice, u.text, { rate: this.cfg.speech.speed, volume: this.cfg.speech.amplitude }, signal);
    } catch (err) {
      if (err instanceof AbortedError) throw err;
      throw this.wasmError(err);
    }
    writeFileSync(file, encodeWav(samples, wasm.sampleRate));
  }

  async say(plan: readonly Utterance[], signal: AbortSignal): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'stile-announcer-'));
    try {
      for (let i = 0; i < plan.length; i++) {
        const u = plan[i]!;
        if (i > 0 && u.kind === 'tts') await pause(this.cfg.speech.gapMs, signal);
        let file: string;
        if (u.kind === 'tts') {
          file = join(dir, `${i}-${u.lang}.wav`);
          await this.render(u, file, signal);
          if (signal.aborted) throw new AbortedError('interrupted');
        } else {
          file = u.file;
        }
        this.hooks.onPlay?.(u, file);
        await run(playerArgv(this.cfg, file), signal, { what: `playing ${u.kind === 'tts' ? `the ${u.lang} text` : file}` });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Null when the engine renders each configured voice; else the error naming the fix. Only matters when some level has no clip. */
  async check(): Promise<SpeechError | null> {
    const c = this.choose();
    const signal = new AbortController().signal;
    try {
      if (c.engine === 'espeak-ng') {
        await run([this.cfg.speech.espeak, '--version'], signal, { what: 'checking the speech synthesiser' });
        for (const lang of this.cfg.speech.languages) {
          const voice = this.cfg.speech.voices[lang];
          await run([this.cfg.speech.espeak, '-q', '-v', voice, '--stdin'], signal, { stdin: 'test', what: `voice "${voice}" for ${lang} (espeak-ng --voices lists them)` });
        }
        return null;
      }
      const wasm = this.wasmEngine();
      for (const lang of this.cfg.speech.languages) {
        const voice = this.cfg.speech.voices[lang];
        if (!(await wasm.hasVoice(voice))) return new SpeechError(`voice "${voice}" for ${lang} (espeak-ng --voices lists them): the Emscripten build says the voice does not exist`);
      }
      return null;
    } catch (err) {
      return c.engine === 'wasm' ? this.wasmError(err) : err instanceof SpeechError ? err : new SpeechError((err as Error).message);
    }
  }

  /**
   * A warning when the system espeak-ng says Mandarin wrongly. espeak-ng 1.51 (Debian 12,
   * Raspberry Pi OS bookworm) reads Chinese characters as pinyin spelt out by the English
   * voice, tone numbers and all ("你好" → "ni three hao three"); `-x` shows it as an `(en)`
   * switch. Null when it is fine, when zh is not spoken, or with the Emscripten build (which reads it right).
   */
  async mandarinWarning(): Promise<string | null> {
    // With auto, Mandarin already goes to the Emscripten build when this check fails (render()).
    if (!this.cfg.speech.languages.includes('zh') || this.cfg.speech.engine !== 'espeak-ng' || this.choose().engine !== 'espeak-ng') return null;
    const voice = this.cfg.speech.voices.zh;
    const r = spawnSync(this.cfg.speech.espeak, ['-q', '-x', '-v', voice, '--stdin'], { input: '你好', encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0 || !r.stdout.includes('(en)')) return null;
    const version = /text-to-speech: (\S+)/.exec(spawnSync(this.cfg.speech.espeak, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? '';
    return `${this.cfg.speech.espeak} ${version} reads Mandarin wrongly (voice ${voice}: "你好" comes out as pinyin in English, "${r.stdout.trim().split('\n')[0]}"): set speech.engine: wasm`;
  }

  /** Stop the WASM worker, if one was started. */
  close(): void {
    this.wasm?.close();
  }
}

/** --dry-run: prints what it would say, plays nothing. */
export class DryRunSpeaker implements Speaker {
  constructor(private readonly out: (line: string) => void) {}

  async say(plan: readonly Utterance[]): Promise<void> {
    for (const u of plan) {
      this.out(u.kind === 'tts' ? `would say (${u.lang}, voice ${u.voice}): ${u.text}` : `would play clip ${u.file}`);
    }
  }
}
