/** Stable codes, so a test or a script can tell a missing socat from an unplugged device. */
export const SimErrorCode = {
  /** socat is not installed (or not where `socatPath` says). */
  SocatNotFound: 'SOCAT_NOT_FOUND',
  /** socat exited, or its links did not appear, before the pty pair was ready. */
  SocatFailed: 'SOCAT_FAILED',
  /** A device or directory name socat cannot take (commas, colons, slashes…). */
  BadPath: 'BAD_PATH',
  /** Something that is not a symlink already sits where a device link should go. */
  PathExists: 'PATH_EXISTS',
  /** The device is unplugged: nothing reaches the gate until replug(). */
  Unplugged: 'UNPLUGGED',
  /** The device was closed for good. */
  Closed: 'CLOSED',
  /** Opening or writing the simulator's end of the pty failed. */
  PortFailed: 'PORT_FAILED',
  /** A wait (for a pulse, a request…) ran out of time. */
  Timeout: 'TIMEOUT',
  /** Bad argument to a simulator method (a command the CLI does not know, an empty mix…). */
  BadArgument: 'BAD_ARGUMENT',
  /** A whitelist or ID-number file could not be read or parsed. */
  BadInputFile: 'BAD_INPUT_FILE',
} as const;
export type SimErrorCode = (typeof SimErrorCode)[keyof typeof SimErrorCode];

export class SimError extends Error {
  override readonly name = 'SimError';

  constructor(
    readonly code: SimErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isSimError(err: unknown, code?: SimErrorCode): err is SimError {
  return err instanceof SimError && (code === undefined || err.code === code);
}
