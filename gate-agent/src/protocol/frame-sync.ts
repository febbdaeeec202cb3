/**
 * Frame resynchronisation for binary serial protocols, one loop for all of them. Pure: bytes in,
 * items out. A protocol gives its rules (where a frame may start, and what the bytes at such a
 * start are); this loop scans for the next start, drops what lies before it as `garbage`, and
 * on a rejected frame drops only the bytes up to the next start inside it, so a good frame
 * hiding behind a bad one is still found. Every input byte ends up in exactly one emitted item
 * (frame or discard) or stays pending; the rules bound what stays pending (at most one frame).
 */

const EMPTY = Buffer.alloc(0);

/** Bytes the framer dropped, with why: `garbage` before a frame start, `truncated` at flush, or a protocol's reason. */
export type FrameDiscard<R extends string> = { type: 'discarded'; reason: R | 'garbage' | 'truncated'; bytes: Buffer };

/** What the bytes at a frame start are. */
export type FrameStep<F, R extends string> =
  /** Not enough bytes yet to decide. */
  | { kind: 'more' }
  /** A good frame of `length` bytes. */
  | { kind: 'frame'; item: F; length: number }
  /** A bad frame of `length` bytes: dropped up to the next frame start inside it. */
  | { kind: 'reject'; reason: R; length: number }
  /** A well-formed but unusable frame: all `length` bytes dropped, no rescan inside. */
  | { kind: 'drop'; reason: R; length: number };

export interface FrameRules<F, R extends string> {
  /**
   * First index ≥ from where a frame may start (including a tail that could be the beginning of
   * a header whose rest is in the next chunk); buf.length if none.
   */
  findStart(buf: Buffer, from: number): number;
  /** Decide on the bytes at `pos`, a frame start. */
  step(buf: Buffer, pos: number): FrameStep<F, R>;
  /**
   * At flush, the first index ≥ 1 of pending bytes where a whole header starts, or -1: the bytes
   * before it are reported truncated and the rest decoded again. Without it, all pending bytes
   * are one truncated discard.
   */
  findHeader?(buf: Buffer): number;
}

export class FrameSync<F, R extends string> {
  private pending: Buffer = EMPTY;

  constructor(private readonly rules: FrameRules<F, R>) {}

  /** Bytes held waiting for the rest of a frame. */
  get pendingLength(): number {
    return this.pending.length;
  }

  push(chunk: Buffer): Array<F | FrameDiscard<R>> {
    const out: Array<F | FrameDiscard<R>> = [];
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let pos = 0;
    while (pos < buf.length) {
      const start = this.rules.findStart(buf, pos);
      if (start > pos) {
        out.push(discard<R>('garbage', buf, pos, start));
        pos = start;
        continue;
      }
      const step = this.rules.step(buf, pos);
      if (step.kind === 'more') break;
      if (step.kind === 'frame') {
        out.push(step.item);
        pos += step.length;
        continue;
      }
      const end = step.kind === 'drop' ? pos + step.length : Math.min(pos + step.length, this.rules.findStart(buf, pos + 1));
      out.push(discard(step.reason, buf, pos, end));
      pos = end;
    }
    // Copy, so a pending tail never pins (or aliases) the caller's chunk.
    this.pending = pos >= buf.length ? EMPTY : Buffer.from(buf.subarray(pos));
    return out;
  }

  /**
   * End of input, or the caller's response timeout: the pending head is reported as truncated,
   * and (with `findHeader`) any complete frame hiding behind it is still decoded.
   */
  flush(): Array<F | FrameDiscard<R>> {
    const out: Array<F | FrameDiscard<R>> = [];
    while (this.pending.length > 0) {
      const buf = this.pending;
      const next = this.rules.findHeader?.(buf) ?? -1;
      const end = next < 0 ? buf.length : next;
      out.push(discard<R>('truncated', buf, 0, end));
      this.pending = EMPTY;
      if (end < buf.length) out.push(...this.push(buf.subarray(end)));
    }
    return out;
  }
}

function discard<R extends string>(reason: FrameDiscard<R>['reason'], buf: Buffer, start: number, end: number): FrameDiscard<R> {
  return { type: 'discarded', reason, bytes: Buffer.from(buf.subarray(start, end)) };
}
