/**
 * Framing for line-oriented inputs (serial QR scanners, stdin, FIFOs): bytes in,
 * frames out. Over-long lines are reported as discarded, never silently dropped,
 * and never glued onto the next code.
 */
export type LineFrame = { type: 'line'; text: string } | { type: 'discarded'; reason: 'too_long'; length: number };

export class LineFramer {
  private buffer = '';
  private overflowing = 0;

  constructor(private readonly maxLength = 1024) {}

  /** Feed a chunk; returns the frames it completes. CR, LF and CRLF all end a line. */
  push(chunk: string): LineFrame[] {
    const frames: LineFrame[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.take(chunk.slice(start, i), frames, true);
      start = i + 1;
    }
    this.take(chunk.slice(start), frames, false);
    return frames;
  }

  /** Characters of an unfinished line waiting for its terminator. */
  get pending(): number {
    return this.overflowing || this.buffer.length;
  }

  /** Drop an unfinished line (e.g. a fragment the scanner never completed); returns its length. */
  reset(): number {
    const dropped = this.pending;
    this.buffer = '';
    this.overflowing = 0;
    return dropped;
  }

  private take(part: string, frames: LineFrame[], ended: boolean): void {
    if (this.overflowing > 0) {
      this.overflowing += part.length;
    } else if (this.buffer.length + part.length > this.maxLength) {
      this.overflowing = this.buffer.length + part.length;
      this.buffer = '';
    } else {
      this.buffer += part;
    }
    if (!ended) return;
    if (this.overflowing > 0) {
      frames.push({ type: 'discarded', reason: 'too_long', length: this.overflowing });
      this.overflowing = 0;
    } else if (this.buffer.length > 0) {
      frames.push({ type: 'line', text: this.buffer });
    }
    this.buffer = '';
  }
}
