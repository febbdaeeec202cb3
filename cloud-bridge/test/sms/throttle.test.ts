/**
 * Per-phone throttling (≤ 1 a minute, 5 an hour, 10 a day by default) and the provider's
 * request rate, before anything is sent: refused texts are recorded with the window they
 * would exceed, never fail the sale, and hold across concurrent sends on both stores.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers.js';
import { smsPark, textOfOrder, type SmsPark } from './harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe.each(DIALECTS)('SMS throttling on %s', (dialect) => {
  const open: SmsPark[] = [];
  afterEach(async () => {
    for (const p of open.splice(0)) await p.close();
  });

  it('a second check-in text to the same phone within a minute is refused and recorded; the sale is paid all the same', async () => {
    const p = await smsPark({ provider: 'aliyun', dialect });
    open.push(p);
    const first = await p.sale('13800138000');
    await p.waitState((await textOfOrder(p, first.orderId)).id, ['sent', 'delivered']);
    const second = await p.sale('13800138000');
    expect(second.status).toBe('paid');
    expect(second.tickets).toHaveLength(1);
    const refused = await p.waitState((await textOfOrder(p, second.orderId)).id, ['refused']);
    expect(refused).toMatchObject({ errorCode: 'throttled_minute', phone: '138****8000', sentAt: null, attempts: 0 });
    expect(refused.error).toMatch(/1 text\(s\) to this phone in the last minute; the limit is 1/);
    expect(p.simTexts()).toHaveLength(1);
    // Another phone is not held back.
    const other = await p.sale('13800138001');
    await p.waitState((await textOfOrder(p, other.orderId)).id, ['sent', 'delivered']);
  });

  it('counts the last minute, hour and day (refused texts do not count), on the module clock', async () => {
    let now = Date.now();
    const p = await smsPark({ provider: 'tencent', dialect, bridge: { clock: () => new Date(now) } });
    open.push(p);
    const sender = p.bridge.smsModule!.sender;
    const send = async () => {
      const r = await sender.submit({ to: '13600136000', text: '', orderId: '', site: p.site, template: 'verify', vars: { code: '123456' } });
      if (r.state === 'queued') await r.done;
      return r.state === 'refused' ? r.reason : r.state;
    };
    const t0 = now;
    const at = (s: number) => (now = t0 + s * 1000);
    expect(await send()).toBe('queued');
    at(30);
    expect(await send()).toBe('throttled_minute');
    const got: string[] = [];
    for (const s of [61, 122, 183, 244, 305]) {
      at(s);
      got.push(await send());
    }
    expect(got).toEqual(['queued', 'queued', 'queued', 'queued', 'throttled_hour']);
    got.length = 0;
    // Five more two hours later: ten in the day. One more when the hour has room again: the day has not.
    for (const s of [7200, 7261, 7322, 7383, 7444, 10_900]) {
      at(s);
      got.push(await send());
    }
    expect(got).toEqual(['queued', 'queued', 'queued', 'queued', 'queued', 'throttled_day']);
    at(86_400 + 60);
    expect(await send()).toBe('queued');
    expect(p.simTexts()).toHaveLength(11);
    const refused = ((await p.list('?state=refused&limit=50')).messages as Json[]).map((m) => m.errorCode);
    expect(refused.sort()).toEqual(['throttled_day', 'throttled_hour', 'throttled_minute']);
  });

  it('texts sent at once to one phone: exactly one passes', async () => {
    const p = await smsPark({ provider: 'aliyun', dialect });
    open.push(p);
    const sender = p.bridge.smsModule!.sender;
    const results = await Promise.all(Array.from({ length: 8 }, () => sender.submit({ to: '13500135000', text: '', orderId: '', site: p.site, template: 'verify', vars: { code: '654321' } })));
    expect(results.filter((r) => r.state === 'queued')).toHaveLength(1);
    expect(results.filter((r) => r.state === 'refused').map((r) => r.state === 'refused' && r.reason)).toEqual(Array(7).fill('throttled_minute'));
  });
});

describe('the provider request rate', () => {
  it('is honoured with a queue, and a full queue refuses (queue_full) instead of piling up', async () => {
    const p = await smsPark({ provider: 'aliyun', settings: (s) => ({ ...s, limits: { ...s.limits, qps: 2, queue: 4 } }) });
    try {
      const sender = p.bridge.smsModule!.sender;
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => sender.submit({ to: `1370013700${i}`, text: '', orderId: '', site: p.site, template: 'verify', vars: { code: '111111' } })));
      expect(results.map((r) => (r.state === 'refused' ? r.reason : r.state))).toEqual(['queued', 'queued', 'queued', 'queued', 'queue_full', 'queue_full']);
      for (const r of results) if (r.state === 'queued') expect(await r.done).toMatchObject({ state: 'sent' });
      // Two a second (burst two): the fourth leaves a second after the first, not with it.
      const times = p.simTexts().map((t) => t.acceptedAt.getTime());
      expect(times).toHaveLength(4);
      expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(900);
    } finally {
      await p.close();
    }
  });
});
