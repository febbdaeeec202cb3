import pino, { type Logger } from 'pino';

/**
 * JSON logs to stdout, written synchronously: at a gate, a log line about an admission
 * must not sit in a buffer when the power goes. Volume is a few lines per visitor.
 */
export function createLogger(level: string, name = 'stile-gate'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 1, sync: true }));
}
