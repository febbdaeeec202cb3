/**
 * stile-kiosk's Prometheus metrics (docs/metrics.md), scraped over HTTP from a kiosk on
 * simulated devices and a real cloud (kiosk-harness.ts): one cash sale and what it does to
 * the figures, and the printer's paper running low.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, valueOf } from '../../../service/test/prom-text.js';
import { startKiosk, type KioskDaemon } from '../../src/daemon/kiosk-daemon.js';
import { startKioskPark, toReview, until, type KioskPark } from './kiosk-harness.js';

let park: KioskPark;
let kiosk: KioskDaemon | undefined;

beforeAll(async () => {
  park = await startKioskPark();
  kiosk = await startKiosk(park.config((f) => void (f.metrics = { listen: '127.0.0.1:0' })));
});
afterAll(async () => {
  await kiosk?.stop();
  await park?.close();
});

describe('stile-kiosk /metrics', () => {
  it('before any sale: loopback Prometheus text, devices up, the hopper float, no takings', async () => {
    const url = kiosk!.metricsUrl!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await until(() => kiosk!.runtime.catalogue().types.length > 0, 'the catalogue');
    const m = await scrape(url);
    expect(valueOf(m, 'stile_kiosk_info', { kiosk: 'k1', mode: 'kiosk' })).toBe(1);
    expect(valueOf(m, 'stile_kiosk_device_up', { name: 'printer' })).toBe(1);
    expect(valueOf(m, 'stile_kiosk_hopper_coins')).toBe(200);
    expect(valueOf(m, 'stile_kiosk_hopper_float_yuan')).toBe(200);
    expect(valueOf(m, 'stile_kiosk_cash_expected_yuan')).toBe(0);
    expect(valueOf(m, 'stile_kiosk_phase', { phase: 'idle' })).toBe(1);
    expect(valueOf(m, 'stile_kiosk_printer_paper_low')).toBe(0);
    expect(m.get('stile_kiosk_sales_total')!.samples).toEqual([]);
  });

  it('a ¥100 note for an ¥80 ticket: one cash sale done, the note counted, ¥20 change out of the float, one sale time', async () => {
    const rt = kiosk!.runtime;
    await toReview(kiosk!, park);
    rt.dispatch({ kind: 'choose_method', method: 'cash' });
    await until(() => rt.state().phase === 'cash', 'the cash screen', 15_000, () => `${rt.state().phase} ${rt.state().notice?.key ?? ''}`);
    await until(() => park.cash.validator!.insertNote(10000) === 'held', 'the validator taking the note');
    await until(() => rt.state().phase === 'done', 'the printed ticket', 15_000);
    const m = await scrape(kiosk!.metricsUrl!);
    expect(valueOf(m, 'stile_kiosk_phase', { phase: 'done' })).toBe(1);
    expect(valueOf(m, 'stile_kiosk_sales_total', { outcome: 'done', method: 'cash' })).toBe(1);
    expect(m.get('stile_kiosk_sales_total')!.samples).toHaveLength(1);
    expect(valueOf(m, 'stile_kiosk_sale_duration_seconds_count')).toBe(1);
    expect(valueOf(m, 'stile_kiosk_sale_duration_seconds_sum')).toBeGreaterThan(0);
    expect(valueOf(m, 'stile_kiosk_sales_today', { outcome: 'done' })).toBe(1);
    expect(valueOf(m, 'stile_kiosk_sales_recorded_today', { method: 'cash' })).toBe(1);
    expect(valueOf(m, 'stile_kiosk_revenue_today_yuan', { method: 'cash' })).toBe(80);
    expect(valueOf(m, 'stile_kiosk_notes_in_today', { value_yuan: '100' })).toBe(1);
    expect(valueOf(m, 'stile_kiosk_cash_expected_yuan')).toBe(80);
    expect(valueOf(m, 'stile_kiosk_hopper_coins')).toBe(180);
    expect(valueOf(m, 'stile_kiosk_hopper_float_yuan')).toBe(180);
    expect(valueOf(m, 'stile_kiosk_print_jobs_total', { outcome: 'printed' })).toBeGreaterThanOrEqual(1);
    // The visitor's name and ID number stay out of the metrics.
    expect(await (await fetch(kiosk!.metricsUrl!)).text()).not.toContain('张三');
  });

  it('paper nearly out: paper_low goes to 1 while the printer still prints', async () => {
    // The kiosk reads the printer's status while it waits for the next visitor.
    await until(() => kiosk!.runtime.state().phase === 'idle', 'the kiosk back to idle', 30_000);
    park.printer.setPaperNearEnd();
    await until(async () => valueOf(await scrape(kiosk!.metricsUrl!), 'stile_kiosk_printer_paper_low') === 1, 'paper low in the metrics', 10_000);
    const m = await scrape(kiosk!.metricsUrl!);
    expect(valueOf(m, 'stile_kiosk_printer_ready')).toBe(1);
    park.printer.loadPaper();
  });
});
