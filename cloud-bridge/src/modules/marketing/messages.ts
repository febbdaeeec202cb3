import type { SmsLang } from '../../core/notify/sms.js';
import type { CouponTemplate } from '../../core/site-config/marketing.js';

/*
 * Marketing texts (pure). Every one ends with the opt-out line and link: the visitor said yes
 * once, and must be able to say no from any message (PIPL: consent withdrawable as easily).
 */

export const langOf = (lang: string | null | undefined): SmsLang => (lang === 'en' ? 'en' : 'zh-CN');

function money(fen: number): string {
  return (fen / 100).toFixed(fen % 100 === 0 ? 0 : 2);
}

/** What the coupon gives, in words. */
export function couponWhat(t: CouponTemplate, lang: SmsLang): string {
  const named = t.name?.[lang];
  if (named) return named;
  if (lang === 'en') return t.kind === 'percent' ? `${t.percentOff}% off` : t.kind === 'fixed' ? `¥${money(t.amountFen ?? 0)} off` : `a free ${t.item}`;
  return t.kind === 'percent' ? `${((100 - (t.percentOff ?? 0)) / 10).toString()}折优惠` : t.kind === 'fixed' ? `立减${money(t.amountFen ?? 0)}元` : `免费${t.item}一份`;
}

export function optOutLine(link: string, lang: SmsLang): string {
  return lang === 'en' ? `Reply TD or open ${link} to stop these messages.` : `退订回复TD或点击 ${link}`;
}

/** A coupon (or several, for one phone) from a rule. */
export function couponText(park: string, t: CouponTemplate, codes: readonly string[], validTo: string, link: string, lang: SmsLang): string {
  const list = codes.join(lang === 'en' ? ', ' : '、');
  const where = t.appliesTo === 'pos' ? (lang === 'en' ? "at the park's restaurants and shops" : '园内餐饮和商店可用') : lang === 'en' ? 'when you book your next visit' : '下次购票时使用';
  const body =
    lang === 'en'
      ? `[${park}] A coupon for you: ${couponWhat(t, lang)} ${where}. Code${codes.length > 1 ? 's' : ''} ${list}, valid until ${validTo}.`
      : `【${park}】送您一张优惠券：${couponWhat(t, lang)}，${where}。券码 ${list}，${validTo}前有效。`;
  return `${body} ${optOutLine(link, lang)}`;
}

/** The welcome of a new member. */
export function welcomeText(park: string, memberCode: string, visits: number, link: string, lang: SmsLang): string {
  const body =
    lang === 'en'
      ? `[${park}] Thank you for ${visits} visits: you are now a member (no. ${memberCode}). Show it at our restaurants and shops.`
      : `【${park}】感谢您${visits}次光临，您已成为会员（会员号 ${memberCode}），园内消费时出示即可。`;
  return `${body} ${optOutLine(link, lang)}`;
}
