import type { Print } from './console.js';

/** Human text on stdout, or one JSON object a line ({"event":…, …data}) with --json. */
export function printer(json: boolean, write: (s: string) => void = (s) => process.stdout.write(s)): Print {
  return (event, text, data) => {
    if (json) write(`${JSON.stringify({ event, ...data })}\n`);
    else write(`${text}\n`);
  };
}

/** Run `cleanup` once on SIGINT/SIGTERM, then exit 0 (a second signal exits at once). */
export function onStopSignal(cleanup: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
    stopping = true;
    void cleanup().finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
