/**
 * What goes into a template: the check-in variables of an order (code, codes, count, date,
 * slot, site, order, url), and a configured template's parameters in its provider's form
 * (named for Alibaba, positional for Tencent). Providers only send approved templates, so
 * the free text sales writes for the log provider is not used here.
 */
import type { SmsLang } from '../../core/notify/sms.js';
import type { SalesSite } from '../../core/sites.js';
import type { SiteSms, SmsTemplate } from './settings.js';

/** An order as the check-in text needs it (repository.ts reads it after the sale's commit). */
export interface CheckinOrder {
  orderId: string;
  site: string;
  status: string;
  visitDate: string;
  slotId: string;
  /** The order's tickets, in visitor order. */
  ticketIds: string[];
}

/**
 * The check-in variables in the message's language: `site` is the park's name from the
 * catalogue (its id only when it has none), `slot` the slot's name with its times
 * ("下午场 14:00-16:00", "Afternoon 14:00-16:00") or the times alone.
 */
export function checkinVars(order: CheckinOrder, site: SalesSite | undefined, lang: SmsLang): Record<string, string> {
  const slot = site?.catalogue.slots.find((s) => s.id === order.slotId);
  const codes = order.ticketIds.map((id) => `ST1:${id}`);
  const times = slot ? `${slot.start}-${slot.end}` : undefined;
  return {
    code: codes[0] ?? '',
    codes: codes.join(' '),
    count: String(codes.length),
    date: order.visitDate,
    slot: times === undefined ? (lang === 'en' ? 'all day' : '全天') : slot?.name ? `${slot.name[lang]} ${times}` : times,
    site: site?.catalogue.name?.[lang] ?? order.site,
    order: order.orderId,
    url: site?.tourRouteUrl ?? '',
  };
}

/** The site's template of that name in that language (English falls back to zh-CN). */
export function pickTemplate(site: SiteSms, name: string, lang: SmsLang): { template: SmsTemplate; lang: SmsLang } | undefined {
  const byLang = site.templates[name];
  if (!byLang) return undefined;
  if (lang === 'en' && byLang.en) return { template: byLang.en, lang: 'en' };
  return { template: byLang['zh-CN'], lang: 'zh-CN' };
}

/** The template's parameters filled from `vars`, or the first variable it needs that `vars` lacks. */
export function fillParams(template: SmsTemplate, vars: Record<string, string>): { params: Record<string, string> | string[] } | { missing: string } {
  if (Array.isArray(template.params)) {
    const out: string[] = [];
    for (const v of template.params) {
      if (vars[v] === undefined) return { missing: v };
      out.push(vars[v]);
    }
    return { params: out };
  }
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(template.params)) {
    if (vars[v] === undefined) return { missing: v };
    out[name] = vars[v];
  }
  return { params: out };
}
