/** Small DOM helpers. Every value reaches the DOM as text or an attribute, never as markup. */

type AttrValue = string | number | boolean | null | undefined;
export type Child = Node | string | null | undefined | false;

export function $(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`kiosk: #${id} missing from the page`);
  return node;
}

/** An element with attributes (`class` sets className, `text` textContent; null/undefined/false leave one out, true sets it empty) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, AttrValue> = {}, children: Child[] = []): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const k of Object.keys(attrs)) {
    const v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = String(v);
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

/** Replace an element's children. */
export function put(parent: HTMLElement, children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  for (const c of children) if (c !== null && c !== undefined && c !== false) parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
}

/** A button that runs `onTap` when touched (a tap is a click on a touch screen). */
export function button(label: string, onTap: () => void, attrs: Record<string, AttrValue> = {}, children: Child[] = []): HTMLButtonElement {
  const b = el('button', { type: 'button', ...attrs }, children.length ? children : [label]);
  b.addEventListener('click', onTap);
  return b;
}
