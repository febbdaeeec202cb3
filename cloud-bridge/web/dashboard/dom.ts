/** Small DOM helpers. Every value reaches the DOM as text or an attribute, never as markup. */

type AttrValue = string | number | boolean | null | undefined;
export type Child = Node | string | null | undefined;

export function $(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`dashboard: #${id} missing from the page`);
  return node;
}

/** An element by id, of a given type (throws if the page does not have it as that type). */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = $(id);
  if (!(node instanceof type)) throw new Error(`dashboard: #${id} is not a ${type.name}`);
  return node;
}

/**
 * An element with attributes (`class` sets className, `text` sets textContent; null,
 * undefined and false leave an attribute out, true sets it empty) and children.
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, AttrValue> = {}, children: Child[] = []): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = String(v);
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

const SVGNS = 'http://www.w3.org/2000/svg';
export function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string | number): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

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
