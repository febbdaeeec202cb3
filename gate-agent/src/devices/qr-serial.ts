import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import type { QrSerialConfig } from '@stile/config';
import type { Credential } from '../gate/credential.js';
import { LineFramer } from '../protocol/line-framer.js';
import type { GateInput } from './input.js';
import { openSerialPort, type SerialConnection, type SerialOpener } from './serial-port.js';
import { countDiscard, newHealth, Reconnector } from './supervisor.js';

/** A scan arrives in one burst; a fragment older than this is noise or a cut-off read. */
const STALE_FRAGMENT_MS = 300;
/** QR codes we issue are far shorter; anything longer is noise or a wrong symbol. */
const MAX_LINE = 1024;

const AIM_PREFIX = /^\][A-Za-z][0-9A-Za-z]/;

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x20) return false;
  return true;
}

function hexToBuffer(hex: string): Buffer {
  return Buffer.from(hex.replace(/\s+/g, ''), 'hex');
}

/** Serial QR scanner: bytes → lines → `{kind:'qr'}` credentials. Reopens itself after an unplug. */
export class QrSerialScanner extends EventEmitter<{ credential: [Credential, string] }> implements GateInput {
  readonly name: string;
  readonly health;
  private readonly reconnector: Reconnector<SerialConnection>;

  constructor(
    private readonly cfg: QrSerialConfig,
    private readonly log: Logger,
    open: SerialOpener = openSerialPort,
  ) {
    super();
    this.name = cfg.name;
    this.health = newHealth(cfg.name, 'qr-serial');
    this.reconnector = new Reconnector(this.health, log, () => open(cfg.path, cfg.baudRate), (conn, lost) => this.attach(conn, lost));
  }

  start(): void {
    this.reconnector.start();
  }

  private attach(conn: SerialConnection, lost: (err: Error | undefined) => void): void {
    const framer = new LineFramer(MAX_LINE);
    const decoder = new StringDecoder('utf8');
    let lastDataAt = 0;
    conn.on('data', (chunk) => {
      const now = performance.now();
      if (framer.pending > 0 && now - lastDataAt > STALE_FRAGMENT_MS) this.discard('stale_fragment', framer.reset());
      lastDataAt = now;
      for (const frame of framer.push(decoder.write(chunk))) {
        if (frame.type === 'discarded') this.discard(frame.reason, frame.length);
        else this.line(frame.text);
      }
    });
    conn.on('error', (err) => lost(err));
    conn.on('close', (err) => lost(err ?? new Error('port closed')));
    if (this.cfg.triggerCommand) {
      conn.write(hexToBuffer(this.cfg.triggerCommand)).catch((err: Error) => this.log.warn({ device: this.name, err: err.message }, 'trigger command failed'));
    }
  }

  private line(text: string): void {
    // CRLF gives an empty line between CR and LF; a blank line is not a scan.
    if (isBlank(text)) return;
    this.health.scans++;
    this.emit('credential', { kind: 'qr', text: this.cfg.stripAim ? text.replace(AIM_PREFIX, '') : text }, this.name);
  }

  private discard(reason: string, length: number): void {
    countDiscard(this.health, reason);
    this.log.warn({ event: 'input_discarded', device: this.name, reason, length }, 'scanner input discarded');
  }

  async close(): Promise<void> {
    const conn = this.reconnector.connection;
    if (conn && this.cfg.releaseCommand) await conn.write(hexToBuffer(this.cfg.releaseCommand)).catch(() => {});
    await this.reconnector.stop();
  }
}
