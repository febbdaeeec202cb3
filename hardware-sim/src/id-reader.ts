/**
 * A GA/T 467 resident-ID-card reader (SAM module, 115200 8N1), answering like the modules in
 * the field:
 *
 *   10 FF reset SAM       → 90
 *   11 FF SAM status      → 90
 *   12 FF read SAM id     → 90 + 16 bytes
 *   20 01 find card       → 9F + 00 00 00 00 with a card on the field, else 80
 *   20 02 select card     → 90 + 8 bytes, else 81
 *   30 01 read text+photo → 90 + lengths, 256-byte text, 1024-byte photo, else 41
 *   30 10 …+fingerprint   → the same with a fingerprint length (0 unless placed with one)
 *   30 03 new address     → 91 (no content), else 41
 *   anything else         → 21;  bad checksum → 10;  bad length → 11;  line noise → no answer
 *
 * Like real modules, a card that has been read is halted: find answers 80 until the card is
 * lifted and placed again (`haltAfterRead: false` turns that off).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Ga467Command, Ga467Framer, encodeCardData, encodeIdText, encodeResponse, type Ga467DiscardReason, type Ga467Frame, type IdFields } from '@stile/gate-agent/protocol';
import { SimDevice, openLink, type DeviceOptions } from './device.js';
import { residentCard, type ResidentCardInput } from './id-numbers.js';
import type { SimWire } from './sim-link.js';

export type ReaderCommandName = keyof typeof Ga467Command;
/** Scripted misbehaviour for the next matching request. */
export type ReaderFault = 'bad_checksum' | 'silence' | 'garbage' | 'truncated' | 'read_failed' | 'sam_auth_failed';

export interface ReaderTiming {
  /** Delay before answering find card. Real modules: 10–30 ms. */
  findMs: number;
  selectMs: number;
  /** Delay before answering a read. Real modules: 400–900 ms. */
  readMs: number;
  /** Every other command. */
  otherMs: number;
}

/** Behaviour; `IdReaderOptions` adds where the pty goes. */
export interface IdReaderSettings {
  timing?: Partial<ReaderTiming>;
  haltAfterRead?: boolean;
  /** 1024-byte WLT photo to return; a fixed pattern by default. */
  photo?: Buffer;
  samId?: Buffer;
}

export type IdReaderOptions = DeviceOptions & IdReaderSettings;

export interface ReaderRequest {
  command: ReaderCommandName | 'unknown' | 'bad_frame';
  cmd: number | null;
  para: number | null;
  /** SW3 of the answer frame (even when a fault damaged the frame); null when no frame was sent. */
  sw3: number | null;
  fault: ReaderFault | null;
  receivedAt: number;
  /** When the last byte of the answer left (null: no answer). */
  answeredAt: number | null;
}

export interface IdReaderEvents {
  request: [ReaderRequest];
  /** A successful read was answered: the gate now has the card's bytes. */
  read: [card: IdFields, writtenAt: number];
}

const DEFAULT_TIMING: ReaderTiming = { findMs: 5, selectMs: 5, readMs: 50, otherMs: 2 };
const COMMAND_NAMES = new Map<number, ReaderCommandName>(
  (Object.entries(Ga467Command) as [ReaderCommandName, { cmd: number; para: number }][]).map(([name, c]) => [(c.cmd << 8) | c.para, name]),
);
const SW = { ok: 0x90, noContent: 0x91, found: 0x9f, checksum: 0x10, length: 0x11, command: 0x21, samAuth: 0x32, readFailed: 0x41, noCard: 0x80, selectFailed: 0x81 } as const;

interface PlacedCard {
  fields: IdFields;
  text: Buffer;
  fingerprint: Buffer | undefined;
}

