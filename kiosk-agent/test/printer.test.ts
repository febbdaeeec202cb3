/** The driver's answer matching, against a scripted printer connection (no pty). */
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EscPosPrinter } from '../src/devices/printer.js';
import type { PrinterConnection } from '../src/devices/printer-transport.js';

/** A printer that answers DLE EOT with "all well" and GS r 1 as the script says. */
class ScriptedPrinter extends EventEmitter<{ data: [Buffer]; close: [Error | undefined] }> implements PrinterConnection {
  readonly path = '/dev/usb/lp9';
  written: Buffer[] = [];
  /** Extra bytes to send before each answer (noise, XOFF…). */
  noise: number[] = [];
  /** GS r 1 answers held back (the printer stopped before reaching them). */
  held = 0;
  stuck = false;

  write(bytes: Buffer): Promise<void> {
    this.written.push(bytes);
    setImmediate(() => {
      const out: number[] = [];
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] === 0x10 && bytes[i + 1] === 0x04) out.push(...this.noise.splice(0), 0x12);
        if (bytes[i] === 0x1d && bytes[i + 1] === 0x72 && bytes[i + 2] === 0x01) {
          if (this.stuck) this.held++;
          else {
            out.push(...Array<number>(this.held + 1).fill(0x00));
            this.held = 0;
          }
        }
      }
      if (out.length > 0) this.emit('data', Buffer.from(out));
    });
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const job = Buffer.from('hello\n');

function driver(conn: ScriptedPrinter): EscPosPrinter {
  return new EscPosPrinter({ path: conn.path, transport: 'usblp', statusTimeoutMs: 200, jobTimeoutMs: 200, resyncQuietMs: 50 }, pino({ level: 'silent' }), () => Promise.resolve(conn));
}

describe('EscPosPrinter answer matching', () => {
  it('ignores bytes that are not status answers (XOFF, noise) and counts them', async () => {
    const conn = new ScriptedPrinter();
    conn.noise = [0x13, 0xff, 0x80];
    const printer = driver(conn);
    expect(await printer.status()).toMatchObject({ ready: true, faults: [] });
    expect(printer.health.discarded).toEqual({ unsolicited: 3 });
  });

  it('after a job whose end it did not see, drains the late answer before trusting the next one', async () => {
    const conn = new ScriptedPrinter();
    const printer = driver(conn);
    conn.stuck = true;
    expect(await printer.print(job)).toMatchObject({ outcome: 'uncertain', faults: ['no_answer'] });
    conn.stuck = false; // the printer recovers; its held answer comes with the next GS r
    conn.written = [];
    expect((await printer.print(job)).outcome).toBe('printed');
    const sent = Buffer.concat(conn.written).toString('latin1');
    // DLE EOT 1–4, a lone GS r 1 probe (answered twice: the late one and its own), then the job.
    expect(sent).toBe('\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04\x1dr\x01hello\n\x1dr\x01\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04');
    expect(printer.health.jobs).toEqual({ printed: 1, not_printed: 0, uncertain: 1 });
  });

  it('a printer still stuck after an unfinished job: the next job is not sent', async () => {
    const conn = new ScriptedPrinter();
    const printer = driver(conn);
    conn.stuck = true;
    await printer.print(job);
    conn.written = [];
    expect(await printer.print(job)).toMatchObject({ outcome: 'not_printed', faults: ['no_answer'] });
    expect(Buffer.concat(conn.written).includes(job)).toBe(false);
  });
});
