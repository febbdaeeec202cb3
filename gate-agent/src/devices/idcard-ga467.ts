import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { hashIdNumber, maskIdNumber, type IdCardGa467Config } from '@stile/config';
import type { Credential } from '../gate/credential.js';
import { decodeIdText, encodeRequest, Ga467Command, Ga467Framer, parseCardData, parseResponse, type Ga467Response } from '../protocol/ga467.js';
import type { GateInput } from './input.js';
import { openSerialPort, type SerialConnection, type SerialOpener } from './serial-port.js';
import { countDiscard, newHealth, Reconnector, setState } from './supervisor.js';

/** A card left on the reader is read again every poll; it counts as one tap until it leaves for this long. */
const SAME_CARD_GAP_MS = 3000;
/** This many unanswered requests in a row and the reader is reported as not responding. */
const SILENT_LIMIT = 3;

type Command = { cmd: number; para: number };

/** Name and number of a card's holder: only for the kiosk's real-name sale (`onHolder`). */
export interface IdCardHolder {
  name: string;
  idNumber: string;
  masked: string;
}

/** Which number identifies the holder on each card type. */
function holderNumber(card: ReturnType<typeof decodeIdText>): string | null {
  switch (card.cardType) {
    case 'resident':
    case 'hmt_residence':
      return card.idNumber || null;
    case 'foreign_permanent':
      return card.permitNumber || null;
    default:
      return null;
  }
}

function holderName(card: ReturnType<typeof decodeIdText>): string {
  if (card.cardType === 'resident' || card.cardType === 'hmt_residence') return card.name;
  if (card.cardType === 'foreign_permanent') return card.chineseName || card.englishName;
  return '';
}

/**
 * GA/T 467 ID-card reader: find → select → read every `pollMs`; a read card becomes an
 * `idcard` credential carrying only the keyed hash and the masked number. Name, address,
 * photo and the full number never leave this module, except to `onHolder`, which only the
 * kiosk passes (a real-name order needs the name and number; the gate never does).
 */
export class IdCardReader extends EventEmitter<{ credential: [Credential, string] }> implements GateInput {
  readonly name: string;
  readonly health;
  private readonly reconnector: Reconnector<SerialConnection>;
  private pending: { resolve: (r: Ga467Response | null) => void; timer: NodeJS.Timeout } | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private silent = 0;
  private lastCard: { hash: string; seenAt: number } | undefined;
  private closed = false;

  constructor(
    private readonly cfg: IdCardGa467Config,
    private readonly idKey: string | Buffer,
    private readonly log: Logger,
    open: SerialOpener = openSerialPort,
    private readonly now: () => number = () => performance.now(),
    private readonly onHolder?: (holder: IdCardHolder, device: string) => void,
    /** A card found but not read (lifted mid-read): the kiosk asks the visitor to tap again. */
    private readonly onReadFailed?: (reason: string, device: string) => void,
  ) {
    super();
    this.name = cfg.name;
    this.health = newHealth(cfg.name, 'idcard-ga467');
    this.reconnector = new Reconnector(this.health, log, () => open(cfg.path, cfg.baudRate), (conn, lost) => this.attach(conn, lost));
  }

  start(): void {
    this.reconnector.start();
  }

  private attach(conn: SerialConnection, lost: (err: Error | undefined) => void): void {
    const framer = new Ga467Framer();
    conn.on('data', (chunk) => {
      for (const frame of framer.push(chunk)) {
        if (frame.type === 'discarded') {
          countDiscard(this.health, frame.reason);
          this.log.warn({ event: 'input_discarded', device: this.name, reason: frame.reason, length: frame.bytes.length }, 'ID reader frame discarded');
        } else {
          this.answer(parseResponse(frame.payload));
        }
      }
    });
    const gone = (err: Error | undefined) => {
      clearTimeout(this.pollTimer);
      this.answer(null);
      lost(err);
    };
    conn.on('error', gone);
    conn.on('close', (err) => gone(err ?? new Error('port closed')));
    this.schedule(conn, 0);
  }

