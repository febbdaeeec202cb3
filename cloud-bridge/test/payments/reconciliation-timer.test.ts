/**
 * When the daily reconciliation runs by itself (modules/payments/reconciliation.ts tick()):
 * not before `at` on the next day (Beijing time), once per day, again only when a retry is
 * due, and days missed while the bridge was down are made up. The store is real (SQLite and
 * PostgreSQL); the provider is a stand-in that counts its bill downloads.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudStore } from '../../src/core/db/store.js';
import { CloudError } from '../../src/core/errors.js';
import type { StaffAlert } from '../../src/core/notify/webhook.js';
import type { Bill } from '../../src/modules/payments/bill.js';
import type { PaymentProvider } from '../../src/modules/payments/provider.js';
import { Reconciliation } from '../../src/modules/payments/reconciliation.js';
import { DIALECTS, silentLog, testDb, type TestDb } from '../helpers.js';

describe.each(DIALECTS)('the reconciliation timer on %s', (dialect) => {
  let db: TestDb;
  let store: CloudStore;
  let now: number;
  let downloads: string[];
  let failNext: number;
  let alerts: StaffAlert[];
  const provider = {
    id: 'wechat',
    downloadBill: (date: string): Promise<Bill> => {
      downloads.push(date);
      if (failNext > 0) {
        failNext--;
        return Promise.reject(new CloudError('payment_unavailable', 'WeChat Pay answered 502'));
      }
      return Promise.resolve({ provider: 'wechat', date, lines: [], rejected: [], empty: true });
    },
  } as unknown as PaymentProvider;
  const make = () =>
    new Reconciliation(
      { store, clock: () => new Date(now), log: silentLog },
      { providers: { get: (site, p) => (site === 'park1' && p === 'wechat' ? provider : undefined), sites: () => ['park1'] }, alerts: { raise: (a) => Promise.resolve(void alerts.push(a)) } },
      { at: '10:30', retryEveryMs: 30 * 60_000, maxAttempts: 3, catchUpDays: 2 },
    );
  const at = (beijing: string) => Date.parse(`${beijing.replace(' ', 'T')}+08:00`);

  beforeEach(async () => {
    db = await testDb(dialect);
    store = await CloudStore.open(db.options);
    downloads = [];
    failNext = 0;
    alerts = [];
  });
  afterEach(async () => {
    await store.close();
    await db.cleanup();
  });

  it('runs a day from 10:30 the next morning, once; makes up a missed day', async () => {
    const r = make();
    now = at('2027-03-11 10:29:00');
    await r.tick();
    // The 9th was due yesterday at 10:30 (the bridge was down): made up now. The 10th waits for 10:30.
    expect(downloads).toEqual(['2027-03-09']);
    now = at('2027-03-11 10:30:00');
    await r.tick();
    expect(downloads).toEqual(['2027-03-09', '2027-03-10']);
    now = at('2027-03-11 18:00:00');
    await r.tick();
    expect(downloads).toHaveLength(2);
    expect((await r.get('park1', '2027-03-10'))?.state).toBe('done');
  });

  it('a provider error is tried again when the retry is due, not before; the last try fails and alerts', async () => {
    const r = make();
    now = at('2027-03-11 10:31:00');
    failNext = 10;
    await r.tick(1);
    expect(await r.get('park1', '2027-03-10')).toMatchObject({ state: 'retrying', attempts: 1, nextAt: new Date(now + 30 * 60_000).toISOString() });
    now += 29 * 60_000;
    await r.tick(1);
    expect(downloads).toHaveLength(1);
    now += 60_000;
    await r.tick(1);
    expect(downloads).toHaveLength(2);
    expect(alerts).toEqual([]);
    now += 30 * 60_000;
    await r.tick(1);
    const failed = await r.get('park1', '2027-03-10');
    expect(failed).toMatchObject({ state: 'failed', attempts: 3, mismatchCounts: { bill_unavailable: 1 } });
    expect(failed).not.toHaveProperty('nextAt');
    expect(alerts).toHaveLength(1);
    // Failed is final for the timer; staff can run it again.
    now += 60 * 60_000;
    await r.tick(1);
    expect(downloads).toHaveLength(3);
    failNext = 0;
    expect(await r.run('park1', '2027-03-10')).toMatchObject({ state: 'done', attempts: 1 });
  });

  it('refuses a site without providers and a day whose bill is not out', async () => {
    const r = make();
    now = at('2027-03-11 09:00:00');
    await expect(r.run('park2', '2027-03-10')).rejects.toMatchObject({ code: 'provider_not_configured' });
    await expect(r.run('park1', '2027-03-11')).rejects.toMatchObject({ code: 'bill_not_ready' });
  });
});
