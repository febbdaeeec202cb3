/**
 * The daily report's product-insight section (#19): the day's suggestions from the site's
 * insight rules, the secondary-spend share, the repeat-visit rate and coupon uptake, as the
 * insight module answers them through the InsightView port. Pure rendering: CSV rows and an
 * HTML fragment (the weekly/monthly page with its charts is the insight module's own).
 */
import { z } from '@hono/zod-openapi';
import { escapeHtml as esc } from '../../core/html.js';
import type { InsightDaySection } from '../../core/ports.js';

const text = z.object({ 'zh-CN': z.string(), en: z.string() }).strict();

export const InsightDaySectionSchema = z
  .object({
    suggestions: z.array(z.object({ metric: z.string(), text, note: text.optional() }).strict()),
    secondarySpend: z.object({ ticketFen: z.number().int(), posFen: z.number().int(), share: z.number().nullable() }).strict(),
    repeatRate: z.number().nullable(),
    coupons: z.array(z.object({ ruleId: z.string(), issued: z.number().int(), redeemed: z.number().int(), uptake: z.number().nullable() }).strict()),
  })
  .strict()
  .openapi({ description: 'Product insight of the day (#19): suggestions, secondary-spend share, repeat-visit rate, coupon uptake' });

const pct = (v: number | null): string => (v === null ? '' : `${(v * 100).toFixed(1)}%`);
const frac = (v: number | null): { raw: string } => ({ raw: v === null ? '' : v.toFixed(4) });

const LABELS = {
  'zh-CN': { title: '产品洞察', suggestions: '建议', none: '今日无建议', spend: '二次消费占比', repeat: '重游率', coupons: '优惠券核销', rule: '规则', issued: '发放', redeemed: '核销', uptake: '核销率' },
  en: { title: 'Product insight', suggestions: 'Suggestions', none: 'No suggestions today', spend: 'Secondary-spend share', repeat: 'Repeat-visit rate', coupons: 'Coupon uptake', rule: 'Rule', issued: 'Issued', redeemed: 'Redeemed', uptake: 'Uptake' },
} as const;

/** CSV sections (each a header row and its rows); text cells are guarded by the caller's csvCell. */
export function insightCsv(s: InsightDaySection, lang: 'zh-CN' | 'en'): (string | { raw: string })[][][] {
  return [
    [
      ['insight_metric', 'value'],
      ['secondary_spend_share', frac(s.secondarySpend.share)],
      ['pos_fen', { raw: String(s.secondarySpend.posFen) }],
      ['repeat_rate', frac(s.repeatRate)],
    ],
    [['coupon_rule', 'issued', 'redeemed', 'uptake'], ...s.coupons.map((c) => [c.ruleId, { raw: String(c.issued) }, { raw: String(c.redeemed) }, frac(c.uptake)])],
    [['suggestion_metric', 'suggestion'], ...s.suggestions.map((x) => [x.metric, x.note ? `${x.text[lang]} (${x.note[lang]})` : x.text[lang]])],
  ];
}

export function insightHtml(s: InsightDaySection, lang: 'zh-CN' | 'en'): string {
  const L = LABELS[lang];
  const list = s.suggestions.length ? `<ul class="suggestions">${s.suggestions.map((x) => `<li data-metric="${esc(x.metric)}">${esc(x.text[lang])}${x.note ? ` <span class="empty">(${esc(x.note[lang])})</span>` : ''}</li>`).join('')}</ul>` : `<p class="empty">${esc(L.none)}</p>`;
  const coupons = s.coupons.length
    ? `<table><thead><tr><th>${esc(L.rule)}</th><th class="num">${esc(L.issued)}</th><th class="num">${esc(L.redeemed)}</th><th class="num">${esc(L.uptake)}</th></tr></thead><tbody>${s.coupons.map((c) => `<tr><td>${esc(c.ruleId)}</td><td class="num">${c.issued}</td><td class="num">${c.redeemed}</td><td class="num">${esc(pct(c.uptake) || '—')}</td></tr>`).join('')}</tbody></table>`
    : '';
  return `<section class="insight">
<h2>${esc(L.title)}</h2>
<div class="cards"><div class="card"><div class="k">${esc(L.spend)}</div><div class="v">${esc(pct(s.secondarySpend.share) || '—')}</div></div><div class="card"><div class="k">${esc(L.repeat)}</div><div class="v">${esc(pct(s.repeatRate) || '—')}</div></div></div>
<h3>${esc(L.suggestions)}</h3>
${list}
${coupons ? `<h3>${esc(L.coupons)}</h3>\n${coupons}` : ''}
</section>`;
}
