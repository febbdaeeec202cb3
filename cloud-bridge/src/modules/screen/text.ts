/**
 * Every label of the entrance screen in zh-CN and English: one typed table, used by the server
 * (the page's first paint, page.ts) and bundled into the browser code (web/screen). The screen
 * shows both languages at once unless `?lang=` picks one. Pure data: no Node or DOM imports.
 */
export type ScreenLang = 'zh-CN' | 'en';

const ZH = {
  title: '今日入园信息',
  noscript: '此页面需要启用 JavaScript。',
  connecting: '连接中…',
  ticketsLeft: '当前剩余票量',
  ticketsUnit: '张',
  salesStopped: '今日已停止售票',
  soldOut: '今日门票已售完',
  admitted: '今日已入园',
  personsUnit: '人',
  capacity: '最大承载量 {count} 人',
  slots: '分时段余票',
  slot_open: '余 {count} 张',
  slot_soldOut: '已售完',
  slot_closed: '不开放',
  slot_over: '已结束',
  level: '游览舒适度',
  level_green: '舒适',
  level_yellow: '较拥挤',
  level_orange: '拥挤',
  level_red: '已满员',
  notice: '公告',
  updated: '更新于 {time}',
  lost: '连接中断（自 {time} 起），屏幕上的数字可能不是最新',
};

const EN: Record<keyof typeof ZH, string> = {
  title: 'Today at the park',
  noscript: 'This page needs JavaScript.',
  connecting: 'Connecting…',
  ticketsLeft: 'Tickets left today',
  ticketsUnit: 'tickets',
  salesStopped: 'Ticket sales have stopped for today',
  soldOut: 'Sold out for today',
  admitted: 'Admitted today',
  personsUnit: 'visitors',
  capacity: 'Capacity {count}',
  slots: 'By time slot',
  slot_open: '{count} left',
  slot_soldOut: 'Sold out',
  slot_closed: 'Closed',
  slot_over: 'Ended',
  level: 'Crowd level',
  level_green: 'Comfortable',
  level_yellow: 'Busy',
  level_orange: 'Crowded',
  level_red: 'Full',
  notice: 'Notice',
  updated: 'Updated {time}',
  lost: 'Connection lost since {time}: the numbers on this screen may be out of date',
};

export type ScreenTextKey = keyof typeof ZH;

/** Every label in both languages (same keys, same `{name}` placeholders). */
export const SCREEN_TEXT: Record<ScreenLang, Record<ScreenTextKey, string>> = { 'zh-CN': ZH, en: EN };

export const SCREEN_LANGS: readonly ScreenLang[] = ['zh-CN', 'en'];

export function isScreenTextKey(key: string): key is ScreenTextKey {
  return Object.prototype.hasOwnProperty.call(ZH, key);
}

/** A label with its `{name}` placeholders filled in. */
export function screenText(lang: ScreenLang, key: ScreenTextKey, vars?: Record<string, string | number>): string {
  let s: string = (SCREEN_TEXT[lang] ?? SCREEN_TEXT.en)[key];
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}