interface Answer {
  sw3: number;
  data?: Buffer;
  card?: IdFields;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function defaultPhoto(): Buffer {
  const photo = Buffer.alloc(1024);
  for (let i = 0; i < photo.length; i++) photo[i] = (i * 37 + 11) & 0xff;
  photo.write('WLf', 0, 'latin1');
  return photo;
}

export class SimIdReader extends SimDevice {
  readonly events = new EventEmitter<IdReaderEvents>();
  /** Frames received (good or bad). */
  requests = 0;
  /** Bytes the framer threw away, by reason (noise gets no answer; damaged frames get 10/11). */
  readonly discarded: Partial<Record<Ga467DiscardReason, number>> = {};
  readonly counts: Partial<Record<ReaderRequest['command'], number>> = {};
  /** The last 200 requests, oldest first. */
  readonly history: ReaderRequest[] = [];
  private card: PlacedCard | undefined;
  private halted = false;
  private readonly faults: { kind: ReaderFault; command: ReaderCommandName | undefined; times: number }[] = [];
  private readonly framer = new Ga467Framer();
  private queue: Promise<void> = Promise.resolve();
  private readonly timing: ReaderTiming;
  private readonly haltAfterRead: boolean;
  private readonly photo: Buffer;
  private readonly samId: Buffer;

  constructor(wire: SimWire, opts: IdReaderSettings = {}) {
    super(wire);
    this.timing = { ...DEFAULT_TIMING, ...opts.timing };
    this.haltAfterRead = opts.haltAfterRead ?? true;
    this.photo = opts.photo ?? defaultPhoto();
    this.samId = opts.samId ?? Buffer.from('05000000000000000000000000000001', 'hex');
    wire.on('data', (chunk, at) => {
      for (const frame of this.framer.push(chunk)) this.enqueue(frame, at);
    });
    wire.on('unplugged', () => {
      // A half-received request dies with the power.
      for (const f of this.framer.flush()) if (f.type === 'discarded') this.discarded[f.reason] = (this.discarded[f.reason] ?? 0) + 1;
    });
  }

  /** A reader on a new pty pair: `<dir>/<name ?? 'idcard'>`, 115200 baud unless told. */
  static async open(opts: IdReaderOptions): Promise<SimIdReader> {
    return new SimIdReader(await openLink(opts, { name: 'idcard', baudRate: 115200 }), opts);
  }

  /** Put a card on the reader (replacing any other). A plain ID number makes a resident card. */
  placeCard(card: IdFields | ResidentCardInput, opts: { fingerprint?: Buffer } = {}): void {
    const fields = 'cardType' in card ? card : residentCard(card);
    this.card = { fields, text: encodeIdText(fields), fingerprint: opts.fingerprint };
    this.halted = false;
  }

  removeCard(): void {
    this.card = undefined;
    this.halted = false;
  }

  /** The card on the field, if any (halted or not). */
  get cardOnField(): IdFields | undefined {
    return this.card?.fields;
  }

  /** Misbehave on the next `times` requests (of `command`, when given). */
  failNext(kind: ReaderFault, opts: { command?: ReaderCommandName; times?: number } = {}): void {
    this.faults.push({ kind, command: opts.command, times: opts.times ?? 1 });
  }

  private enqueue(frame: Ga467Frame, at: number): void {
    this.queue = this.queue.then(() => this.handle(frame, at)).catch(() => undefined);
  }

  private takeFault(command: ReaderRequest['command']): ReaderFault | null {
    const i = this.faults.findIndex((f) => f.command === undefined || f.command === command);
    const f = this.faults[i];
    if (f === undefined) return null;
    if (--f.times <= 0) this.faults.splice(i, 1);
    return f.kind;
  }

