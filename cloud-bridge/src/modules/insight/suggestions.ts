import type { Catalogue } from '../../core/catalogue.js';
import type { Lang, LocalText } from '../../core/i18n.js';
import type { InsightRule } from '../../core/site-config/insight.js';
import type { InsightReport, Period, Suggestion } from './model.js';

/*
 * Suggestion rules (sites[].insight.rules) evaluated against a period's metrics. Pure: the same
 * numbers and rules always give the same sentences, so each is unit-tested by hand.
 */

type Metrics = Omit<InsightReport, 'suggestions'>;

/** "34 %" (whole percent, as staff read it). */
export function pct(v: number): string {
  return `${Math.round(v * 100)} %`;
}

const PERIOD_WORD: Record<Period['kind'], LocalText> = {
  day: { 'zh-CN': '今天', en: 'today' },
  week: { 'zh-CN': '本周', en: 'this week' },
  month: { 'zh-CN': '本月', en: 'this month' },
  range: { 'zh-CN': '本期', en: 'in this period' },
};

/** The default sentence of each metric; {placeholders} are filled in by fill(). */
const DEFAULT_SAY: Record<string, LocalText> = {
  typeShare: { 'zh-CN': '{type}占{period}{measure}的 {value}（阈值 {threshold}）：可围绕这类游客开发产品', en: '{type} {value} of {measure} {period} (threshold {threshold}): consider building products for these visitors' },
  typeShareFamily: { 'zh-CN': '{type}占{period}{measure}的 {value}（阈值 {threshold}）：可考虑增加儿童游乐项目', en: "{type} {value} of {measure} {period} (threshold {threshold}): consider children's attractions" },
  refundReasonShare: { 'zh-CN': '{value} 的退款原因为"{reason}"（阈值 {threshold}）：可考虑推出免费改期票种', en: '{value} of refunds say {reason} (threshold {threshold}): consider a free-rebooking type' },
  couponUptake: { 'zh-CN': '优惠券规则 {rule} 的核销率仅 {value}（发放 {issued} 张，阈值 {threshold}）：可考虑加大优惠、延长有效期或换一批对象', en: 'coupon rule {rule}: {value} redeemed of {issued} issued (threshold {threshold}): consider a bigger discount, a longer window or another audience' },
  repeatRateBelow: { 'zh-CN': '重游率 {value}（阈值 {threshold}）：可考虑会员制或回头客优惠券', en: 'repeat visitors {value} (threshold {threshold}): consider membership or a return-visit coupon' },
  repeatRateAbove: { 'zh-CN': '重游率 {value}（阈值 {threshold}）：可考虑推出年卡或会员等级', en: 'repeat visitors {value} (threshold {threshold}): consider a season pass or member tiers' },
  secondarySpendShareBelow: { 'zh-CN': '二次消费占总收入的 {value}（阈值 {threshold}）：可考虑给只买门票的游客发餐饮券，或在出口附近设店', en: 'secondary spending {value} of revenue (threshold {threshold}): consider coupons for ticket-only visitors, food and shops near the exits' },
  secondarySpendShareAbove: { 'zh-CN': '二次消费占总收入的 {value}（阈值 {threshold}）：可考虑延长餐饮和商店的营业时间', en: 'secondary spending {value} of revenue (threshold {threshold}): consider longer opening hours for food and shops' },
};

function fill(template: LocalText, vars: Record<string, LocalText | string>): LocalText {
  const one = (lang: Lang) => template[lang].replace(/\{(\w+)\}/g, (m, k: string) => {
    const v = vars[k];
    return v === undefined ? m : typeof v === 'string' ? v : v[lang];
  });
  return { 'zh-CN': one('zh-CN'), en: one('en') };
}

/** The bound a rule sets: above or below a threshold. */
function bound(rule: { above?: number | undefined; below?: number | undefined }): { direction: 'above' | 'below'; threshold: number } {
  return rule.above !== undefined ? { direction: 'above', threshold: rule.above } : { direction: 'below', threshold: rule.below! };
}

