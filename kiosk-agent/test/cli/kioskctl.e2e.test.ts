/**
 * kioskctl end to end: the built CLI (bin/kioskctl.js → dist) as a child process against a
 * real stile-kiosk (in this process) on simulated devices and a real cloud (kiosk-harness.ts),
 * asserting what an attendant or a script sees: stdout, stderr and the exit code.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKiosk, type KioskDaemon } from '../../src/daemon/kiosk-daemon.js';
import type { Phase } from '../../src/sale/model.js';
import { nextIdNumber, startKioskPark, until, type KioskPark } from '../daemon/kiosk-harness.js';

const KIOSKCTL = fileURLToPath(new URL('../../bin/kioskctl.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let park: KioskPark;
let kiosk: KioskDaemon | undefined;

function kioskctl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KIOSKCTL, '--config', park.configFile, ...args], { encoding: 'utf8', env: { ...process.env, STILE_KIOSK_CONFIG: '', KIOSKCTL_DEBUG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A failure: the exit code and exactly one line on stderr, no stack trace. */
function expectOneLine(r: Run, code: number, mention: string | RegExp): void {
  expect(r.code, `stdout: ${r.stdout} stderr: ${r.stderr}`).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(typeof mention === 'string' ? new RegExp(mention.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : mention);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const phase = (p: Phase) => () => kiosk!.runtime.state().phase === p;

/** One cash sale, ¥100 for an ¥80 ticket, up to the print. */
async function cashSale(beforeNote?: () => void): Promise<string> {
  const rt = kiosk!.runtime;
  await until(() => rt.catalogue().types.length > 0, 'the catalogue');
  await until(phase('idle'), 'idle');
  const saleId = rt.startSale();
  await until(() => rt.state().sale?.availability, 'availability');
  rt.dispatch({ kind: 'confirm' });
  await until(phase('identifying'), 'identifying');
  rt.dispatch({ kind: 'id_typed', name: '张三', idNumber: nextIdNumber() });
  await until(phase('review'), 'the price', 10_000);
  rt.dispatch({ kind: 'choose_method', method: 'cash' });
  await until(phase('cash'), 'the cash screen');
  beforeNote?.();
  await until(() => park.cash.validator!.insertNote(10000) === 'held', 'the validator taking the note');
  return saleId;
}

beforeAll(async () => {
  park = await startKioskPark();
  kiosk = await startKiosk(park.config((c) => void (c.sale.doneMs = 1000)));
});
afterAll(async () => {
  await kiosk?.stop();
  await park?.close();
});

describe('kioskctl against a running stile-kiosk', () => {
  let printedSale = '';
  let unprintedSale = '';

  it('status: the daemon, the idle machine, its devices, the cloud reachable, today', async () => {
    const r = await kioskctl('status', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ kiosk: 'k1', mode: 'kiosk', daemon: { running: true }, machine: { phase: 'idle', sale: null, devices: { printerReady: true } }, cloud: { reachable: true }, openSales: [] });
    expect(s.today.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const human = await kioskctl('status');
    expect(human.stdout).toMatch(/^daemon {5}running, pid \d+$/m);
    expect(human.stdout).toMatch(/^cloud {6}reachable/m);
    expect(human.stdout).toMatch(/^printer {4}ready$/m);
  });

  it('cash: after a ¥100 note for an ¥80 ticket, the note by value, ¥20 change, ¥80 expected', async () => {
    printedSale = await cashSale();
    await until(phase('done'), 'the printed ticket');
    const r = await kioskctl('cash', '--json');
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c).toMatchObject({ notesIn: [{ valueFen: 10000, count: 1 }], notesInFen: 10000, coinsOutFen: 2000, changePaidFen: 2000, refundsPaidFen: 0, owedOpenFen: 0, expectedFen: 8000 });
    const human = await kioskctl('cash');
    expect(human.stdout).toMatch(/notes +¥100\.00 × +1 = ¥100\.00/);
    expect(human.stdout).toMatch(/expected +¥80\.00 in the box/);
  });

  it('refill --coins 50: recorded, the hopper count and the machine know it', async () => {
    const before = kiosk!.journal.hopperCoins()!;
    const r = await kioskctl('refill', '--coins', '50', '--staff', 'li', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ coins: 50, coinFen: 100, hopperCoins: before + 50 });
    expect(kiosk!.runtime.state().dev.coins).toEqual([{ valueFen: 100, count: before + 50 }]);
    const c = JSON.parse((await kioskctl('cash', '--json')).stdout);
    expect(c.refill).toEqual({ coins: 50, fen: 5000 });
    expect(c.expectedFen).toBe(8000); // the float is not takings
    expectOneLine(await kioskctl('refill'), 2, 'usage: kioskctl refill --coins N');
    expectOneLine(await kioskctl('refill', '--coins', '2.5'), 2, 'usage: kioskctl refill --coins N');
  });

  it('reprint: refused for a sale that printed, and for one not in the journal', async () => {
    expectOneLine(await kioskctl('reprint', printedSale), 1, `sale ${printedSale} printed at`);
    expectOneLine(await kioskctl('reprint', 'k1-nope'), 1, "sale k1-nope is not in this kiosk's journal");
    expectOneLine(await kioskctl('reprint'), 2, 'usage: kioskctl reprint <sale id>');
  });

  it('reprint: a paid sale whose ticket never printed (paper out, staff closed it) prints as a copy, once', async () => {
    const rt = kiosk!.runtime;
    // Paper runs out after the money is in: the ticket cannot print.
    const saleId = await cashSale(() => park.printer.setPaperOut());
    await until(phase('print_failed'), 'the print failing', 15_000);
    rt.dispatch({ kind: 'staff_resolve', staffId: 'li' });
    await until(phase('idle'), 'the sale closed by staff');
    unprintedSale = saleId;
    park.printer.loadPaper();
    await until(() => rt.state().dev.printerReady, 'paper back', 10_000);
    const pages = park.printer.pages.length;
    const r = await kioskctl('reprint', saleId, '--staff', 'li', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ saleId, copy: 2, codes: 1, outcome: 'printed' });
    const printed = park.printer.pages.slice(pages);
    expect(printed.some((p) => p.qrPngs.length > 0)).toBe(true);
    expect(kiosk!.journal.auditOfSale(saleId)).toMatchObject([{ action: 'reprint', staff: 'li', detail: { copy: 2, outcome: 'printed' } }]);
    expectOneLine(await kioskctl('reprint', saleId), 1, `sale ${saleId} was reprinted at`);
  });

  it('close-day: refused while a sale is open', async () => {
    const rt = kiosk!.runtime;
    rt.startSale();
    await until(phase('choosing'), 'a sale open');
    expectOneLine(await kioskctl('close-day', '--counted', '¥160'), 1, /a sale is open \(choosing/);
    rt.dispatch({ kind: 'cancel' });
    await until(phase('idle'), 'the sale cancelled');
  });

  it('close-day: ¥0.50 short is reported to the fen, printed, recorded once', async () => {
    expect(unprintedSale).not.toBe('');
    const pages = park.printer.pages.length;
    const r = await kioskctl('close-day', '--counted', '¥159.50', '--staff', 'li', '--json');
    expect(r.code, r.stderr).toBe(3);
    const rep = JSON.parse(r.stdout);
    expect(rep).toMatchObject({ expectedFen: 16000, countedFen: 15950, differenceFen: -50, balanced: false, printed: 'printed', staff: 'li', sales: { recorded: 2, tickets: 2 } });
    expect(rep.cash.notesIn).toEqual([{ valueFen: 10000, count: 2 }]);
    const page = park.printer.pages.slice(pages).find((p) => p.text.includes('Close of day'))!;
    expect(page.text).toMatch(/短款 Short\s+-￥0\.50/);
    expect(page.text).toMatch(/应有 Expected\s+￥160\.00/);
    // The same close again answers the first; another count is refused.
    const again = await kioskctl('close-day', '--counted', '159.5');
    expect(again.code).toBe(3);
    expect(again.stdout).toMatch(/closed before/);
    expect(again.stdout).toMatch(/SHORT +¥0\.50/);
    expect(again.stdout).toMatch(/expected +¥160\.00/);
    expectOneLine(await kioskctl('close-day', '--counted', '160'), 1, /was closed at .* with ¥159\.50 counted; a close is final/);
    expectOneLine(await kioskctl('close-day', '--counted', 'lots'), 2, '--counted must be an amount in yuan');
  });

  it('with the daemon stopped: status says so and still counts the day; reprint refuses', async () => {
    await kiosk!.stop();
    kiosk = undefined;
    const r = await kioskctl('status', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ daemon: { running: false }, machine: null, today: { sales: { recorded: 2 }, expectedCashFen: 16000 } });
    expect((await kioskctl('status')).stdout).toMatch(/^daemon {5}NOT RUNNING$/m);
    expectOneLine(await kioskctl('reprint', printedSale), 1, 'stile-kiosk is not running');
    const refill = await kioskctl('refill', '--coins', '10', '--json');
    expect(refill.code, refill.stderr).toBe(0);
    expect(JSON.parse(refill.stdout).coins).toBe(10);
  });
});