  private async handle(frame: Ga467Frame, receivedAt: number): Promise<void> {
    // Noise between frames gets no answer; a damaged frame gets the status a module sends.
    if (frame.type === 'discarded') this.discarded[frame.reason] = (this.discarded[frame.reason] ?? 0) + 1;
    if (frame.type === 'discarded' && (frame.reason === 'garbage' || frame.reason === 'truncated')) return;
    const [cmd = null, para = null] = frame.type === 'frame' ? frame.payload : [];
    const command: ReaderRequest['command'] =
      frame.type === 'discarded' ? 'bad_frame' : frame.payload.length === 2 && cmd !== null && para !== null ? (COMMAND_NAMES.get((cmd << 8) | para) ?? 'unknown') : 'unknown';
    const req: ReaderRequest = { command, cmd, para, sw3: null, fault: this.takeFault(command), receivedAt, answeredAt: null };
    this.requests++;
    this.counts[command] = (this.counts[command] ?? 0) + 1;
    await sleep(this.delayFor(command));
    // Decided after the delay: a card lifted during a read makes the read fail, as on a module.
    let answer: Answer;
    if (frame.type === 'discarded') answer = { sw3: frame.reason === 'bad_checksum' ? SW.checksum : SW.length };
    else if (frame.payload.length < 2) answer = { sw3: SW.length };
    else answer = this.answer(command);
    const out = this.render(answer, req.fault);
    if (out !== null && this.wire.plugged) {
      try {
        req.answeredAt = await this.wire.write(out.bytes);
        req.sw3 = out.sw3;
      } catch {
        // unplugged mid-answer
      }
    }
    this.record(req);
    if (answer.card && req.answeredAt !== null && req.fault === null) {
      if (this.haltAfterRead) this.halted = true;
      this.events.emit('read', answer.card, req.answeredAt);
    }
  }

  private record(req: ReaderRequest): void {
    this.history.push(req);
    if (this.history.length > 200) this.history.shift();
    this.events.emit('request', req);
  }

  private delayFor(command: ReaderRequest['command']): number {
    if (command === 'findCard') return this.timing.findMs;
    if (command === 'selectCard') return this.timing.selectMs;
    if (command === 'readBase' || command === 'readBaseWithFingerprint') return this.timing.readMs;
    return this.timing.otherMs;
  }

  private answer(command: ReaderRequest['command']): Answer {
    const card = this.halted ? undefined : this.card;
    switch (command) {
      case 'resetSam':
      case 'samStatus':
        return { sw3: SW.ok };
      case 'readSamId':
        return { sw3: SW.ok, data: this.samId };
      case 'findCard':
        return card ? { sw3: SW.found, data: Buffer.alloc(4) } : { sw3: SW.noCard };
      case 'selectCard':
        return card ? { sw3: SW.ok, data: Buffer.alloc(8) } : { sw3: SW.selectFailed };
      case 'readBase':
        return card ? { sw3: SW.ok, data: encodeCardData(card.text, this.photo), card: card.fields } : { sw3: SW.readFailed };
      case 'readBaseWithFingerprint':
        return card ? { sw3: SW.ok, data: encodeCardData(card.text, this.photo, card.fingerprint ?? Buffer.alloc(0)), card: card.fields } : { sw3: SW.readFailed };
      case 'readNewAddress':
        return card ? { sw3: SW.noContent } : { sw3: SW.readFailed };
      default:
        return { sw3: SW.command };
    }
  }

  /** The bytes to send (and the SW3 they carry, null for garbage); null for no answer. */
  private render(answer: Answer, fault: ReaderFault | null): { bytes: Buffer; sw3: number | null } | null {
    if (fault === 'silence') return null;
    if (fault === 'garbage') {
      const junk = randomBytes(12);
      for (let i = 0; i < junk.length; i++) if (junk[i] === 0xaa) junk[i] = 0x55;
      return { bytes: junk, sw3: null };
    }
    if (fault === 'read_failed') return { bytes: encodeResponse(SW.readFailed), sw3: SW.readFailed };
    if (fault === 'sam_auth_failed') return { bytes: encodeResponse(SW.samAuth), sw3: SW.samAuth };
    const frame = encodeResponse(answer.sw3, answer.data);
    if (fault === 'bad_checksum') frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0xff;
    if (fault === 'truncated') return { bytes: frame.subarray(0, Math.max(1, frame.length >> 1)), sw3: answer.sw3 };
    return { bytes: frame, sw3: answer.sw3 };
  }
}
