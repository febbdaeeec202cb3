/** pino's levels, quietest last. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The level a daemon logs at: `LOG_LEVEL` from the environment when it names a level (a systemd
 * drop-in `Environment=LOG_LEVEL=debug` for an afternoon of troubleshooting, no config edit),
 * else the config file's `log.level`. Anything else in LOG_LEVEL is ignored (docs/metrics.md#logs).
 */
export function effectiveLogLevel(configured: string, env: NodeJS.ProcessEnv = process.env): string {
  const wanted = env.LOG_LEVEL?.trim().toLowerCase();
  return wanted && (LOG_LEVELS as readonly string[]).includes(wanted) ? wanted : configured;
}
