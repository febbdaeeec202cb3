/** Small DOM helpers for every page. Every value reaches the DOM as text or an attribute, never as markup. */

export type AttrValue = string | number | boolean | null | undefined;
export type Child = Node | string | null | undefined | false;

/** The page's element with this id (throws when the page lacks it: the template and the code are out of step). */
export function $(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} missing from the page`);
  return node;
}

/** An element by id, of a given type (throws if the page does not have it as that type). */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = $(id);
  if (!(node instanceof type)) throw new Error(`#${id} is not a ${type.name}`);
  return node;
}

function append(parent: Node, children: readonly Child[]): void {
  for (const c of children) if (c !== null && c !== undefined && c !== false) parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
}

/**
 * An element with attributes (`class` sets className, `text` sets textContent; null,
 * undefined and false leave an attribute out, true sets it empty) and children.
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, AttrValue> = {}, children: readonly Child[] = []): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const k of Object.keys(attrs)) {
    const v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = String(v);
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

const SVGNS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and an optional text. */
export function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string | number): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVGNS, tag);
  for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

/** Replace an element's children. */
export function put(parent: HTMLElement, children: readonly Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

/** A button that runs `onTap` when pressed (a tap is a click on a touch screen). */
export function button(label: string, onTap: () => void, attrs: Record<string, AttrValue> = {}, children: readonly Child[] = []): HTMLButtonElement {
  const b = el('button', { type: 'button', ...attrs }, children.length ? children : [label]);
  b.addEventListener('click', onTap);
  return b;
}

let uid = 0;
/** A unique id for label/input pairs. */
export function nextId(prefix: string): string {
  return `${prefix}-${++uid}`;
}
