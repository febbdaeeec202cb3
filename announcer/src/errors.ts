/** A failure to speak that names its fix (a missing program, a player that failed). */
export class SpeechError extends Error {
  override readonly name = 'SpeechError';
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

export class AbortedError extends Error {
  override readonly name = 'AbortedError';
}
