import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'stile-cloud', level });
}

/** A module's logger: every line carries { module }, so one module's lines can be picked out of the stream. */
export function moduleLogger(log: Logger, module: string): Logger {
  return log.child({ module });
}
