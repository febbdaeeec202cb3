/**
 * stile-kiosk end to end on simulated devices and a real cloud (kiosk-harness.ts): a cash sale
 * with change, a payment-code sale, paper out and the reprint, and a kill between payment and
 * print that the journal recovers from.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@stile/config';
import { startKiosk, type KioskDaemon } from '../../src/daemon/kiosk-daemon.js';
import type { Phase } from '../../src/sale/model.js';
import { KioskJournal } from '../../src/store/journal.js';
import { KEYS, nextIdNumber, scanPng, startKioskPark, toReview, until, type KioskPark } from './kiosk-harness.js';

let park: KioskPark;
let kiosk: KioskDaemon | undefined;

beforeAll(async () => {
  park = await startKioskPark();
});
afterAll(async () => {
  await kiosk?.stop();
  await park?.close();
});

const phase = (p: Phase) => () => kiosk!.runtime.state().phase === p;

describe('stile-kiosk on simulated devices and a real cloud', () => {
  beforeAll(async () => {
    kiosk = await startKiosk(park.config());
  });

  it('cash: a ¥100 note for an ¥80 ticket pays ¥20 change from the hopper and prints a ticket whose QR is the order\'s ST1 code, sent to the gates in the whitelist delta', async () => {
    const rt = kiosk!.runtime;
    const coinsBefore = park.cash.hopper!.coins;
    // A gate's view: the signed whitelist deltas the cloud publishes to every gate of the site.
    const gate = await connectAsync(process.env.STILE_TEST_MQTT ?? 'mqtt://127.0.0.1:1883', { protocolVersion: 5, reconnectPeriod: 0 });
    const whitelisted = new Set<string>();
    gate.on('message', (_t, payload) => {
      const delta = JSON.parse(payload.toString()) as { changes?: { op: string; ticket?: { ticketId: string } }[] };
      for (const c of delta.changes ?? []) if (c.op === 'upsert' && c.ticket) whitelisted.add(c.ticket.ticketId);
    });
    await gate.subscribeAsync(topics.whitelistDelta(park.site), { qos: 1 });
    const saleId = await toReview(kiosk!, park);
    expect(rt.state().sale?.quote?.unitFen).toBe(8000);
    rt.dispatch({ kind: 'choose_method', method: 'cash' });
    await until(phase('cash'), 'the cash screen');
    // The validator was enabled by the machine; the visitor feeds a note.
    await until(() => park.cash.validator!.insertNote(10000) === 'held', 'the validator taking the note');
    await until(phase('done'), 'the printed ticket', 15_000);

    expect(coinsBefore - park.cash.hopper!.coins).toBe(20);
    const page = park.printer.pages.find((p) => p.qrPngs.length > 0 && p.text.includes('票种 Type'))!;
    const code = scanPng(page.qrPngs[0]!);
    expect(code).toMatch(/^ST1:/);
    const orderId = kiosk!.journal.saleEntries(saleId).find((e) => e.kind === 'order_placed')!;
    expect(orderId.kind).toBe('order_placed');
    const order = await park.getOrder((orderId as { orderId: string }).orderId, KEYS.cash);
    expect(order.status).toBe('paid');
    expect(order.tickets.map((t: { code: string }) => t.code)).toEqual([code]);
    await until(() => whitelisted.has(code!.slice(4)), 'the ticket in the whitelist delta to the gates', 5000);
    await gate.endAsync();
    // The receipt says what came in and what went back.
    const receipt = park.printer.pages.find((p) => p.text.includes('找零 Change'))!.text;
    expect(receipt).toMatch(/收款 Received\s+￥100\.00/);
    expect(receipt).toMatch(/找零 Change\s+￥20\.00/);
    // The cash journal: the note in, the coins out.
    const cash = kiosk!.journal.cashSince().filter((r) => r.saleId === saleId);
    expect(cash.map((r) => [r.kind, r.fen])).toEqual([
      ['note_in', 10000],
      ['coins_out', 2000],
    ]);
    expect(kiosk!.journal.saleEntries(saleId).at(-1)).toMatchObject({ kind: 'sale_closed', outcome: 'done' });
  });

  it('payment code: the scanned WeChat code pays through the simulator and the ticket prints', async () => {
    const rt = kiosk!.runtime;
    const saleId = await toReview(kiosk!, park);
    rt.dispatch({ kind: 'choose_method', method: 'code' });
    await until(phase('code_wait'), 'the scan screen');
    const printed = park.printer.pages.length;
    await park.scanner.scan('134567890123456789');
    await until(phase('done'), 'the printed ticket');
    const page = park.printer.pages.slice(printed).find((p) => p.qrPngs.length > 0)!;
    const code = scanPng(page.qrPngs[0]!);
    const placed = kiosk!.journal.saleEntries(saleId).find((e) => e.kind === 'order_placed') as { orderId: string };
    const order = await park.getOrder(placed.orderId);
    expect(order).toMatchObject({ status: 'paid', paymentMode: 'provider' });
    expect(order.tickets[0].code).toBe(code);
    expect(park.printer.pages.slice(printed).some((p) => p.text.includes('微信支付 WeChat Pay'))).toBe(true);
  });

  it('paper out: the paid ticket waits, and prints by itself once paper is back', async () => {
    const rt = kiosk!.runtime;
    const saleId = await toReview(kiosk!, park);
    park.printer.setPaperOut();
    rt.dispatch({ kind: 'choose_method', method: 'code' });
    await until(phase('code_wait'), 'the scan screen');
    await park.scanner.scan('134567890123456790');
    await until(phase('print_failed'), 'the print failing');
    expect(rt.state().notice?.key).toBe('paper_out');
    const printed = park.printer.pages.length;
    park.printer.loadPaper();
    await until(phase('done'), 'the reprint', 10_000);
    const entries = kiosk!.journal.saleEntries(saleId).map((e) => e.kind);
    expect(entries).toContain('print_failed');
    expect(entries.filter((k) => k === 'printed')).toHaveLength(1);
    const page = park.printer.pages.slice(printed).find((p) => p.qrPngs.length > 0)!;
    expect(scanPng(page.qrPngs[0]!)).toMatch(/^ST1:/);
  });
});

describe('the daemon killed between payment and print', () => {
  const child = fileURLToPath(new URL('./kiosk-child.js', import.meta.url));
  type Msg = { phase?: Phase; saleId?: string; ready?: boolean };

  function spawnKiosk(env: Record<string, string>): { proc: ChildProcess; last: () => Msg; seen: Msg[] } {
    const seen: Msg[] = [];
    const proc = fork(child, [park.configFile], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    proc.on('message', (m) => seen.push(m as Msg));
    return { proc, seen, last: () => seen.at(-1) ?? {} };
  }

  it('restarts, finds the paid sale in the journal, records it and prints the ticket', async () => {
    await kiosk?.stop();
    kiosk = undefined;
    // The first process: the cloud's answer to recording the sale never comes before the kill.
    const a = spawnKiosk({ KIOSK_TEST_HOLD_RECORD: '1' });
    await until(() => a.seen.some((m) => m.ready), 'the first kiosk', 20_000);
    const send = (m: unknown) => a.proc.send(m as never);
    send({ start: true });
    await until(() => a.last().phase === 'choosing', 'choosing');
    // The child reports phases, not whether the day's availability has arrived, and the machine
    // ignores a confirm until it has: confirm again until it is taken.
    let sentAt = 0;
    await until(() => {
      if (a.last().phase === 'choosing' && Date.now() - sentAt > 250) {
        sentAt = Date.now();
        send({ event: { kind: 'confirm' } });
      }
      return a.last().phase === 'identifying';
    }, 'identifying');
    park.reader.placeCard({ idNumber: nextIdNumber(), name: '李四' });
    await until(() => a.last().phase === 'review', 'review', 10_000);
    park.reader.removeCard();
    send({ event: { kind: 'choose_method', method: 'code' } });
    await until(() => a.last().phase === 'code_wait', 'code_wait');
    await park.scanner.scan('134567890123456791');
    await until(() => a.last().phase === 'recording', 'paid, recording');
    const saleId = a.last().saleId!;
    const printed = park.printer.pages.length;
    a.proc.kill('SIGKILL');
    await new Promise((r) => a.proc.once('exit', r));
    expect(park.printer.pages.length).toBe(printed);

    const b = spawnKiosk({});
    try {
      await until(() => b.seen.some((m) => m.ready), 'the restarted kiosk', 20_000);
      await until(() => b.seen.some((m) => m.phase === 'done'), 'the recovered ticket printed', 15_000);
      const page = park.printer.pages.slice(printed).find((p) => p.qrPngs.length > 0)!;
      const code = scanPng(page.qrPngs[0]!);
      const journal = new KioskJournal(`${park.dir}/journal.db`);
      const entries = journal.saleEntries(saleId);
      journal.close();
      const placed = entries.find((e) => e.kind === 'order_placed') as { orderId: string };
      const order = await park.getOrder(placed.orderId);
      expect(order.tickets[0].code).toBe(code);
      expect(entries.map((e) => e.kind)).toEqual(expect.arrayContaining(['provider_paid', 'sale_recorded', 'printed', 'sale_closed']));
    } finally {
      b.proc.kill('SIGTERM');
      await new Promise((r) => b.proc.once('exit', r));
    }
  });
});
