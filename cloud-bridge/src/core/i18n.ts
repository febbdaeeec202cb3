import { z } from 'zod';

/*
 * The two languages Stile speaks to visitors and staff, and names that carry both. Operators
 * write a name once when it reads the same in both ("VIP") or as { zh-CN, en }; the parsed
 * catalogue always holds both, so no page, report or SMS falls back to an id.
 */

export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export const LangSchema = z.enum(LANGS);

/** A name in both languages. */
export type LocalText = Record<Lang, string>;

const LOCAL_MSG = 'a name: one text for both languages, or { zh-CN: "…", en: "…" }';

/**
 * A catalogue name: one string used for both languages, or both spelled out. A problem is
 * named where it is: `name.en: missing: the English name`, not only "not a name".
 */
export function localText(max: number) {
  const text = (what: string) =>
    z
      .string({ error: (iss) => (iss.input === undefined ? `missing: ${what}` : `${what} must be text`) })
      .trim()
      .min(1, 'must not be empty')
      .max(max, `at most ${max} characters`);
  const one = text('the name');
  const both = z.object({ 'zh-CN': text('the Chinese (zh-CN) name'), en: text('the English (en) name') }).strict();
  return z.custom<string | LocalText>().transform((v, ctx): LocalText => {
    if (typeof v !== 'string' && (v === null || typeof v !== 'object' || Array.isArray(v))) {
      ctx.addIssue({ code: 'custom', message: v === undefined ? `missing: ${LOCAL_MSG}` : LOCAL_MSG });
      return z.NEVER;
    }
    const r = typeof v === 'string' ? one.safeParse(v) : both.safeParse(v);
    if (!r.success) {
      for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path: issue.path as (string | number)[], message: issue.message });
      return z.NEVER;
    }
    return typeof r.data === 'string' ? { 'zh-CN': r.data, en: r.data } : r.data;
  });
}

/** The text in that language. */
export function inLang(text: LocalText, lang: Lang): string {
  return text[lang];
}

/** "成人票 Adult", or one of them when both read the same: for places that show both at once (gate displays, bilingual printouts). */
export function bothLangs(text: LocalText, sep = ' '): string {
  return text['zh-CN'] === text.en ? text.en : `${text['zh-CN']}${sep}${text.en}`;
}

/** A language from a query parameter or an Accept-Language header; zh-CN unless English is asked for first. */
export function pickLang(query: string | undefined, acceptLanguage?: string): Lang {
  if (query === 'en' || query === 'zh-CN') return query;
  if (!acceptLanguage) return 'zh-CN';
  const first = acceptLanguage
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^q=([\d.]+)$/.exec(p.trim())).find(Boolean);
      return { tag: (tag ?? '').toLowerCase(), q: q ? Number(q[1]) : 1 };
    })
    .filter((p) => p.tag.startsWith('zh') || p.tag.startsWith('en'))
    .sort((a, b) => b.q - a.q)[0];
  return first?.tag.startsWith('en') ? 'en' : 'zh-CN';
}
