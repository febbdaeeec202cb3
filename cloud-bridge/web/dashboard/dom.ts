/** The dashboard's DOM helpers: the shared ones (web-kit), and its own formatting and storage. */

export * from '@stile/web-kit/dom';

export const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;
export const hourLabel = (h: number): string => `${pad2(h)}:00`;
export const isDate = (s: unknown): s is string => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s);

/** Storage that may be missing or throw (private mode, blocked cookies): then memory only. */
export function getItem(kind: 'local' | 'session', key: string): string | null {
  try {
    return (kind === 'local' ? window.localStorage : window.sessionStorage).getItem(key);
  } catch {
    return null;
  }
}
export function setItem(kind: 'local' | 'session', key: string, value: string): void {
  try {
    (kind === 'local' ? window.localStorage : window.sessionStorage).setItem(key, value);
  } catch {
    /* private mode: memory only */
  }
}
