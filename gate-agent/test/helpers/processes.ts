import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

export const GATE_BIN = fileURLToPath(new URL('../../bin/stile-gate.js', import.meta.url));
export const GATECTL_BIN = fileURLToPath(new URL('../../bin/gatectl.js', import.meta.url));

export interface LogLine {
  event?: string;
  msg?: string;
  ticketId?: string | null;
  seq?: number;
  reason?: string;
  [k: string]: unknown;
}

/** A real stile-gate child process; its JSON log lines are collected as they arrive. */
export class GateProcess {
  readonly proc: ChildProcess;
  readonly logs: LogLine[] = [];
  stderr = '';
  private partial = '';
  private waiters: (() => void)[] = [];

  constructor(configPath: string, env: NodeJS.ProcessEnv = process.env) {
    this.proc = spawn(process.execPath, [GATE_BIN, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!;
      for (const p of parts) {
        try {
          this.logs.push(JSON.parse(p) as LogLine);
        } catch {
          this.logs.push({ msg: p });
        }
      }
      this.waiters.splice(0).forEach((w) => w());
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
  }

  /** Wait until `pred` holds over the collected logs (or the process exits, or time runs out). */
  async waitFor(pred: (logs: LogLine[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.logs)) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`gate exited (${this.proc.exitCode ?? this.proc.signalCode}): ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out; last logs: ${JSON.stringify(this.logs.slice(-5))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  events(name: string): LogLine[] {
    return this.logs.filter((l) => l.event === name);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    const exited = once(this.proc, 'exit');
    this.proc.kill(signal);
    await exited;
    return this.proc.exitCode;
  }
}

export function makeFifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** Open a FIFO for writing (asynchronously: the open completes when the gate opens it for reading). */
export async function openFifoWriter(path: string): Promise<WriteStream> {
  const w = createWriteStream(path);
  await once(w, 'open');
  return w;
}
