/**
 * #16 point 8 through the SMS simulator: the check-in text goes out in the visitor's language
 * (the order's `lang`), with the park's and the slot's names from the catalogue in that
 * language, never the site id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DAY, smsPark, textOfOrder, type SmsPark } from './harness.js';
import type { SmsSettings } from '../../src/modules/sms/settings.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let phoneSeq = 0;
const phone = () => `137${String(process.pid % 10000).padStart(4, '0')}${String(++phoneSeq).padStart(4, '0')}`;

describe.each(['aliyun', 'tencent'] as const)('check-in SMS names through %s', (provider) => {
  const open: SmsPark[] = [];
  afterEach(async () => {
    for (const p of open.splice(0)) await p.close();
  });

  // Templates that name the park, as a park's approved ones do.
  const ids = provider === 'aliyun' ? { zh: 'SMS_480019001', en: 'SMS_480019002' } : { zh: '2489001', en: '2489002' };
  const texts =
    provider === 'aliyun'
      ? { zh: '${site}欢迎您！入园码：${code}，${date} ${slot}。', en: 'Welcome to ${site}! Entry code: ${code}, ${date} ${slot}.' }
      : { zh: '{1}欢迎您！入园码：{2}，{3} {4}。', en: 'Welcome to {1}! Entry code: {2}, {3} {4}.' };
  const params = provider === 'aliyun' ? { site: 'site', code: 'code', date: 'date', slot: 'slot' } : ['site', 'code', 'date', 'slot'];
  const withSiteTemplates = (s: SmsSettings): SmsSettings => ({
    ...s,
    sites: Object.fromEntries(Object.entries(s.sites).map(([id, site]) => [id, { ...site, templates: { ...site.templates, checkin: { 'zh-CN': { id: ids.zh, params }, en: { id: ids.en, params } } } }])),
  });

  async function park(): Promise<SmsPark> {
    const p = await smsPark({ provider, settings: withSiteTemplates });
    open.push(p);
    for (const lang of ['zh', 'en'] as const) expect((await p.control('POST', '/sim/sms/templates', { provider, id: ids[lang], text: texts[lang] })).status).toBeLessThan(300);
    return p;
  }

  async function sentText(p: SmsPark, paid: Json): Promise<{ row: Json; text: string }> {
    const t = await textOfOrder(p, paid.orderId as string);
    const row = await p.waitState(t.id as string, ['sent', 'delivered']);
    const sim = p.simTexts().find((x) => x.ref === t.id);
    expect(sim, 'the text at the simulator').toBeDefined();
    return { row, text: sim!.text };
  }

  it('an English order gets the English template with the park and the slot in English; a Chinese one Chinese names', async () => {
    const p = await park();
    const en = await p.sale(phone(), 1, { lang: 'en', slotId: 's14' });
    const enSent = await sentText(p, en);
    expect(enSent.row).toMatchObject({ lang: 'en', template: ids.en });
    expect(enSent.text).toBe(`【Stile景区】Welcome to Qingshan Lake Scenic Area! Entry code: ${en.tickets[0].code}, ${DAY} Afternoon 14:00-16:00.`);

    const zh = await p.sale(phone(), 1, { lang: 'zh-CN', slotId: 's14' });
    const zhSent = await sentText(p, zh);
    expect(zhSent.row).toMatchObject({ lang: 'zh-CN', template: ids.zh });
    expect(zhSent.text).toBe(`【Stile景区】青山湖风景区欢迎您！入园码：${zh.tickets[0].code}，${DAY} 下午场 14:00-16:00。`);

    // No language on the order: the site's default (zh-CN); a slot without a name shows its times.
    const plain = await p.sale(phone(), 1);
    const plainSent = await sentText(p, plain);
    expect(plainSent.row).toMatchObject({ lang: 'zh-CN' });
    expect(plainSent.text).toBe(`【Stile景区】青山湖风景区欢迎您！入园码：${plain.tickets[0].code}，${DAY} 10:00-12:00。`);
    for (const t of [enSent.text, zhSent.text, plainSent.text]) expect(t).not.toContain(p.site);
  });
});
