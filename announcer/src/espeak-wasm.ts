import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AbortedError, SpeechError } from './errors.js';

/**
 * eSpeak NG built with Emscripten (the Echogarden project's build), voice data included.
 * Despite the engine's name (`speech.engine: wasm`) this build is compiled to plain
 * JavaScript (`-s WASM=0`): it needs no WebAssembly support.
 */
export const WASM_PACKAGE = '@echogarden/espeak-ng-emscripten';

/**
 * The worker: loads the package (its .js with the WASM inside, and `espeak-ng.data`, the
 * voices, read from the package folder: never fetched), then renders one request at a time.
 * Texts go through `synthesize_and_get_phonemes`, which synthesises plain text (the
 * package's `synthesize` would parse it as SSML and [[phonemes]]). Plain JavaScript (eval)
 * so it needs no build step of its own, as gate-agent's staging sort.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const path = require('node:path');
let espeak;
const loaded = (async () => {
  const { default: create } = await import(workerData.url);
  const m = await create({ locateFile: (f) => path.join(workerData.dir, f), print: () => {}, printErr: () => {} });
  espeak = new m.eSpeakNGWorker();
  return espeak.samplerate;
})();
loaded.then(
  (sampleRate) => parentPort.postMessage({ ready: true, sampleRate }),
  (err) => parentPort.postMessage({ ready: false, error: String((err && err.message) || err) }),
);
parentPort.on('message', async (req) => {
  try {
    await loaded;
    // As the espeak-ng program does: the voice by name, else a voice for that language (en-gb, zh).
    let code = espeak.set_voice(req.voice);
    if (code !== 0) code = espeak.set_voice('', req.voice);
    if (code !== 0) return parentPort.postMessage({ id: req.id, voiceMissing: true, code });
    if (req.op === 'voice') return parentPort.postMessage({ id: req.id, ok: true });
    espeak.set_rate(req.rate);
    espeak.set_volume(req.volume);
    const chunks = [];
    espeak.synthesize_and_get_phonemes(req.text, (samples) => {
      if (samples && samples.length) chunks.push(samples);
      return 0;
    });
    const all = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    parentPort.postMessage({ id: req.id, samples: all }, [all.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: req.id, error: String((err && err.stack) || err) });
  }
});
`;

type Reply = { id: number; ok?: true; samples?: Int16Array; voiceMissing?: true; code?: number; error?: string };

/** Where the package is installed: its entry file, folder and version. Throws when it is not installed. */
export function locateWasm(pkg = WASM_PACKAGE): { entry: string; dir: string; version: string } {
  const entry = createRequire(import.meta.url).resolve(pkg);
  const dir = dirname(entry);
  let version = '?';
  try {
    version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    // a package without its package.json next to its entry: the version stays unknown
  }
  return { entry, dir, version };
}

/** The Emscripten build did not load (not installed, or broken): what went wrong, without the fix. */
export class WasmUnavailable extends Error {
  override readonly name = 'WasmUnavailable';
}

/**
 * eSpeak NG in a worker thread, loaded on first use and kept (one warm instance renders a
 * sentence in ~0.1–0.2 s on a PC; loading takes ~1 s). The daemon's own thread stays free
 * while it renders, and an abort terminates the worker at once — as killing espeak-ng
 * would — the next render starting a new one. The worker keeps the process alive only
 * while it has work.
 */
export class WasmEspeak {
  private worker: Worker | null = null;
  private loading: Promise<{ worker: Worker; sampleRate: number }> | null = null;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  /** Samples per second of what it renders (22050), once loaded. */
  sampleRate = 0;

  constructor(readonly pkg: string = WASM_PACKAGE) {}

  /** Load the worker (once). Rejects with WasmUnavailable when the package is missing or does not start; tried again on the next call. */
  load(): Promise<{ worker: Worker; sampleRate: number }> {
    if (this.loading) return this.loading;
    let where: { entry: string; dir: string };
    try {
      where = locateWasm(this.pkg);
    } catch (err) {
      return Promise.reject(new WasmUnavailable(`${this.pkg} is not installed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`));
    }
    const worker = new Worker(WORKER, { eval: true, workerData: { url: pathToFileURL(where.entry).href, dir: where.dir } });
    this.worker = worker;
    const loading = new Promise<{ worker: Worker; sampleRate: number }>((resolve, reject) => {
      worker.once('message', (m: { ready: boolean; sampleRate?: number; error?: string }) => {
        if (!m.ready) {
          this.drop(worker, new WasmUnavailable(`${this.pkg} did not start: ${m.error}`));
          return reject(new WasmUnavailable(`${this.pkg} did not start: ${m.error}`));
        }
        this.sampleRate = m.sampleRate!;
        if (this.pending.size === 0) worker.unref();
        worker.on('message', (r: Reply) => {
          const p = this.pending.get(r.id);
          if (!p) return;
          this.pending.delete(r.id);
          if (this.pending.size === 0) worker.unref();
          p.resolve(r);
        });
        resolve({ worker, sampleRate: m.sampleRate! });
      });
      worker.on('error', (err) => {
        const e = new WasmUnavailable(`${this.pkg} failed: ${err.message}`);
        this.drop(worker, e);
        reject(e);
      });
      worker.on('exit', () => {
        const e = new WasmUnavailable(`${this.pkg} worker exited`);
        this.drop(worker, e);
        reject(e);
      });
    });
    this.loading = loading;
    loading.catch(() => undefined); // handled by the caller of load(); a failed load is retried next time
    return loading;
  }

  /** Forget a worker that failed, exited or was terminated; whatever waited on it is rejected with `err`. */
  private drop(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.loading = null;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    void worker.terminate();
  }

  private async request(req: Record<string, unknown>, signal?: AbortSignal): Promise<Reply> {
    if (signal?.aborted) throw new AbortedError('interrupted');
    // An abort while it loads leaves the load going: the next render needs it.
    const { worker } = await abortable(this.load(), signal, () => undefined);
    const id = this.nextId++;
    return abortable(
      new Promise<Reply>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ ...req, id });
      }),
      signal,
      () => this.drop(worker, new AbortedError('interrupted')),
    );
  }

  /** Whether eSpeak NG has this voice (`cmn`, `en-gb` …). */
  async hasVoice(voice: string): Promise<boolean> {
    const r = await this.request({ op: 'voice', voice });
    if (r.error) throw new SpeechError(`the Emscripten build failed: ${r.error.split('\n')[0]}`);
    return r.ok === true;
  }

  /** Render `text` with `voice` at `rate` words per minute and `volume` (0–200): mono 16-bit samples at `sampleRate`. An abort terminates the worker. */
  async render(voice: string, text: string, opts: { rate: number; volume: number }, signal?: AbortSignal): Promise<Int16Array> {
    const r = await this.request({ op: 'render', voice, text, rate: opts.rate, volume: opts.volume }, signal);
    if (r.voiceMissing) throw new SpeechError(`voice "${voice}" does not exist in the Emscripten build (espeak-ng error ${r.code})`);
    if (r.error) throw new SpeechError(`the Emscripten build failed: ${r.error.split('\n')[0]}`);
    return r.samples!;
  }

  /** Terminate the worker (it is started again on the next render). */
  close(): void {
    if (this.worker) this.drop(this.worker, new AbortedError('closed'));
  }
}

/** `p`, or AbortedError as soon as `signal` aborts (calling `onAbort` first). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, onAbort: () => void): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(new AbortedError('interrupted'));
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(e as Error);
      },
    );
  });
}