const crosses = (value: number, b: { direction: 'above' | 'below'; threshold: number }): boolean => (b.direction === 'above' ? value > b.threshold : value < b.threshold);

/** The suggestions the rules make of these metrics, in rule order. */
export function evaluateRules(rules: readonly InsightRule[], m: Metrics, catalogue: Pick<Catalogue, 'ticketTypes' | 'refundReasons'>, period: Period): Suggestion[] {
  const out: Suggestion[] = [];
  const base = (value: number, threshold: number) => ({ value: pct(value), threshold: pct(threshold), period: PERIOD_WORD[period.kind] });
  for (const rule of rules) {
    switch (rule.metric) {
      case 'typeShare': {
        const row = m.typeMix.find((t) => t.typeId === rule.type);
        if (!row) break;
        const value = rule.by === 'persons' ? row.personShare : rule.by === 'revenue' ? row.revenueShare : row.orderShare;
        if (!(value > rule.above)) break;
        const say = rule.say ?? (rule.type.includes('family') ? DEFAULT_SAY.typeShareFamily! : DEFAULT_SAY.typeShare!);
        // Say what the share is of ("sales": orders, the wording; the bar chart shows revenue).
        const measure = rule.by === 'persons' ? { 'zh-CN': '游客人数', en: 'visitors' } : rule.by === 'revenue' ? { 'zh-CN': '门票收入', en: 'ticket revenue' } : { 'zh-CN': '销售', en: 'sales' };
        out.push({ metric: rule.metric, subject: rule.type, value, threshold: rule.above, direction: 'above', text: fill(say, { ...base(value, rule.above), type: row.name, measure }) });
        break;
      }
      case 'refundReasonShare': {
        if (m.refundsTotal < rule.minRefunds) break;
        const row = m.refundReasons.find((r) => r.reason === rule.reason);
        if (!row || !(row.share > rule.above)) break;
        const label = catalogue.refundReasons.find((r) => r.code === rule.reason)?.label ?? row.label;
        const free = catalogue.ticketTypes.filter((t) => t.rebooking);
        const note: LocalText | undefined =
          free.length > 0 ? { 'zh-CN': `目录中已有免费改期票种（${free.map((t) => t.name['zh-CN']).join('、')}）：可让游客更容易看到它`, en: `the catalogue already has one (${free.map((t) => t.name.en).join(', ')}): make it easier to find` } : undefined;
        out.push({ metric: rule.metric, subject: rule.reason, value: row.share, threshold: rule.above, direction: 'above', text: fill(rule.say ?? DEFAULT_SAY.refundReasonShare!, { ...base(row.share, rule.above), reason: label }), ...(note ? { note } : {}) });
        break;
      }
      case 'couponUptake': {
        for (const c of m.coupons) {
          if ((rule.rule !== undefined && c.ruleId !== rule.rule) || c.issued < rule.minIssued || c.uptake === null || !(c.uptake < rule.below)) continue;
          out.push({ metric: rule.metric, subject: c.ruleId, value: c.uptake, threshold: rule.below, direction: 'below', text: fill(rule.say ?? DEFAULT_SAY.couponUptake!, { ...base(c.uptake, rule.below), rule: c.ruleId, issued: String(c.issued) }) });
        }
        break;
      }
      case 'repeatRate':
      case 'secondarySpendShare': {
        // A suppressed repeat rate (fewer than k visitors) says nothing.
        const value = rule.metric === 'repeatRate' ? m.repeat.rate : m.secondarySpend.share;
        if (value === null) break;
        const b = bound(rule);
        if (!crosses(value, b)) break;
        const say = rule.say ?? DEFAULT_SAY[`${rule.metric}${b.direction === 'above' ? 'Above' : 'Below'}`]!;
        out.push({ metric: rule.metric, value, threshold: b.threshold, direction: b.direction, text: fill(say, base(value, b.threshold)) });
        break;
      }
    }
  }
  return out;
}
