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

/** A catalogue name: one string used for both languages, or both spelled out. */
export function localText(max: number) {
  const text = z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`);
  return z
    .union([text, z.object({ 'zh-CN': text, en: text }).strict()], { error: LOCAL_MSG })
    .transform((v): LocalText => (typeof v === 'string' ? { 'zh-CN': v, en: v } : v));
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