  private schedule(conn: SerialConnection, delayMs: number): void {
    if (this.closed) return;
    this.pollTimer = setTimeout(() => {
      this.poll(conn)
        .catch((err: Error) => this.log.warn({ device: this.name, err: err.message }, 'ID reader poll failed'))
        .finally(() => {
          if (this.reconnector.connection === conn) this.schedule(conn, this.cfg.pollMs);
        });
    }, delayMs);
  }

  private async poll(conn: SerialConnection): Promise<void> {
    const found = await this.request(conn, Ga467Command.findCard);
    if (!found) return;
    if (found.status !== 'card_found') {
      if (found.status !== 'no_card') this.log.debug({ device: this.name, status: found.status }, 'find card');
      return;
    }
    const selected = await this.request(conn, Ga467Command.selectCard);
    if (!selected) return;
    if (selected.status !== 'ok') return this.onReadFailed?.(selected.status, this.name);
    const read = await this.request(conn, Ga467Command.readBase);
    if (!read) return;
    if (read.status !== 'ok' || !('data' in read)) {
      countDiscard(this.health, `read_${read.status}`);
      this.log.warn({ event: 'input_discarded', device: this.name, reason: read.status }, 'ID card read failed');
      this.onReadFailed?.(read.status, this.name);
      return;
    }
    this.card(read.data);
  }

  private card(data: Buffer): void {
    const parsed = parseCardData(data);
    const card = parsed.ok ? decodeIdText(parsed.text) : null;
    const number = card ? holderNumber(card) : null;
    if (!number) {
      countDiscard(this.health, 'unreadable_card');
      this.log.warn({ event: 'input_discarded', device: this.name, reason: 'unreadable_card' }, 'ID card data unreadable');
      return;
    }
    const hash = hashIdNumber(this.idKey, number);
    const now = this.now();
    const again = this.lastCard?.hash === hash && now - this.lastCard.seenAt < SAME_CARD_GAP_MS;
    this.lastCard = { hash, seenAt: now };
    if (again) return; // still on the reader: one tap, one decision
    this.health.scans++;
    this.emit('credential', { kind: 'idcard', idHash: hash, masked: maskIdNumber(number) }, this.name);
    if (card && this.onHolder) this.onHolder({ name: holderName(card), idNumber: number, masked: maskIdNumber(number) }, this.name);
  }

  /** Send one request and wait for its answer; null on timeout or disconnect. */
  private async request(conn: SerialConnection, c: Command): Promise<Ga467Response | null> {
    const answer = new Promise<Ga467Response | null>((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve(null);
        this.silence();
      }, this.cfg.timeoutMs);
      this.pending = { resolve, timer };
    });
    try {
      await conn.write(encodeRequest(c.cmd, c.para));
    } catch (err) {
      this.answer(null);
      throw err;
    }
    return answer;
  }

  private answer(r: Ga467Response | null): void {
    const p = this.pending;
    if (!p) {
      if (r) countDiscard(this.health, 'unsolicited');
      return;
    }
    this.pending = undefined;
    clearTimeout(p.timer);
    if (r) {
      if (this.silent >= SILENT_LIMIT) this.log.info({ event: 'device_ok', device: this.name }, 'ID reader answering again');
      this.silent = 0;
      if (this.health.state === 'degraded') setState(this.health, 'ok');
    }
    p.resolve(r);
  }

  private silence(): void {
    countDiscard(this.health, 'timeout');
    if (++this.silent === SILENT_LIMIT) {
      setState(this.health, 'degraded', `no answer to ${SILENT_LIMIT} requests`);
      this.log.warn({ event: 'device_fault', device: this.name, reason: 'not_responding' }, 'ID reader not responding');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pollTimer);
    this.answer(null);
    await this.reconnector.stop();
  }
}
