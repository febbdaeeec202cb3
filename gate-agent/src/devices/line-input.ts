import { EventEmitter } from 'node:events';
import { constants, createReadStream, openSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { hashIdNumber, isValidIdNumber, maskIdNumber, type LineInputConfig } from '@stile/config';
import type { Credential } from '../gate/credential.js';
import { LineFramer } from '../protocol/line-framer.js';
import type { GateInput } from './input.js';
import { countDiscard, newHealth, setState } from './supervisor.js';


const ID_PREFIX = 'IDCARD:';

/**
 * Line input from stdin or a FIFO: each line is a QR scan. When `simulateIdCards`
 * is on, "IDCARD:<number>" is an ID-card tap; the number is hashed here and dropped.
 * Simulators and scripts can open and close the FIFO as often as they like.
 */
export class LineInput extends EventEmitter<{ credential: [Credential, string] }> implements GateInput {
  readonly name: string;
  private stream: Readable | undefined;
  private closed = false;
  readonly health;

  constructor(
    private readonly cfg: LineInputConfig,
    private readonly idKey: string | Buffer,
    private readonly log: Logger,
  ) {
    super();
    this.name = cfg.name;
    this.health = newHealth(cfg.name, 'lines');
  }

  start(): void {
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const framer = new LineFramer();
    let stream: Readable;
    try {
      stream = this.openStream();
    } catch (err) {
      this.retry(err as Error);
      return;
    }
    stream.setEncoding('utf8');
    this.stream = stream;
    stream.on('data', (chunk: string | Buffer) => {
      for (const frame of framer.push(String(chunk))) {
        if (frame.type === 'discarded') {
          countDiscard(this.health, frame.reason);
          this.log.warn({ input: this.name, reason: frame.reason, length: frame.length }, 'input line discarded');
        } else {
          this.handleLine(frame.text);
        }
      }
    });
    stream.on('error', (err: Error) => this.retry(err));
    stream.on('end', () => {
      // A plain file was read to its end; stdin at EOF stays closed.
      this.log.info({ input: this.name }, 'input reached end of file');
    });
    setState(this.health, 'ok');
  }

  /**
   * A FIFO is opened read-write and non-blocking and read through the event loop (a
   * net.Socket on the fd): a blocking read would pin a libuv pool thread and keep the
   * process from exiting, and holding a write end ourselves means no EOF between writers.
   */
  private openStream(): Readable {
    if (this.cfg.path === '-') return process.stdin;
    if (statSync(this.cfg.path).isFIFO()) {
      const fd = openSync(this.cfg.path, constants.O_RDWR | constants.O_NONBLOCK);
      return new Socket({ fd, readable: true, writable: false });
    }
    return createReadStream(this.cfg.path);
  }

  private retry(err: Error): void {
    if (this.closed) return;
    this.log.error({ input: this.name, err: err.message }, 'input failed; retrying in 1 s');
    setState(this.health, 'reconnecting', err.message);
    setTimeout(() => this.open(), 1000).unref();
  }

  private handleLine(line: string): void {
    if (this.cfg.simulateIdCards && line.startsWith(ID_PREFIX)) {
      const id = line.slice(ID_PREFIX.length).trim();
      if (!isValidIdNumber(id)) {
        this.log.warn({ input: this.name, id: maskIdNumber(id) }, 'ID card read with invalid number ignored');
        return;
      }
      this.health.scans++;
      this.emit('credential', { kind: 'idcard', idHash: hashIdNumber(this.idKey, id), masked: maskIdNumber(id) }, this.name);
      return;
    }
    this.health.scans++;
    this.emit('credential', { kind: 'qr', text: line }, this.name);
  }

  async close(): Promise<void> {
    this.closed = true;
    setState(this.health, 'stopped');
    if (this.stream && this.stream !== process.stdin) this.stream.destroy();
    else process.stdin.pause();
  }
}
