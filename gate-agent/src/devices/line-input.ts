import { EventEmitter } from 'node:events';
import { createReadStream, type ReadStream } from 'node:fs';
import type { Logger } from 'pino';
import { hashIdNumber, isValidIdNumber, maskIdNumber, type InputConfig } from '@stile/config';
import type { Credential } from '../gate/credential.js';
import { LineFramer } from '../protocol/line-framer.js';

export interface InputEvents {
  credential: [Credential, string];
  state: ['ok' | 'reconnecting' | 'failed', string | undefined];
}

const ID_PREFIX = 'IDCARD:';

/**
 * Line input from stdin or a FIFO: each line is a QR scan. When `simulateIdCards`
 * is on, "IDCARD:<number>" is an ID-card tap; the number is hashed here and dropped.
 * A FIFO is reopened whenever its writer goes away, so simulators can come and go.
 */
export class LineInput extends EventEmitter<InputEvents> {
  readonly name: string;
  private stream: ReadStream | NodeJS.ReadStream | undefined;
  private closed = false;
  discarded = 0;

  constructor(
    private readonly cfg: Extract<InputConfig, { type: 'lines' }>,
    private readonly idKey: string | Buffer,
    private readonly log: Logger,
  ) {
    super();
    this.name = cfg.name;
  }

  start(): void {
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const framer = new LineFramer();
    const stream = this.cfg.path === '-' ? process.stdin : createReadStream(this.cfg.path, { encoding: 'utf8' });
    if (this.cfg.path === '-') process.stdin.setEncoding('utf8');
    this.stream = stream;
    stream.on('data', (chunk: string | Buffer) => {
      for (const frame of framer.push(String(chunk))) {
        if (frame.type === 'discarded') {
          this.discarded++;
          this.log.warn({ input: this.name, reason: frame.reason, length: frame.length }, 'input line discarded');
        } else {
          this.handleLine(frame.text);
        }
      }
    });
    stream.on('error', (err: Error) => {
      this.log.error({ input: this.name, err: err.message }, 'input failed; retrying in 1 s');
      this.emit('state', 'reconnecting', err.message);
      setTimeout(() => this.open(), 1000).unref();
    });
    stream.on('end', () => {
      // FIFO writer closed: wait for the next one. Stdin at EOF stays closed.
      if (this.cfg.path !== '-' && !this.closed) setImmediate(() => this.open());
    });
    this.emit('state', 'ok', undefined);
  }

  private handleLine(line: string): void {
    if (this.cfg.simulateIdCards && line.startsWith(ID_PREFIX)) {
      const id = line.slice(ID_PREFIX.length).trim();
      if (!isValidIdNumber(id)) {
        this.log.warn({ input: this.name, id: maskIdNumber(id) }, 'ID card read with invalid number ignored');
        return;
      }
      this.emit('credential', { kind: 'idcard', idHash: hashIdNumber(this.idKey, id), masked: maskIdNumber(id) }, this.name);
      return;
    }
    this.emit('credential', { kind: 'qr', text: line }, this.name);
  }

  close(): void {
    this.closed = true;
    if (this.stream && this.stream !== process.stdin) (this.stream as ReadStream).destroy();
    else process.stdin.pause();
  }
}
