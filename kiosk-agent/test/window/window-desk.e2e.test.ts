/**
 * The staffed window end to end (kiosk.mode: window) on simulated devices and a real cloud:
 * a staff member logs in with a PIN, sells for cash typed in by hand, looks the visitor up by
 * tapping their ID card (the keyed hash to the cloud), prints the tickets again and refunds
 * with a reason; the cloud refunds, and every action's audit row names the staff member.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskIdNumber } from '@stile/config';
import { startKiosk, type KioskDaemon } from '../../src/daemon/kiosk-daemon.js';
import type { Phase } from '../../src/sale/model.js';
import { hashPin, pinProblem, verifyPin } from '../../src/window/pin.js';
import { ID_KEY, KEYS, nextIdNumber, scanPng, startKioskPark, until, type KioskPark } from '../daemon/kiosk-harness.js';

let park: KioskPark;
let kiosk: KioskDaemon;
const PIN = '2468';

const phase = (p: Phase) => () => kiosk.runtime.state().phase === p;

beforeAll(async () => {
  park = await startKioskPark();
  writeFileSync(join(park.dir, 'id-hash.key'), `${ID_KEY}\n`);
  kiosk = await startKiosk(
    park.config((c) => {
      c.kiosk.mode = 'window';
      c.window = { staff: [{ id: 'wang', name: '王芳', pinHash: hashPin(PIN) }], idHashKeyFile: 'id-hash.key', maxPinTries: 3, lockoutMs: 60_000 };
      c.sale.doneMs = 1000;
    }),
  );
});
afterAll(async () => {
  await kiosk?.stop();
  await park?.close();
});

describe('PINs', () => {
  it('are kept as scrypt hashes that check the PIN and nothing else; weak PINs are refused', () => {
    const h = hashPin('2468');
    expect(h).toMatch(/^scrypt\$/);
    expect(h).not.toContain('2468');
    expect(verifyPin('2468', h)).toBe(true);
    expect(verifyPin('2469', h)).toBe(false);
    expect(verifyPin('2468', 'scrypt$AAAA$BBBB')).toBe(false);
    expect(pinProblem('12')).toMatch(/4 to 12 digits/);
    expect(pinProblem('0000')).toMatch(/too easy/);
  });
});

describe('the staffed window', () => {
  it('staff log in, sell for cash, find the ticket by ID card, print it again and refund it with a reason', async () => {
    const desk = kiosk.window!;
    const rt = kiosk.runtime;
    expect(desk).toBeDefined();
    expect(() => desk.startSale()).toThrow(/log in first/);
    expect(() => desk.login('wang', '1357')).toThrow(/wrong PIN/);
    expect(() => desk.login('zhao', PIN)).toThrow(/no staff member zhao/);
    desk.login('wang', PIN);
    expect(desk.staff).toBe('wang');

    // A cash sale: the staff member types what the visitor handed over; the change is computed.
    await until(() => rt.catalogue().types.length > 0, 'the catalogue');
    const id = nextIdNumber();
    const saleId = desk.startSale();
    await until(() => rt.state().sale?.availability, 'availability');
    rt.dispatch({ kind: 'confirm' });
    await until(phase('identifying'), 'identifying');
    rt.dispatch({ kind: 'id_typed', name: '李四', idNumber: id });
    await until(phase('review'), 'the price');
    rt.dispatch({ kind: 'choose_method', method: 'staff_cash' });
    await until(phase('staff_cash'), 'the cash entry');
    expect(() => desk.tenderCash(5000)).toThrow(/at least ¥80\.00/);
    expect(desk.tenderCash(10000)).toEqual({ tenderedFen: 10000, changeFen: 2000, saleId });
    await until(phase('done'), 'the printed ticket');
    const placed = kiosk.journal.saleEntries(saleId).find((e) => e.kind === 'order_placed') as { orderId: string; staff?: string };
    expect(placed.staff).toBe('wang');
    expect(kiosk.journal.saleEntries(saleId).find((e) => e.kind === 'staff_cash')).toMatchObject({ tenderedFen: 10000, changeFen: 2000, staff: 'wang' });
    await until(phase('idle'), 'idle again');

    // The visitor comes back: the card tapped on the reader finds today's ticket.
    park.reader.placeCard({ idNumber: id, name: '李四' });
    let answer: Awaited<ReturnType<typeof desk.lookup>> | undefined;
    for (const end = Date.now() + 10_000; !answer && Date.now() < end; ) {
      answer = await desk.lookup().catch((err: Error) => {
        if (!/tap the visitor's ID card/.test(err.message)) throw err;
        return new Promise<undefined>((r) => setTimeout(r, 50));
      });
    }
    park.reader.removeCard();
    if (!answer) throw new Error('the card was never read');
    const order = answer.orders.find((o) => o.orderId === placed.orderId)!;
    expect(order).toMatchObject({ status: 'paid', channelId: 'kiosk-cash', canRefund: true, visitors: [{ name: '李四', idMasked: maskIdNumber(id) }] });
    expect(JSON.stringify(answer)).not.toContain(id);
    const code = order.tickets[0]!.code;

    // Print it again: a copy with the same code.
    const pages = park.printer.pages.length;
    await desk.printAgain(order.orderId);
    const copy = park.printer.pages.slice(pages).find((p) => p.qrPngs.length > 0)!;
    expect(scanPng(copy.qrPngs[0]!)).toBe(code);

    // Refund with a reason: the cloud refunds; the cash goes back from the till.
    await expect(desk.refund(order.orderId, 'bored')).rejects.toThrow(/not one of: kiosk_fault/);
    expect(await desk.refund(order.orderId, 'kiosk_fault')).toEqual({ orderId: order.orderId, ok: true, cashBackFen: 8000 });
    expect(await park.getOrder(order.orderId, KEYS.cash)).toMatchObject({ status: 'refunded', refundReason: 'kiosk_fault' });
    expect(kiosk.journal.saleEntries(`refund:${order.orderId}`)).toMatchObject([
      { kind: 'staff_refund', reasonCode: 'kiosk_fault', staff: 'wang' },
      { kind: 'staff_refund_result', ok: true, staff: 'wang' },
    ]);

    // The audit: every action, with the staff member; ID numbers only masked.
    const audit = kiosk.journal.auditBetween(0, Date.now() + 1000);
    expect(audit.map((a) => [a.action, a.staff])).toEqual([
      ['login_refused', null],
      ['login_refused', null],
      ['login', 'wang'],
      ['lookup', 'wang'],
      ['print_again', 'wang'],
      ['refund', 'wang'],
      ['refund_result', 'wang'],
    ]);
    expect(audit.find((a) => a.action === 'lookup')!.detail).toEqual({ id: maskIdNumber(id), orders: [order.orderId] });
    expect(JSON.stringify(audit)).not.toContain(id);

    // The till: ¥100 in, ¥20 change, ¥80 back to the visitor.
    const cash = kiosk.journal.cashSince().filter((r) => r.kind === 'refund_cash');
    expect(cash).toMatchObject([{ fen: 8000, saleId }]);
    desk.logout();
    expect(desk.staff).toBeUndefined();
  });

  it('wrong PINs lock the staff id out', () => {
    const desk = kiosk.window!;
    for (let i = 0; i < 3; i++) expect(() => desk.login('wang', '9753')).toThrow(/wrong PIN/);
    expect(() => desk.login('wang', PIN)).toThrow(/locked out/);
  });
});
