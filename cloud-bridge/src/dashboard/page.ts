// TEMPORARY placeholder (being written by a helper); replaced by the real page.
export const DASHBOARD_TEXT = { 'zh-CN': {}, en: {} };
export function dashboardHtml(opts: { site: string; lang?: 'zh-CN' | 'en' }): string {
  return `<!doctype html><html lang="${opts.lang ?? 'zh-CN'}"><title>${opts.site}</title></html>`;
}
