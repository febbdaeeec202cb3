/** The kiosk's two languages, and a name in both (cloud-bridge core/i18n.ts LocalText has the same shape). */
export type Lang = 'zh-CN' | 'en';
export type LocalText = Record<Lang, string>;
